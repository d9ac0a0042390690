"""Logging in and out of the web page (name and password), and the page's form actions."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import structlog
from aiohttp import web

from gateway.api.ids import path_id
from gateway.core.errors import GatewayError, PayloadError, PermissionDenied
from gateway.http.keys import DB, EXTRAS, HASHING, SETTINGS, leads_changed
from gateway.store.passwords import store_password_hash, verify_password
from gateway.store.triage import AcceptRequest, Actor, DeclineRequest, LinkRequest, accept, decline, link
from gateway.store.users import user_by_name
from gateway.web.access import PAGE_CSRF, PAGE_USER, page
from gateway.web.render import render
from gateway.web.sessions import (
    COOKIE,
    client_address,
    csrf_ok,
    end_session,
    is_local,
    is_secure,
    new_session,
    request_session,
    set_session_cookie,
)
from gateway.web.throttle import LoginThrottle

__all__ = ["form_action", "login_form", "login_submit", "logout"]

log = structlog.get_logger(__name__)
LOGIN_COOKIE = "lg_login"  # the login form's own CSRF token (there is no session yet)
THROTTLE = "login_throttle"


def _next(value: Any) -> str:
    """Only a path on this site: "/" unless `value` parses as a path with no scheme and no host.

    A browser removes tab, CR and LF anywhere in a Location and reads a backslash as a slash, so
    "/\t/evil.example" would become "//evil.example": any control character, space or backslash is
    refused outright, in the text and in its percent-decoded path, before the parse.
    """
    text = str(value or "")
    if not _plain(text) or not text.startswith("/") or text.startswith("//"):
        return "/"
    parts = urlsplit(text)
    path = unquote(parts.path)
    if parts.scheme or parts.netloc or not path.startswith("/") or path.startswith("//") or not _plain(path):
        return "/"
    return text


def _plain(text: str) -> bool:
    return not any(c <= " " or c == "\\" or c == "\x7f" or c.isspace() for c in text)


def _login_page(request: web.Request, *, status: int = 200, error: str | None = None,
                next_path: str = "/") -> web.Response:
    token = secrets.token_urlsafe(24)
    resp = render(request, "login.html", status=status, error=error, next_path=next_path, login_csrf=token,
                  user=None, csrf=None)
    resp.set_cookie(LOGIN_COOKIE, token, path="/login", httponly=True, samesite="Strict",
                    secure=is_secure(request))
    return resp


async def login_form(request: web.Request) -> web.StreamResponse:
    next_path = _next(request.query.get("next"))
    if await request_session(request) is not None:
        raise web.HTTPFound(next_path)
    return _login_page(request, next_path=next_path)


async def login_submit(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    name, password = str(form.get("name", "")).strip()[:128], str(form.get("password", ""))[:1024]
    next_path = _next(form.get("next"))
    if not csrf_ok(request.cookies.get(LOGIN_COOKIE, ""), str(form.get("csrf", ""))):
        return _login_page(request, status=400, error="The form expired; please try again", next_path=next_path)
    secure = is_secure(request)
    if not secure and not is_local(request):
        return _login_page(request, status=403, error="Log in over HTTPS", next_path=next_path)
    throttle: LoginThrottle = request.app[EXTRAS][THROTTLE]
    address = client_address(request)
    wait = throttle.retry_after(name, address)
    if wait > 0:
        resp = _login_page(request, status=429, error="Too many failed attempts; wait a little", next_path=next_path)
        resp.headers["Retry-After"] = str(int(wait) + 1)
        return resp
    user = await _check(request, name, password)
    if user is None:
        throttle.failed(name, address)
        log.info("web.login_failed", user=name, address=address)
        return _login_page(request, status=401, error="Wrong name or password", next_path=next_path)
    throttle.succeeded(name, address)
    token, _ = await request.app[DB].write(new_session, user["id"], datetime.now(UTC))
    log.info("web.login", user=name, address=address)
    resp = web.HTTPFound(next_path)
    set_session_cookie(resp, token, secure=secure)
    resp.del_cookie(LOGIN_COOKIE, path="/login")
    raise resp


async def _check(request: web.Request, name: str, password: str) -> dict[str, Any] | None:
    """The user if the password is right; hashing runs on its own threads, outside any transaction."""
    if not name or not password:
        return None
    db = request.app[DB]
    row = await db.read(user_by_name, name)
    ok, fresher = await request.app[HASHING].run(verify_password, row, password)
    if not ok or row is None:
        return None
    if fresher is not None:
        await db.write(store_password_hash, name, fresher)
    return row


async def logout(request: web.Request) -> web.StreamResponse:
    found = await request_session(request)
    form = await request.post()
    if found is not None:
        if not csrf_ok(found[1], str(form.get("csrf", ""))):
            raise PermissionDenied("missing or wrong CSRF token")
        await request.app[DB].write(end_session, request.cookies[COOKIE])
    resp = web.HTTPFound("/login")
    resp.del_cookie(COOKIE, path="/")
    raise resp


def _form_request(action: str, form: Any) -> Any:
    if action == "accept":
        return AcceptRequest(pipeline=form.get("pipeline") or None, stage=form.get("stage") or None,
                             responsible=form.get("responsible") or None)
    if action == "decline":
        reason = (form.get("reason_text") or "").strip() or form.get("reason") or None
        return DeclineRequest(reason=reason, block=form.get("block") in ("1", "on", "true"))
    try:
        return LinkRequest(deal_id=int(form.get("deal_id", "")))
    except ValueError:
        raise PayloadError("deal_id: a deal number is expected") from None


@page()
async def form_action(request: web.Request) -> web.StreamResponse:
    """The card's forms without JavaScript: the same decisions as the API, then back to the lead."""
    action = request.match_info["action"]
    lead_id = path_id(request, what="lead")
    fns: dict[str, Callable[..., dict[str, Any]]] = {"accept": accept, "decline": decline, "link": link}
    if action not in fns:
        raise web.HTTPNotFound()
    form = await request.post()
    if not csrf_ok(request[PAGE_CSRF], str(form.get("csrf", ""))):
        raise PermissionDenied("missing or wrong CSRF token")
    try:
        body = _form_request(action, form)
        await request.app[DB].write(fns[action], lead_id, Actor.of(request[PAGE_USER]), body,
                                    now=datetime.now(UTC), settings=request.app[SETTINGS])
    except GatewayError as exc:  # the card says it in words (see problems.explain)
        raise web.HTTPSeeOther(f"/leads/{lead_id}?error={quote(type(exc).__name__)}") from None
    except ValueError:  # pydantic's validation of the form
        raise web.HTTPSeeOther(f"/leads/{lead_id}?error=PayloadError") from None
    leads_changed(request.app)
    raise web.HTTPSeeOther(f"/leads/{lead_id}")
