"""Numeric ids, read in one place: a path id the store cannot hold is an unknown object (404), a query or body
id that is not one is a malformed request (400). Every id column is a signed 64-bit integer."""

from __future__ import annotations

from aiohttp import web

from gateway.api.spec import Param
from gateway.core.errors import NotFound, PayloadError
from gateway.core.ids import MAX_ID, Id

__all__ = ["ID_PATTERN", "MAX_ID", "Id", "id_param", "parse_id", "path_id", "query_id"]

ID_PATTERN = "[0-9]+"  # a numeric path id in a route: `/api/v1/leads/{id:[0-9]+}`; its range is checked by path_id


def parse_id(text: str) -> int | None:
    """The id written in `text` (ASCII digits, 1 ≤ id ≤ 2^63-1), or None."""
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def path_id(request: web.Request, name: str = "id", what: str = "object") -> int:
    """The numeric id in the path; 404 (`no such <what>`) for anything no row can have."""
    value = parse_id(request.match_info.get(name, ""))
    if value is None:
        raise NotFound(f"no such {what}")
    return value


def query_id(request: web.Request, name: str) -> int | None:
    """An optional numeric id in the query; 400 when it is there and is not one."""
    text = request.query.get(name, "")
    if text == "":
        return None
    value = parse_id(text)
    if value is None:
        raise PayloadError(f"{name} must be a whole number from 1 to {MAX_ID}")
    return value


def id_param(name: str = "id", where: str = "path", description: str = "") -> Param:
    """The OpenAPI parameter of a numeric id, with the bounds `parse_id` keeps."""
    return Param(name, where=where, type="integer", required=where == "path", description=description,
                 minimum=1, maximum=MAX_ID)
