"""Bearer tokens and roles: 401 without a valid token, 403 for a role that may not."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web

from gateway.api.spec import ApiRoute
from gateway.core.errors import AuthenticationError, PermissionDenied
from gateway.http.keys import DB, EXTRAS
from gateway.store.users import user_by_token

__all__ = ["USER", "auth_middleware", "authenticate", "current_user"]

USER: web.RequestKey[dict[str, Any]] = web.RequestKey("user", dict)
SessionAuth = Callable[[web.Request], Awaitable[dict[str, Any] | None]]


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


def auth_middleware(routes: Sequence[ApiRoute]) -> Callable[..., Any]:
    roles_by_handler = {id(r.handler): r.roles for r in routes}

    @web.middleware
    async def middleware(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                         ) -> web.StreamResponse:
        roles = roles_by_handler.get(id(_unwrap(request)), None)
        if roles is not None:
            user = await authenticate(request)
            if user["role"] not in roles:
                raise PermissionDenied(f"role {user['role']} may not do this")
            request[USER] = user
        return await handler(request)

    return middleware


def _unwrap(request: web.Request) -> Any:
    return request.match_info.handler


def current_user(request: web.Request) -> dict[str, Any]:
    return request[USER]
