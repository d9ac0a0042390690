"""Query parameters held to what the OpenAPI document declares, in one place before each handler.

An empty free-text value (`?q=&from=`) means the filter is not given. A value outside a declared enum, an integer
outside its bounds or not a number, a boolean that is not one, and a missing required parameter answer 400 with
the parameter's name, so that the document and the server agree on which requests are valid.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

from gateway.api.spec import Param
from gateway.core.errors import PayloadError

__all__ = ["BOOLEAN_TEXT", "check_query", "with_query_checked"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# what the filters' models read as a boolean (pydantic's words, any case: the journal's links write `True`)
BOOLEAN_TEXT = frozenset({"true", "false", "1", "0", "yes", "no", "on", "off", "t", "f", "y", "n"})


def _check(param: Param, value: str) -> bool:
    """Whether `value` is valid for `param`; False for an empty free-text value, which is dropped."""
    if param.enum:
        if value not in param.enum:
            raise PayloadError(f"{param.name} must be one of {', '.join(param.enum)}")
        return True
    if param.type == "boolean":
        if value.lower() not in BOOLEAN_TEXT:
            raise PayloadError(f"{param.name} must be true or false")
        return True
    if param.type == "integer":
        low = param.minimum if param.minimum is not None else -(2**63)
        high = param.maximum if param.maximum is not None else 2**63 - 1
        digits = value[1:] if value[:1] == "-" else value
        if not (digits.isascii() and digits.isdigit() and len(digits) <= 19) or not low <= int(value) <= high:
            raise PayloadError(f"{param.name} must be a whole number from {low} to {high}")
        return True
    return value != ""


def check_query(request: web.Request, params: Sequence[Param]) -> list[str]:
    """Validate the declared query parameters; the names whose (empty) values are to be dropped."""
    dropped: list[str] = []
    for param in params:
        if param.where != "query":
            continue
        values = request.query.getall(param.name, [])
        if not values:
            if param.required:
                raise PayloadError(f"{param.name} is required")
            continue
        kept = [v for v in values if _check(param, v)]
        if not kept:
            if param.required:
                raise PayloadError(f"{param.name} is required")
            dropped.append(param.name)
    return dropped


def with_query_checked(handler: Handler, params: Sequence[Param]) -> Handler:
    """The handler behind the query check; it sees the query without the empty free-text values."""
    if not any(p.where == "query" for p in params):
        return handler

    async def checked(request: web.Request) -> web.StreamResponse:
        dropped = check_query(request, params)
        if dropped:
            request = request.clone(rel_url=request.rel_url.without_query_params(*dropped))
        return await handler(request)

    return checked
