"""The routes a site's pages call: the snippet, a number for this visit, the heartbeat (CORS for the site only)."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import structlog
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import Engine

from gateway.calltracking import pool
from gateway.calltracking.batch import WriteBatcher
from gateway.calltracking.limits import MinuteBudget, is_bot
from gateway.config import Settings
from gateway.config.calltracking import SiteSettings

__all__ = ["RESPONSES", "CallTrackingEdge", "SessionRequest"]

log = structlog.get_logger(__name__)

MAX_BODY = 16 * 1024
MAX_RECENT = 200_000


@dataclass(slots=True)
class _Recent:
    """A visitor's number as last written: a reload of the same page is answered from here while the stored hold
    already reaches `hold_minutes` from now (a number is written at most once a minute per visitor)."""

    session_id: str
    number: str
    held_until: datetime
    page: str | None
Clock = Callable[[], datetime]
_TAG = re.compile(r"^[a-z0-9_]{1,40}$")
_SESSION = re.compile(r"^[0-9a-f]{32}$")


def _tags(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("must be an object of strings")
    return {k: str(v)[:500] for k, v in list(value.items())[:20] if isinstance(k, str) and _TAG.match(k) and v}


class SessionRequest(BaseModel):
    """`POST /ct/{site}/sessions`: what the snippet sends."""

    model_config = ConfigDict(extra="ignore")

    visitor: str = Field(pattern=r"^[A-Za-z0-9_-]{16,64}$")
    page: str | None = Field(default=None, max_length=4000)
    referrer: str | None = Field(default=None, max_length=4000)
    utm: dict[str, str] = Field(default_factory=dict)
    click_ids: dict[str, str] = Field(default_factory=dict)

    _clean = field_validator("utm", "click_ids", mode="before")(lambda cls, v: _tags(v))


class AliveRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    page: str | None = Field(default=None, max_length=4000)


def _origin_host(origin: str | None) -> str | None:
    if not origin:
        return None
    try:
        return (urlsplit(origin).hostname or "").lower() or None
    except ValueError:
        return None


RESPONSES: dict[str, dict[int, str]] = {  # by method, for the OpenAPI document
    "GET": {200: "The snippet", 304: "Not changed since the ETag", 404: "No such site"},
    "POST": {200: "A number (or the default number, with the reason)", 400: "Malformed, with the reason",
             403: "Not one of the site's domains", 404: "No such site", 410: "The visit's number went back "
             "to the pool: ask again", 413: "Too large", 429: "Too many requests: the default number"},
    "OPTIONS": {204: "CORS preflight answered", 403: "Not one of the site's domains"},
}


class CallTrackingEdge:
    """Serves `/ct/{site}.js`, `/ct/{site}/sessions` and its heartbeat for every `[[calltracking.sites]]`."""

    def __init__(self, settings: Settings, *, clock: Clock = lambda: datetime.now(UTC)) -> None:
        ct = settings.calltracking
        self.settings, self.clock = ct, clock
        self.sites = {s.id: s for s in ct.sites}
        self.trusted = [ipaddress.ip_network(p, strict=False) for p in settings.http.trusted_proxies]
        self.per_visitor = MinuteBudget(ct.visitor_per_minute)
        self.per_address = MinuteBudget(ct.address_per_minute)
        self._batcher: WriteBatcher | None = None
        self._recent: dict[tuple[str, str], _Recent] = {}
        self._script = resources.files("gateway.calltracking").joinpath("snippet.js").read_text(encoding="utf-8")

    def routes(self) -> list[tuple[web.RouteDef, str]]:
        """The routes, each with what it is for."""
        return [
            (web.get("/ct/{site}.js", self.snippet), "The call tracking snippet a site's pages include"),
            (web.post("/ct/{site}/sessions", self.sessions),
             "A number for this visit: `{visitor, page, referrer, utm, click_ids}` → `{number, expires_at, session}`"),
            (web.options("/ct/{site}/sessions", self.preflight), "CORS preflight for the site's domains"),
            (web.post("/ct/{site}/sessions/{session}/alive", self.alive),
             "The page is still open: the visit keeps its number another `hold_minutes`"),
            (web.options("/ct/{site}/sessions/{session}/alive", self.preflight), "CORS preflight"),
        ]

    # --- the pool's upkeep: numbers of the settings, old visits deleted -----------------------------------
    def start(self, engine: Engine, write_turn: Callable[[], AbstractContextManager[None]] = nullcontext) -> None:
        """The pool as the settings say, and the writer threads of the session routes (each commit waits for
        `write_turn` first: the edge's side of the embedded write gate)."""
        self.sync(engine)
        self._batcher = WriteBatcher(engine, write_turn=write_turn)
        self._batcher.start()

    def stop(self) -> None:
        if self._batcher is not None:
            self._batcher.stop()
            self._batcher = None

    async def _write(self, work: Callable[[Any], Any]) -> Any:
        if self._batcher is None:
            raise web.HTTPServiceUnavailable(text="call tracking is starting or stopping: try again in a moment")
        return await self._batcher.run(work)

    def sync(self, engine: Engine) -> None:
        with engine.begin() as conn:
            for site in self.sites.values():
                pool.sync_pool(conn, site)

    def prune(self, engine: Engine) -> int:
        before = self.clock() - timedelta(days=self.settings.retention_days)
        with engine.begin() as conn:
            gone = pool.prune(conn, before)
        if gone:
            log.info("calltracking.pruned", visits=gone, before=before.isoformat())
        return gone

    # --- routes --------------------------------------------------------------------------------------------
    def _site(self, request: web.Request) -> SiteSettings:
        site = self.sites.get(request.match_info["site"])
        if site is None:
            raise web.HTTPNotFound(text="no such site: add it to [[calltracking.sites]]")
        return site

    def _cors(self, request: web.Request, site: SiteSettings) -> dict[str, str]:
        origin = request.headers.get("Origin")
        host = _origin_host(origin)
        if host is None or host not in site.domains:
            raise web.HTTPForbidden(text=f"this page's origin may not ask for {site.id}'s numbers: add its host to "
                                         "calltracking.sites.domains")
        return {"Access-Control-Allow-Origin": origin or "", "Vary": "Origin"}

    def _address(self, request: web.Request) -> str:
        remote = request.remote or "?"
        forwarded = request.headers.get("X-Forwarded-For")
        if forwarded and self.trusted:
            try:
                if any(ipaddress.ip_address(remote) in net for net in self.trusted):
                    return forwarded.split(",")[-1].strip() or remote
            except ValueError:
                pass
        return remote

    async def snippet(self, request: web.Request) -> web.Response:
        site = self._site(request)
        api = f"{request.scheme}://{request.host}/ct/{site.id}"
        config = json.dumps({"site": site.id, "api": api, "selector": site.selector, "beat": site.heartbeat_seconds})
        body = self._script.replace("/*CONFIG*/{}", config, 1)
        etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:20] + '"'
        headers = {"Cache-Control": "public, max-age=300", "ETag": etag, "X-Content-Type-Options": "nosniff"}
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers=headers)
        return web.Response(text=body, content_type="application/javascript", charset="utf-8", headers=headers)

    async def preflight(self, request: web.Request) -> web.Response:
        headers = self._cors(request, self._site(request))
        headers.update({"Access-Control-Allow-Methods": "POST", "Access-Control-Allow-Headers": "Content-Type",
                        "Access-Control-Max-Age": "86400"})
        return web.Response(status=204, headers=headers)

    async def _body(self, request: web.Request) -> Any:
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=request.content_length)
        raw = await request.content.read(MAX_BODY + 1)
        if len(raw) > MAX_BODY:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=len(raw))
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            raise web.HTTPBadRequest(text="the body is not JSON") from None

    def _default(self, site: SiteSettings, headers: dict[str, str], reason: str, status: int = 200) -> web.Response:
        return web.json_response({"number": site.default_number, "default": True, "reason": reason,
                                  "session": None, "expires_at": None}, status=status, headers=headers)

    async def sessions(self, request: web.Request) -> web.Response:
        site = self._site(request)
        headers = self._cors(request, site)
        try:
            asked = SessionRequest.model_validate(await self._body(request))
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "body"
            raise web.HTTPBadRequest(text=f"{where}: {err['msg']}", headers=headers) from None
        if not self.per_address.allow(self._address(request)) or not self.per_visitor.allow(asked.visitor):
            return self._default(site, headers, "rate_limited", status=429)  # a robot by its behaviour
        if is_bot(request.headers.get("User-Agent")):
            await self._write(lambda conn: pool.count(conn, site.id, self.clock(), bots=1))
            return self._default(site, headers, "bot")
        key = (site.id, asked.visitor)
        recent = self._recent.get(key)
        if recent is not None and recent.page == asked.page and \
                self.clock() + timedelta(minutes=site.hold_minutes) <= recent.held_until:
            return web.json_response({"number": recent.number, "default": False, "session": recent.session_id,
                                      "expires_at": recent.held_until.isoformat()}, headers=headers)
        visit = pool.Visit(asked.visitor, asked.page, asked.referrer, asked.utm, asked.click_ids)
        given: pool.Given = await self._write(lambda conn: pool.give_number(conn, site, visit, self.clock()))
        if given.number is not None:
            if len(self._recent) >= MAX_RECENT:
                self._recent.clear()
            self._recent[key] = _Recent(given.session_id, given.number, given.held_until, asked.page)
        else:
            self._recent.pop(key, None)
        if given.number is None:
            log.info("calltracking.exhausted", site=site.id)
            return web.json_response({"number": site.default_number, "default": True, "reason": "exhausted",
                                      "session": given.session_id, "expires_at": given.held_until.isoformat()},
                                     headers=headers)
        return web.json_response({"number": given.number, "default": False, "session": given.session_id,
                                  "expires_at": given.held_until.isoformat()}, headers=headers)

    async def alive(self, request: web.Request) -> web.Response:
        site = self._site(request)
        headers = self._cors(request, site)
        session_id = request.match_info["session"]
        if not _SESSION.match(session_id):
            raise web.HTTPNotFound(text="no such visit", headers=headers)
        try:
            asked = AliveRequest.model_validate(await self._body(request))
        except ValidationError:
            raise web.HTTPBadRequest(text="page: not a page address", headers=headers) from None
        if not self.per_visitor.allow(session_id) or not self.per_address.allow(self._address(request)):
            return self._default(site, headers, "rate_limited", status=429)
        given: pool.Given | None = await self._write(
            lambda conn: pool.keep_alive(conn, site, session_id, asked.page, self.clock()))
        if given is None:
            raise web.HTTPGone(text="this visit's number has gone back to the pool: ask for a number again",
                               headers=headers)
        return web.json_response({"number": given.number or site.default_number, "default": given.number is None,
                                  "session": given.session_id, "expires_at": given.held_until.isoformat()},
                                 headers=headers)
