"""Clients that send slowly or not at all: the idle timeout of a connection, and the guard of request bodies.

A connection that has not sent a whole request head `idle_timeout_seconds` after it opened (or after its
last answer) is closed by aiohttp's keep-alive timer, which `server_options` sets; a trickle of header bytes
does not restart it. A body is the guard's: while it is still arriving it holds one
of `max_receiving_bodies` places (one more that finds no place, and is not whole after a second's grace,
is answered 503), and when nothing has arrived for `body_idle_timeout_seconds` while the handler waits
for it, the connection is closed; the handler's read then fails, and whatever it was writing (an
upload's temporary file) is removed on its way out.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from gateway.config import Settings
from gateway.config.settings import HttpSettings
from gateway.http.middleware import json_error

__all__ = ["BodyGuard", "server_options"]

log = structlog.get_logger(__name__)
RETRY_AFTER_SECONDS = 5
GRACE_SECONDS = 1.0


def server_options(http: HttpSettings) -> dict[str, Any]:
    """What the aiohttp server (web.run_app, web.AppRunner) is given for these settings."""
    return {"keepalive_timeout": http.idle_timeout_seconds}


class BodyGuard:
    """Per process: how many bodies are arriving now, and the watch over each one."""

    def __init__(self, idle_seconds: float, max_receiving: int) -> None:
        self._idle = idle_seconds
        self._max = max_receiving
        self.receiving = 0

    @classmethod
    def of(cls, settings: Settings) -> BodyGuard:
        return cls(settings.http.body_idle_timeout_seconds, settings.http.max_receiving_bodies)

    def middleware(self) -> Middleware:
        @web.middleware
        async def guard_bodies(request: web.Request, handler: Handler) -> web.StreamResponse:
            if not request.body_exists or request.content.is_eof():
                return await handler(request)  # no body, or all of it came with the head
            if self.receiving >= self._max and await self._full(request):
                log.warning("http.too_many_bodies", path=request.path, receiving=self.receiving)
                resp = json_error(503, "too many uploads are arriving at once; try again in a few seconds")
                resp.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
                resp.force_close()  # the rest of this body is never read
                return resp
            if request.content.is_eof():
                return await handler(request)  # it came whole during the grace
            self.receiving += 1
            held = [True]
            watch = asyncio.create_task(self._watch(request, held))
            try:
                return await handler(request)
            finally:
                watch.cancel()
                self._release(held)

        return guard_bodies

    async def _full(self, request: web.Request) -> bool:
        """Still no place after a moment's grace (a small body sent just after its head arrives meanwhile)."""
        loop = asyncio.get_running_loop()
        until = loop.time() + min(GRACE_SECONDS, self._idle)
        while loop.time() < until:
            await asyncio.sleep(0.02)
            if request.content.is_eof():
                return False  # the whole body is here: nothing to hold a place for
            if self.receiving < self._max:
                return False
        return True

    def _release(self, held: list[bool]) -> None:
        if held[0]:
            held[0] = False
            self.receiving -= 1

    async def _watch(self, request: web.Request, held: list[bool]) -> None:
        """Give the place back once the body is in; close the connection when it stalls."""
        loop = asyncio.get_running_loop()
        content = request.content
        seen, since = content.total_bytes, loop.time()
        step = min(1.0, self._idle / 4)
        while not content.is_eof():
            await asyncio.sleep(step)
            now = loop.time()
            # bytes the handler has not taken yet mean it is we who are slow, not the client
            if content.total_bytes != seen or getattr(content, "_size", 0) > 0:
                seen, since = content.total_bytes, now
            elif now - since >= self._idle:
                log.info("http.body_stalled", path=request.path, received=seen, idle_seconds=self._idle)
                if request.transport is not None:
                    request.transport.close()
                break
        self._release(held)
