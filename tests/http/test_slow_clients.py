"""Clients that send slowly, stall or leave, over real sockets: the server lets go of them and says so plainly.

Timeouts are configured small (half a second); the tests only ask that the server lets go within a
generous bound, never how fast.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import structlog
from sqlalchemy import func, select
from structlog.testing import capture_logs

from gateway.store.db import make_engine
from gateway.store.schema import events
from tests.conftest import Server, make_settings, start_server

BOUND = 15.0  # seconds: "let go of it", however busy the machine
BOUNDARY = "----slowboundary0123456789"
CONFIG = """
[http]
idle_timeout_seconds = 0.5
body_idle_timeout_seconds = {body_idle}
max_receiving_bodies = {max_bodies}

[[forms]]
id = "site"
max_upload_mb = 20
min_fill_seconds = 0
rate_limit_per_minute = 10000
"""


@pytest.fixture(autouse=True)
def _fresh_logging() -> None:
    structlog.reset_defaults()


@asynccontextmanager
async def served(tmp_path: Path, *, body_idle: float = 0.5, max_bodies: int = 64) -> AsyncIterator[Server]:
    config = tmp_path / "gateway.toml"
    config.write_text(CONFIG.format(body_idle=body_idle, max_bodies=max_bodies), encoding="utf-8")
    runner, srv = await start_server(make_settings(tmp_path, config_file=config))
    try:
        yield srv
    finally:
        await runner.cleanup()


async def connect(srv: Server) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    url = urlsplit(srv.url)
    return await asyncio.open_connection(url.hostname, url.port)


async def closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sent until it closed the connection (a reset counts as closed)."""
    got = b""
    with suppress(ConnectionResetError):
        while chunk := await reader.read(65536):
            got += chunk
    return got


async def eventually(check: Callable[[], Awaitable[bool] | bool], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BOUND
    while True:
        result = check()
        if result if isinstance(result, bool) else await result:
            return
        assert loop.time() < deadline, f"not within {BOUND} s: {what}"
        await asyncio.sleep(0.05)


def upload_head(length: int, *, path: str = "/hooks/forms/site") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: gateway\r\nAccept: application/json\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {length}\r\n\r\n").encode()


def upload_body(file_bytes: int) -> bytes:
    return (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nИван\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n"
            f"Content-Type: text/plain\r\n\r\n").encode() + b"x" * file_bytes + f"\r\n--{BOUNDARY}--\r\n".encode()


def stored_events(srv: Server) -> int:
    engine = make_engine(srv.settings.database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(events)).scalar_one())
    finally:
        engine.dispose()


def parts(srv: Server) -> list[Path]:
    return sorted((srv.settings.files_dir / "tmp").glob("*"))


async def test_connections_without_a_whole_request_head_are_closed(tmp_path: Path) -> None:
    async with served(tmp_path) as srv:
        silent = await connect(srv)
        half = await connect(srv)
        half[1].write(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\nX-Slow: ")  # never finished
        idle = await connect(srv)
        idle[1].write(b"GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n")  # answered, then kept alive and idle
        await idle[1].drain()
        for name, (reader, writer) in {"silent": silent, "half a head": half, "idle keep-alive": idle}.items():
            got = await asyncio.wait_for(closed_by_server(reader), BOUND)
            assert got == b"" if name != "idle keep-alive" else got.startswith(b"HTTP/1.1 200"), name
            writer.close()


async def test_a_stalled_upload_is_cut_off_and_its_temporary_file_removed(tmp_path: Path) -> None:
    async with served(tmp_path) as srv:
        with capture_logs() as logs:
            reader, writer = await connect(srv)
            body = upload_body(4 << 20)
            writer.write(upload_head(len(body)) + body[: 256 << 10])  # a quarter of a megabyte, then nothing
            await writer.drain()
            await eventually(lambda: bool(parts(srv)), "the upload's temporary file appears")
            got = await asyncio.wait_for(closed_by_server(reader), BOUND)
            writer.close()
            await eventually(lambda: not parts(srv), "the temporary file is removed")
        assert got == b"" and stored_events(srv) == 0
        assert next(e for e in logs if e["event"] == "http.body_stalled")["path"] == "/hooks/forms/site"
        assert not [e for e in logs if e["log_level"] in ("error", "critical")]


async def test_a_client_that_leaves_mid_body_is_not_a_crash(tmp_path: Path) -> None:
    async with served(tmp_path, body_idle=60) as srv:
        with capture_logs() as logs:
            _, writer = await connect(srv)
            lead = json.dumps({"name": "Иван", "phone": "+79161234567", "text": "x" * 2000}).encode()
            token = srv.headers()["Authorization"]
            writer.write(f"POST /api/v1/leads HTTP/1.1\r\nHost: gateway\r\nAuthorization: {token}\r\n"
                         f"Content-Type: application/json\r\nContent-Length: {len(lead)}\r\n\r\n".encode() + lead[:100])
            await writer.drain()
            await asyncio.sleep(0.3)  # not a timing assertion: only so the head is read before we leave
            writer.close()
            await eventually(lambda: any(e["event"].startswith("request.") for e in logs), "the request is logged")
            uploader = await connect(srv)
            body = upload_body(1 << 20)
            uploader[1].write(upload_head(len(body)) + body[: 128 << 10])
            await uploader[1].drain()
            await eventually(lambda: bool(parts(srv)), "the upload's temporary file appears")
            uploader[1].close()
            await eventually(lambda: not parts(srv), "the temporary file is removed")
            await eventually(lambda: len([e for e in logs if e["event"].startswith("request.")]) == 2,
                             "both requests are logged")
        gone = [e for e in logs if e["event"].startswith("request.")]
        assert [(e["event"], e["log_level"]) for e in gone] == [("request.client_gone", "info")] * 2
        assert {e["path"] for e in gone} == {"/api/v1/leads", "/hooks/forms/site"}
        assert not [e for e in logs if e["log_level"] in ("error", "critical") or "exc_info" in e]
        assert stored_events(srv) == 0


async def test_bodies_still_arriving_are_capped(tmp_path: Path) -> None:
    async with served(tmp_path, body_idle=60, max_bodies=1) as srv:
        body = upload_body(64 << 10)
        first, second = await connect(srv), await connect(srv)
        for _, writer in (first, second):
            writer.write(upload_head(len(body)) + body[:1000])
            await writer.drain()
        done, _ = await asyncio.wait([asyncio.create_task(closed_by_server(r)) for r, _ in (first, second)],
                                     timeout=BOUND, return_when=asyncio.FIRST_COMPLETED)
        assert len(done) == 1, "one of the two is refused at once"
        refused = done.pop().result()
        assert refused.startswith(b"HTTP/1.1 503") and b"Retry-After: 5" in refused
        assert b"try again" in refused
        async with _client(srv) as http:  # a body that came whole with its head is not held back
            resp = await http.post("/hooks/forms/site", json={"name": "Пётр", "phone": "+79161234568"},
                                   headers={"Accept": "application/json"})
            assert resp.status_code == 200, resp.text
        for _, writer in (first, second):
            writer.close()

        async def admitted_again() -> bool:  # once the held one has gone, a slow body is taken again
            reader, writer = await connect(srv)
            writer.write(upload_head(len(body)) + body[:1000])
            await writer.drain()
            await asyncio.sleep(0.05)
            writer.write(body[1000:])
            answer = await asyncio.wait_for(reader.read(65536), BOUND)
            writer.close()
            return answer.startswith(b"HTTP/1.1 200")

        await eventually(admitted_again, "a slow upload is admitted after the held one leaves")
        assert stored_events(srv) == 2


@asynccontextmanager
async def _client(srv: Server) -> AsyncIterator[Any]:
    import httpx

    async with httpx.AsyncClient(base_url=srv.url, timeout=BOUND) as http:
        yield http
