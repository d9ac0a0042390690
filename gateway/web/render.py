"""Server-rendered pages: one Jinja2 environment (autoescaped), the language, the security headers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from gateway.http.fast_lane import ANSWER_HEADERS
from gateway.http.keys import SETTINGS
from gateway.web.formats import Formats, zone
from gateway.web.i18n import LANGS, translator
from gateway.web.people import People
from gateway.web.problems import explain

__all__ = ["JINJA", "PEOPLE", "add_security_headers", "formats_for", "language", "make_environment", "render"]

JINJA: web.AppKey[jinja2.Environment] = web.AppKey("jinja", jinja2.Environment)
PEOPLE: web.RequestKey[People] = web.RequestKey("page_people", People)
LANG_COOKIE = "lg_lang"
TEMPLATES = Path(__file__).parent / "templates"


def page_policy(*, remote_images: bool = False) -> str:
    """The Content-Security-Policy of every page: our own scripts and styles only, nothing inline."""
    img = "'self' data: https: http:" if remote_images else "'self' data:"
    return ("default-src 'self'; script-src 'self'; style-src 'self'; img-src " + img + "; media-src 'self'; "
            "connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            "frame-ancestors 'none'")


def make_environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                              trim_blocks=True, lstrip_blocks=True)


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


def formats_for(request: web.Request, user: dict[str, Any] | None = None) -> Formats:
    """The reader's formatters: their language, their own time zone (else the company's), now."""
    company = request.app[SETTINGS].timezone
    return Formats(language(request), zone((user or {}).get("timezone"), company), datetime.now(UTC))


def render(request: web.Request, template: str, *, status: int = 200, remote_images: bool = False,
           **context: Any) -> web.Response:
    """A page or fragment; the language choice is remembered when it came in the query."""
    lang = language(request)
    fmt = formats_for(request, context.get("user"))
    known = request.get(PEOPLE) or People()
    body = request.app[JINJA].get_template(template).render(
        t=translator(lang), lang=lang, fmt=fmt, when=fmt.when, person=known.name, people=known,
        explain=lambda text, **kw: explain(text, lang=lang, **kw), request_path=request.path,
        lang_links=_lang_links(request), remote_images=remote_images, **context)
    resp = web.Response(text=body, status=status, content_type="text/html", charset="utf-8")
    resp.headers["Content-Security-Policy"] = page_policy(remote_images=remote_images)
    resp.headers["Cache-Control"] = "no-store"
    if request.query.get("lang") in LANGS and request.cookies.get(LANG_COOKIE) != lang:
        resp.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, path="/", httponly=True, samesite="Lax")
    return resp


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """On every answer: no sniffing, no framing; a strict policy on HTML that did not set its own."""
    for name, value in ANSWER_HEADERS.items():  # the fast lane sends the same on the answers it writes
        response.headers.setdefault(name, value)
    if request.path.startswith("/hooks/"):
        return
    response.headers.setdefault("X-Frame-Options", "DENY")
    if (response.content_type or "").startswith("text/html"):
        response.headers.setdefault("Content-Security-Policy", page_policy())
