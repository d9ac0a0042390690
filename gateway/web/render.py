"""Server-rendered pages: one Jinja2 environment (autoescaped), the language, the security headers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2
from aiohttp import web

from gateway.http.keys import SETTINGS
from gateway.web.i18n import LANGS, translator

__all__ = ["JINJA", "add_security_headers", "language", "make_environment", "render"]

JINJA: web.AppKey[jinja2.Environment] = web.AppKey("jinja", jinja2.Environment)
LANG_COOKIE = "lg_lang"
TEMPLATES = Path(__file__).parent / "templates"


def page_policy(*, remote_images: bool = False) -> str:
    """The Content-Security-Policy of every page: our own scripts and styles only, nothing inline."""
    img = "'self' data: https: http:" if remote_images else "'self' data:"
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src " + img + "; media-src 'self'; "
            "connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'")


def _when(value: Any, tz: str) -> str:
    if not value:
        return ""
    ts = datetime.fromisoformat(value) if isinstance(value, str) else value
    ts = ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    try:
        zone = ZoneInfo(tz)
    except ZoneInfoNotFoundError:
        zone = ZoneInfo("UTC")
    return ts.astimezone(zone).strftime("%d.%m.%Y %H:%M:%S")


def _duration(seconds: Any) -> str:
    if seconds is None:
        return ""
    s = int(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def make_environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["duration"] = _duration
    env.filters["as_text"] = _as_text
    return env


def language(request: web.Request) -> str:
    """?lang= (remembered in a cookie), else the cookie, else Russian."""
    asked = request.query.get("lang")
    if asked in LANGS:
        return asked
    kept = request.cookies.get(LANG_COOKIE)
    return kept if kept in LANGS else "ru"


def _lang_links(request: web.Request) -> dict[str, str]:
    """The same page in each language."""
    out = {}
    for code in LANGS:
        query = {k: v for k, v in request.query.items() if k != "lang"}
        query["lang"] = code
        out[code] = str(request.rel_url.with_query(query))
    return out


def render(request: web.Request, template: str, *, status: int = 200, remote_images: bool = False,
           **context: Any) -> web.Response:
    """A page or fragment; the language choice is remembered when it came in the query."""
    lang = language(request)
    settings = request.app[SETTINGS]
    t = translator(lang)
    tz = settings.timezone
    env = request.app[JINJA]
    body = env.get_template(template).render(
        t=t, lang=lang, when=lambda v: _when(v, tz), request_path=request.path, lang_links=_lang_links(request),
        remote_images=remote_images, **context)
    resp = web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
    resp.headers["Content-Security-Policy"] = page_policy(remote_images=remote_images)
    resp.headers["Cache-Control"] = "no-store"
    if request.query.get("lang") in LANGS and request.cookies.get(LANG_COOKIE) != lang:
        resp.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, path="/", httponly=True, samesite="Lax")
    return resp


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every answer: no sniffing, no framing; a strict policy on HTML that did not set its own."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.path.startswith("/hooks/"):
        return
    response.headers.setdefault("X-Frame-Options", "DENY")
    if (response.content_type or "").startswith("text/html"):
        response.headers.setdefault("Content-Security-Policy", page_policy())
