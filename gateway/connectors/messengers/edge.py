"""Checks every messenger edge makes before anything is stored."""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable
from typing import Any, TypeVar

from gateway.connectors.base import InboundRequest
from gateway.core.errors import NotFound, PayloadError

__all__ = ["MAX_JSON_DEPTH", "find_account", "header", "json_object", "secrets_match"]

T = TypeVar("T")

# Objects and arrays nested deeper than this are refused: no provider sends them (a VK message with
# forwarded messages inside forwarded messages is the deepest, well under it), and the parsers behind the
# edge (the standard library's, pydantic's at 200) must never meet a body they cannot read.
MAX_JSON_DEPTH = 128


def header(request: InboundRequest, name: str) -> str | None:
    """A request header, looked up without regard to case."""
    value = request.headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    for key, val in request.headers.items():
        if key.lower() == wanted:
            return val
    return None


def secrets_match(given: str | bytes | None, expected: str | bytes) -> bool:
    """Constant-time equality of a received secret with the configured one.

    A header with bytes that are not UTF-8 reaches us as lone surrogates (aiohttp decodes headers
    with `surrogateescape`): they are compared as the bytes that came, so they are a wrong secret.
    """
    if given is None:
        return False
    a = given.encode("utf-8", "surrogateescape") if isinstance(given, str) else given
    b = expected.encode("utf-8", "surrogateescape") if isinstance(expected, str) else expected
    try:
        return hmac.compare_digest(a, b)
    except (TypeError, UnicodeEncodeError):  # a lone surrogate that did not come from a byte
        return False


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or PayloadError (HTTP 400), also when it is nested too deep."""
    try:
        data = json.loads(body)
    except RecursionError:
        raise PayloadError(_TOO_DEEP) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadError(f"body is not valid JSON: {exc.__class__.__name__}") from None
    if not isinstance(data, dict):
        raise PayloadError("body is not a JSON object")
    if not _depth_within(data, MAX_JSON_DEPTH):
        raise PayloadError(_TOO_DEEP)
    return data


_TOO_DEEP = (f"body is nested deeper than {MAX_JSON_DEPTH} levels, which no provider sends; nothing was stored / "
             f"тело запроса вложено глубже {MAX_JSON_DEPTH} уровней, так провайдеры не присылают; ничего не сохранено")


def _depth_within(data: dict[str, Any], limit: int) -> bool:
    """Whether no object or array lies deeper than `limit` levels (the top object is level 1); no recursion."""
    stack: list[tuple[dict[str, Any] | list[Any], int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return False
        for child in value.values() if isinstance(value, dict) else value:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
    return True


def find_account(accounts: Iterable[T], name: str, what: str) -> T:
    """The settings whose `name` matches, or NotFound (HTTP 404)."""
    for account in accounts:
        if getattr(account, "name", None) == name:
            return account
    raise NotFound(f"no {what} named {name!r}")
