"""Checks every messenger edge makes before anything is stored."""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterable
from typing import Any, TypeVar

from gateway.connectors.base import InboundRequest
from gateway.core.errors import NotFound, PayloadError

__all__ = ["find_account", "header", "json_object", "secrets_match"]

T = TypeVar("T")


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
    """Constant-time equality of a received secret with the configured one."""
    if given is None:
        return False
    a = given.encode() if isinstance(given, str) else given
    b = expected.encode() if isinstance(expected, str) else expected
    return hmac.compare_digest(a, b)


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or PayloadError (HTTP 400)."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise PayloadError(f"body is not valid JSON: {exc.__class__.__name__}") from None
    if not isinstance(data, dict):
        raise PayloadError("body is not a JSON object")
    return data


def find_account(accounts: Iterable[T], name: str, what: str) -> T:
    """The settings whose `name` matches, or NotFound (HTTP 404)."""
    for account in accounts:
        if getattr(account, "name", None) == name:
            return account
    raise NotFound(f"no {what} named {name!r}")
