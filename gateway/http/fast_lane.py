"""The fast lane: a plain, whole webhook request answered without aiohttp's request objects.

At saturation most of an acknowledgement's CPU went to the framework around the edge: aiohttp's request and
response objects, routing among a hundred routes, the middlewares (`bench/mango.py --layers`). A connector's
route that offers a `quick` handler (Mango's) is answered here when its request is plain: `POST` over HTTP/1.1
to a path of the route's pattern with no query and no escapes, a head of printable ASCII whose header names are
tokens, one Content-Length within the route's limit and no Transfer-Encoding, Content-Encoding, Expect or
Upgrade, and the whole body in hand. Its events go to the same group commit (`gateway.http.writer`), and the
answer is written once they are stored, in the order the requests came.

Anything else hands the connection to aiohttp with every byte not yet answered, once the answers owed are
written, and aiohttp serves it to its end: its parser, limits, slow-client guards and errors apply as before.
So does a request the quick handler declines (a bad signature, a malformed body): the connector's full handler
answers it and logs why. A request that is not whole waits `GRACE_SECONDS` for its rest before it is handed
over; a connection idle for the server's idle timeout is closed, as aiohttp closes its own.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from datetime import UTC, datetime
from email.utils import formatdate
from http import HTTPStatus
from typing import cast

import structlog
from aiohttp import web
from aiohttp.http import SERVER_SOFTWARE

from gateway.connectors.base import EdgeOutcome, NewEvent, QuickHandler, Reply, Route

__all__ = ["ANSWER_HEADERS", "FastLane", "LaneSite", "route_pattern"]

log = structlog.get_logger(__name__)

# On every answer to a webhook (gateway.web.render.add_security_headers adds them to aiohttp's)
ANSWER_HEADERS: Mapping[str, str] = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
MAX_HEAD = 8190  # bytes of a request head before it is aiohttp's to refuse
GRACE_SECONDS = 1.0  # how long a request that came in part may take to come whole
MAX_OWED = 32  # answers owed on one connection before it stops reading
SWEEP_SECONDS = 0.5
MAX_ANSWERS = 64  # distinct replies whose bytes are kept
CLOSE_SECONDS = 10.0  # how long a stop waits for the answers owed
_HEAD_BYTES = bytes(range(0x20, 0x7F)) + b"\t\r\n"
_TOKEN = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_REFUSED_HEADERS = frozenset({b"transfer-encoding", b"content-encoding", b"expect", b"upgrade"})
_PART = re.compile(r"(\{[_a-zA-Z][^{}]*(?:\{[^{}]*\}[^{}]*)*\})")  # aiohttp's dynamic parts
_VAR = re.compile(r"\{(?P<var>[_a-zA-Z][_a-zA-Z0-9]*)(?::(?P<re>.+))?\}")

Store = Callable[[Sequence[NewEvent]], "asyncio.Future[list[tuple[str, bool]]]"]
Owed = tuple["asyncio.Future[list[tuple[str, bool]]]", EdgeOutcome, bool]


def route_pattern(path: str) -> re.Pattern[str]:
    """An aiohttp route pattern as a regular expression: `{name}` one segment, `{name:regex}` that regex."""
    regex = ""
    for part in _PART.split(path):
        var = _VAR.fullmatch(part)
        regex += f"(?P<{var['var']}>{var['re'] or '[^{}/]+'})" if var else re.escape(part)
    return re.compile(regex)


class FastLane:
    """Per application: the routes it answers, the store it hands events to, the connections it serves."""

    def __init__(self, routes: Sequence[Route], idle_timeout: float) -> None:
        # every connector route in the order aiohttp has them: the first whose pattern matches decides
        self._routes = [(r.method, route_pattern(r.path), r.quick, r.max_body_bytes) for r in routes]
        self.enabled = any(r.quick for r in routes)
        self.idle_timeout = idle_timeout
        self.store: Store | None = None  # the event writer's submit, while it runs
        self.connections: set[_Connection] = set()
        self.answered = 0
        self.handed_over = 0
        self._sweeper: asyncio.Task[None] | None = None
        self._date_second = -1
        self._date = b""
        self._answers: dict[tuple[object, ...], tuple[bytes, bytes]] = {}  # the bytes of the replies given so far
        self._emptied: asyncio.Event | None = None  # set once closing and the last connection is gone

    @property
    def owed(self) -> int:
        """Requests taken whose answers are not written yet (their events are being stored)."""
        return sum(len(conn.owed) for conn in self.connections)

    def protocol_factory(self, fallback: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        """What the listening socket makes for each connection: ours, or aiohttp's alone with no quick route."""
        if not self.enabled:
            return fallback
        return lambda: _Connection(self, fallback)

    def route(self, method: str, path: str) -> tuple[QuickHandler, dict[str, str], int] | None:
        """The quick handler, parameters and body limit of the route aiohttp would pick, if it has one."""
        for route_method, pattern, quick, limit in self._routes:
            if route_method == method:
                found = pattern.fullmatch(path)
                if found:
                    return (quick, found.groupdict(), limit) if quick else None
        return None

    def answer(self, reply: Reply, close: bool) -> bytes:
        """The bytes of `reply` as aiohttp sends it (gateway.http.edge.to_response, the security headers)."""
        key = (reply.status, reply.body, reply.content_type, tuple(reply.headers.items()), close)
        parts = self._answers.get(key)
        if parts is None:
            if len(self._answers) >= MAX_ANSWERS:
                self._answers.clear()
            parts = self._answers[key] = self._parts(reply, close)
        return parts[0] + self._now() + parts[1]

    @staticmethod
    def _parts(reply: Reply, close: bool) -> tuple[bytes, bytes]:
        """`reply`'s bytes before its Date and after it (the same for every answer of this reply)."""
        body = reply.body.encode() if isinstance(reply.body, str) else reply.body
        lines = [f"HTTP/1.1 {reply.status} {HTTPStatus(reply.status).phrase}"]
        if body or reply.status != 204:
            if not any(name.lower() == "content-type" for name in reply.headers):
                charset = reply.charset
                lines.append(f"Content-Type: {reply.content_type}{f'; charset={charset}' if charset else ''}")
            lines.append(f"Content-Length: {len(body)}")
        after = [f"Server: {SERVER_SOFTWARE}"]
        after += [f"{name}: {value}" for name, value in reply.headers.items()]
        after += [f"{name}: {value}" for name, value in ANSWER_HEADERS.items() if name not in reply.headers]
        if close:
            after.append("Connection: close")
        before = "\r\n".join(lines) + "\r\nDate: "
        return before.encode("latin-1"), ("\r\n" + "\r\n".join(after) + "\r\n\r\n").encode("latin-1") + body

    def failure(self, close: bool) -> bytes:
        """The answer when storing failed, as the error middleware gives it."""
        return self.answer(Reply(status=500, body='{"error": "internal error"}', content_type="application/json"),
                           close)

    def _now(self) -> bytes:
        second = int(time.time())
        if second != self._date_second:
            self._date_second, self._date = second, formatdate(second, usegmt=True).encode("ascii")
        return self._date

    def start(self) -> None:
        if self.enabled and self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep(), name="fast-lane-sweeper")

    async def close(self) -> None:
        """Stop taking requests; write the answers owed (their events are being stored), then close."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None
        self._emptied = asyncio.Event()
        for conn in list(self.connections):
            conn.close_when_answered()
        if self.connections:
            with suppress(TimeoutError):
                async with asyncio.timeout(CLOSE_SECONDS):
                    await self._emptied.wait()
        for conn in list(self.connections):
            conn.abort()

    def forget(self, conn: _Connection) -> None:
        """`conn` is closed or aiohttp's now."""
        self.connections.discard(conn)
        if not self.connections and self._emptied is not None:
            self._emptied.set()

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            now = time.monotonic()
            for conn in list(self.connections):
                conn.sweep(now)


class _Connection(asyncio.Protocol):
    """One client connection while the fast lane serves it."""

    def __init__(self, lane: FastLane, fallback: Callable[[], asyncio.Protocol]) -> None:
        self._lane = lane
        self._fallback = fallback
        self._transport: asyncio.Transport | None = None
        self._buf = b""  # what came and is not answered yet: the start of a request, at most
        self.owed: deque[Owed] = deque()
        self._handing_over = False  # a request for aiohttp waits in _buf until the answers owed are written
        self._closing = False
        self._eof = False
        self._paused: set[str] = set()
        self._partial_since = 0.0
        self.last = time.monotonic()

    # asyncio's side
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not an asyncio.Transport subclass
        self._lane.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._lane.forget(self)
        self._closing = True

    def data_received(self, data: bytes) -> None:
        self._take(self._buf + data if self._buf else data)

    def eof_received(self) -> bool:
        self._eof = True
        if self._buf and not self._handing_over:
            self._hand_over_or_wait(self._buf)  # an incomplete request: aiohttp answers it
            return True
        if self.owed or self._handing_over:
            return True  # half-closed: answer what is owed, then close
        return False

    def pause_writing(self) -> None:
        self._pause("writing")

    def resume_writing(self) -> None:
        self._resume("writing")

    # reading requests
    def _take(self, buf: bytes) -> None:
        self._buf = b""
        lane = self._lane
        while buf:
            if self._handing_over or self._closing:
                self._buf = buf
                return
            end = buf.find(b"\r\n\r\n", 0, MAX_HEAD + 4)
            if end < 0:
                if len(buf) > MAX_HEAD:
                    return self._hand_over_or_wait(buf)
                return self._wait(buf)
            head = buf[:end]
            lines = head.split(b"\r\n")
            crlf = len(lines) - 1
            if head.translate(None, _HEAD_BYTES) or head.count(b"\n") != crlf or head.count(b"\r") != crlf:
                return self._hand_over_or_wait(buf)  # a byte aiohttp may refuse, or a line not ended by CRLF
            method, _, rest = lines[0].partition(b" ")
            target, _, version = rest.partition(b" ")
            if version != b"HTTP/1.1" or b" " in target or b"?" in target or b"%" in target or b"/." in target \
                    or b"//" in target:
                return self._hand_over_or_wait(buf)
            found = lane.route(method.decode("ascii"), target.decode("ascii"))
            if found is None:
                return self._hand_over_or_wait(buf)
            quick, params, limit = found
            length, content_type, close = -1, "", False
            for line in lines[1:]:
                name, colon, value = line.partition(b":")
                if not colon or not name or name.translate(None, _TOKEN):
                    return self._hand_over_or_wait(buf)  # no colon, a space before it, a folded line ...
                name = name.lower()
                if name == b"content-length":
                    value = value.strip(b" \t")
                    if length >= 0 or not value.isdigit():
                        return self._hand_over_or_wait(buf)
                    length = int(value)
                elif name == b"content-type":
                    content_type = value.strip(b" \t").decode("ascii")
                elif name == b"connection":
                    option = value.strip(b" \t").lower()
                    if option not in (b"keep-alive", b"close"):
                        return self._hand_over_or_wait(buf)
                    close = option == b"close"
                elif name in _REFUSED_HEADERS:
                    return self._hand_over_or_wait(buf)
            if length < 0 or length > limit:
                return self._hand_over_or_wait(buf)
            start = end + 4
            if len(buf) - start < length:
                return self._wait(buf)
            store = lane.store
            try:
                outcome = quick(params, buf[start:start + length], content_type, datetime.now(UTC)) if store else None
            except Exception:  # the full handler meets it too, and answers 500 (logged)
                outcome = None
            if store is None or outcome is None:
                return self._hand_over_or_wait(buf)
            self._partial_since = 0.0
            buf = buf[start + length:]
            future = store(outcome.events)
            self.owed.append((future, outcome, close))
            future.add_done_callback(self._stored)
            if close:
                self._closing = True  # what follows a request that asked to close is not read
                buf = b""
            if len(self.owed) >= MAX_OWED:
                self._pause("owed")

    def _wait(self, buf: bytes) -> None:
        """Part of a request: its rest is given `GRACE_SECONDS` (the sweep hands it over after that)."""
        self._buf = buf
        if not self._partial_since:
            self._partial_since = time.monotonic()

    def _hand_over_or_wait(self, buf: bytes) -> None:
        self._buf = buf
        self._handing_over = True
        if not self.owed:
            self._hand_over()

    def _hand_over(self) -> None:
        """aiohttp takes the connection, with the bytes not yet answered, to its end."""
        transport = self._transport
        assert transport is not None
        self._lane.forget(self)
        self._lane.handed_over += 1
        protocol = self._fallback()
        transport.set_protocol(protocol)
        if self._paused:
            self._paused.clear()
            transport.resume_reading()
        protocol.connection_made(transport)
        buf, self._buf = self._buf, b""
        if buf:
            protocol.data_received(buf)
        if self._eof:
            protocol.eof_received()

    # writing answers
    def _stored(self, _future: asyncio.Future[list[tuple[str, bool]]]) -> None:
        lane, owed, out = self._lane, self.owed, []
        close = False
        while owed and owed[0][0].done():
            future, outcome, close = owed.popleft()
            if outcome.cleanup is not None:
                outcome.cleanup()
            if future.cancelled() or future.exception() is not None:
                log.error("request.crashed", path="fast lane", error=repr(future.exception())
                          if not future.cancelled() else "cancelled")
                out.append(lane.failure(close))
            else:
                out.append(lane.answer(outcome.build_reply([event_id for event_id, _ in future.result()]), close))
        transport = self._transport
        if not out or transport is None or transport.is_closing():
            return
        lane.answered += len(out)
        transport.write(b"".join(out) if len(out) > 1 else out[0])
        self.last = time.monotonic()
        if close or (self._closing and not owed) or (self._eof and not owed and not self._handing_over):
            transport.close()
            return
        if len(owed) < MAX_OWED // 2:
            self._resume("owed")
        if not owed and self._handing_over:
            self._hand_over()

    def _pause(self, why: str) -> None:
        if not self._paused and self._transport is not None:
            self._transport.pause_reading()
        self._paused.add(why)

    def _resume(self, why: str) -> None:
        if why in self._paused:
            self._paused.discard(why)
            if not self._paused and self._transport is not None and not self._transport.is_closing():
                self._transport.resume_reading()

    # the lane's side
    def sweep(self, now: float) -> None:
        """Hand over a request that stays incomplete; close a connection idle for the idle timeout."""
        if self.owed or self._handing_over or self._closing:
            return
        if self._buf and now - self._partial_since >= GRACE_SECONDS:
            self._hand_over_or_wait(self._buf)
        elif not self._buf and now - self.last >= self._lane.idle_timeout and self._transport is not None:
            self._transport.close()

    def close_when_answered(self) -> None:
        self._closing = True
        if not self.owed and self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()


class LaneSite(web.SockSite):
    """aiohttp's site on a listening socket, each connection served by the fast lane first."""

    def __init__(self, runner: web.BaseRunner, sock: object, lane: FastLane, **kwargs: object) -> None:
        super().__init__(runner, sock, **kwargs)  # type: ignore[arg-type]
        self._lane = lane

    async def start(self) -> None:
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            self._lane.protocol_factory(server), sock=self._sock, backlog=self._backlog)
        self._lane.start()
