"""Web sessions: a random cookie (`lg_session`, stored as its SHA-256), a CSRF token per session."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy import Connection, delete, insert, select

from gateway.core.errors import PermissionDenied
from gateway.http.edge import client_ip, is_trusted
from gateway.http.keys import DB, SETTINGS
from gateway.store.schema import users, web_sessions

__all__ = ["COOKIE", "CSRF_HEADER", "client_address", "csrf_ok", "end_session", "is_local", "is_secure",
           "new_session", "request_session", "session_auth", "session_for", "set_session_cookie"]

COOKIE = "lg_session"
CSRF_HEADER = "X-CSRF-Token"
LIFETIME = timedelta(hours=12)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION: web.RequestKey[tuple[dict[str, Any], str] | None] = web.RequestKey("web_session")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_session(conn: Connection, user_id: int, now: datetime) -> tuple[str, str]:
    """A new session for the user: (cookie value, CSRF token). Expired sessions are swept here."""
    conn.execute(delete(web_sessions).where(web_sessions.c.expires_at < now))
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    conn.execute(insert(web_sessions).values(id=_digest(token), user_id=user_id, csrf=csrf, created_at=now,
                                             expires_at=now + LIFETIME))
    return token, csrf


def session_for(conn: Connection, token: str, now: datetime) -> tuple[dict[str, Any], str] | None:
    """(user, CSRF token) of a live session of an active user."""
    row = conn.execute(
        select(users, web_sessions.c.csrf).join(web_sessions, web_sessions.c.user_id == users.c.id)
        .where(web_sessions.c.id == _digest(token), web_sessions.c.expires_at > now, users.c.disabled.is_(False))
    ).mappings().first()
    if row is None:
        return None
    user = {k: v for k, v in row.items() if k not in ("csrf", "password_hash", "token_hash")}
    return user, row["csrf"]


def end_session(conn: Connection, token: str) -> None:
    conn.execute(delete(web_sessions).where(web_sessions.c.id == _digest(token)))


async def request_session(request: web.Request) -> tuple[dict[str, Any], str] | None:
    """The request's session (looked up once per request)."""
    if SESSION not in request:
        token = request.cookies.get(COOKIE)
        found = None
        if token and len(token) < 200:
            found = await request.app[DB].read(session_for, token, datetime.now(UTC))
        request[SESSION] = found
    return request[SESSION]


def csrf_ok(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


async def session_auth(request: web.Request) -> dict[str, Any] | None:
    """The API's fallback to the cookie; a state-changing call must carry the session's CSRF token."""
    found = await request_session(request)
    if found is None:
        return None
    user, csrf = found
    if request.method not in SAFE_METHODS and not csrf_ok(csrf, request.headers.get(CSRF_HEADER)):
        raise PermissionDenied("missing or wrong CSRF token (send the X-CSRF-Token header)")
    return user


def is_secure(request: web.Request) -> bool:
    """HTTPS here, or at a trusted proxy that says so in X-Forwarded-Proto."""
    if request.secure:
        return True
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return proto == "https" and is_trusted(request.remote, request.app[SETTINGS].http.trusted_proxies)


def is_local(request: web.Request) -> bool:
    """A browser on this machine or a private network (a container's bridge, an office LAN): plain http is
    accepted there; from a public address a password is taken over HTTPS only."""
    try:
        addr = ipaddress.ip_address(client_address(request))
    except ValueError:
        return False
    return addr.is_loopback or addr.is_private or addr.is_link_local


def client_address(request: web.Request) -> str:
    """The browser's address: X-Forwarded-For is believed only from a trusted proxy."""
    return client_ip(request, request.app[SETTINGS].http.trusted_proxies) or ""


def set_session_cookie(response: web.StreamResponse, token: str, *, secure: bool) -> None:
    response.set_cookie(COOKIE, token, max_age=int(LIFETIME.total_seconds()), path="/", httponly=True,
                        secure=secure, samesite="Lax")
