"""Bearer tokens and roles: 401 without a valid token, 403 for a role that may not."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web

from gateway.core.errors import AuthenticationError, PermissionDenied
from gateway.http.keys import DB, EXTRAS
from gateway.store.users import user_by_token

__all__ = ["USER", "authenticate", "current_user", "with_roles"]

USER: web.RequestKey[dict[str, Any]] = web.RequestKey("user", dict)
SessionAuth = Callable[[web.Request], Awaitable[dict[str, Any] | None]]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def authenticate(request: web.Request) -> dict[str, Any]:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        user = await request.app[DB].read(user_by_token, token.strip())
        if user is None:
            raise AuthenticationError("unknown or disabled token")
        return user
    session_auth: SessionAuth | None = request.app[EXTRAS].get("session_auth")
    if session_auth is not None and (user := await session_auth(request)) is not None:
        return user
    raise AuthenticationError("missing bearer token")


def with_roles(handler: Handler, roles: Sequence[str] | None) -> Handler:
    """The handler behind authentication: 401 without a valid user, 403 for a role not in `roles`.

    Applied to each API route when it is registered, so that provider webhooks pay nothing for it.
    """
    if roles is None:
        return handler
    allowed = frozenset(roles)

    async def guarded(request: web.Request) -> web.StreamResponse:
        user = await authenticate(request)
        if user["role"] not in allowed:
            raise PermissionDenied(f"role {user['role']} may not do this")
        request[USER] = user
        return await handler(request)

    return guarded


def current_user(request: web.Request) -> dict[str, Any]:
    return request[USER]
