"""Who is looking at a page: the session behind it, the roles a page admits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from aiohttp import web

from gateway.core.errors import GatewayError
from gateway.http.keys import DB
from gateway.web.people import people
from gateway.web.render import PEOPLE, render
from gateway.web.sessions import request_session

__all__ = ["ALL", "PAGE_CSRF", "PAGE_USER", "PageHandler", "chrome", "error_page", "page"]

ALL = ("admin", "manager", "operator")
PAGE_USER: web.RequestKey[dict[str, Any]] = web.RequestKey("page_user", dict)
PAGE_CSRF: web.RequestKey[str] = web.RequestKey("page_csrf", str)
PageHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def page(*roles: str, refusal: str = "Not allowed for your role") -> Callable[[PageHandler], PageHandler]:
    """A page for these roles: no session → the login page; wrong role → 403 saying `refusal`; our errors → an
    error page in the page's layout."""
    admitted = roles or ALL

    def wrap(fn: PageHandler) -> PageHandler:
        async def handler(request: web.Request) -> web.StreamResponse:
            found = await request_session(request)
            if found is None:
                if request.path.startswith("/ui/"):
                    return web.Response(status=401, text="session expired")
                raise web.HTTPFound(f"/login?next={quote(request.path_qs, safe='')}")
            user, csrf = found
            request[PAGE_USER], request[PAGE_CSRF] = user, csrf
            request[PEOPLE] = await request.app[DB].read(people)
            if user["role"] not in admitted:
                return error_page(request, 403, refusal)
            try:
                return await fn(request)
            except GatewayError as exc:
                return error_page(request, exc.status, exc.message, kind=type(exc).__name__)

        handler.__name__ = fn.__name__
        handler.__doc__ = fn.__doc__
        return handler

    return wrap


def error_page(request: web.Request, status: int, message: str, kind: str = "") -> web.Response:
    template = "error_fragment.html" if request.path.startswith("/ui/") else "error.html"
    return render(request, template, status=status, message=message, kind=kind, **chrome(request))


def chrome(request: web.Request) -> dict[str, Any]:
    """What every page's frame needs: the user, the CSRF token."""
    return {"user": request.get(PAGE_USER), "csrf": request.get(PAGE_CSRF)}
