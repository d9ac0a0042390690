"""The fast lane over real sockets: plain Mango notifications answered by it, everything else by aiohttp, in order.

The server is started as `gateway serve` serves it (`gateway.serving.site_on`); the lane's counters say who
answered. Every answer is compared with what aiohttp gives for the same request, and what was stored is read back.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from contextlib import AbstractAsyncContextManager, suppress
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import select
from structlog.testing import capture_logs

from gateway.config import Settings
from gateway.connectors.base import Reply
from gateway.connectors.telephony.mango.signature import sign
from gateway.http.fast_lane import FastLane, route_pattern
from gateway.http.keys import LANE
from gateway.store.db import make_engine
from gateway.store.schema import events
from tests.conftest import Server, make_settings, start_server
from tests.conftest import served as served_on

KEY, SALT = "lanekey0000000000000000000000001", "lanesalt000000000000000000000001"
CONFIG = f"""
[http]
idle_timeout_seconds = {{idle}}

[[telephony.mango]]
account = "main"
api_key = "{KEY}"
api_salt = "{SALT}"
fetch_recordings = false
"""
BOUND = 15.0  # seconds: "within a while", however busy the machine


def lane_settings(tmp_path: Path, idle: float = 30.0) -> Settings:
    config = tmp_path / "gateway.toml"
    config.write_text(CONFIG.format(idle=idle), encoding="utf-8")
    return make_settings(tmp_path, config_file=config)


def served(tmp_path: Path, idle: float = 30.0) -> AbstractAsyncContextManager[Server]:
    return served_on(lane_settings(tmp_path, idle))


def notification(n: int, *, key: str = KEY, path: str = "/hooks/mango/main/events/call", extra: str = "",
                 body: bytes | None = None) -> bytes:
    text = (f'{{"entry_id":"lane-{n}","call_id":"lane-{n}-1","seq":1,"timestamp":1767261600,"call_state":"Appeared",'
            f'"from":{{"number":"79161234567"}}}}')
    form = body if body is not None else urlencode({"vpbx_api_key": key, "sign": sign(KEY, text, SALT),
                                                    "json": text}).encode()
    return (f"POST {path} HTTP/1.1\r\nHost: lane\r\nContent-Type: application/x-www-form-urlencoded\r\n{extra}"
            f"Content-Length: {len(form)}\r\n\r\n").encode() + form


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), BOUND)
    lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value for name, _, value in (line.partition(": ") for line in lines[1:] if line)}
    body = await asyncio.wait_for(reader.readexactly(int(headers.get("content-length", "0"))), BOUND)
    return int(lines[0].split()[1]), headers, body


async def connect(srv: Server) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    url = urlsplit(srv.url)
    return await asyncio.open_connection(url.hostname, url.port)


def stored(srv: Server) -> list[str]:
    engine = make_engine(srv.settings.database_url)
    try:
        with engine.connect() as conn:
            return [key for (key,) in conn.execute(select(events.c.key).order_by(events.c.key))]
    finally:
        engine.dispose()


def lane(srv: Server) -> FastLane:
    return srv.app[LANE]


async def test_a_plain_notification_is_answered_by_the_lane_after_it_is_stored_as_aiohttp_answers_it(
        tmp_path: Path) -> None:
    async with served(tmp_path) as srv:
        reader, writer = await connect(srv)
        writer.write(notification(1))
        status, headers, body = await read_answer(reader)
        assert (lane(srv).answered, lane(srv).handed_over) == (1, 0)
        assert stored(srv) == ["call:lane-1:lane-1-1:1:"]
        writer.write(notification(1, path="/hooks/mango/main/events/call?via=aiohttp"))  # the same, by aiohttp
        status2, headers2, body2 = await read_answer(reader)
        assert lane(srv).handed_over == 1
        writer.close()
    assert (status, body) == (status2, body2) == (200, b"")
    assert headers.pop("date") and headers2.pop("date")
    assert headers == headers2 == {
        "content-type": "text/plain; charset=utf-8", "content-length": "0", "server": headers2["server"],
        "x-content-type-options": "nosniff", "referrer-policy": "same-origin"}


async def test_answers_come_in_the_order_of_the_requests_whoever_answers_them(tmp_path: Path) -> None:
    async with served(tmp_path) as srv:
        reader, writer = await connect(srv)
        with capture_logs() as logs:
            # one write: three for the lane, a bad key (aiohttp's 403), then one more the lane would have taken
            writer.write(notification(1) + notification(2) + notification(3) + notification(4, key="wrong" * 6)
                         + notification(5))
            answers = [await read_answer(reader) for _ in range(5)]
        writer.close()
        assert [status for status, _, _ in answers] == [200, 200, 200, 403, 200]
        assert b"bad signature" in answers[3][2]
        assert (lane(srv).answered, lane(srv).handed_over) == (3, 1)
        assert stored(srv) == [f"call:lane-{n}:lane-{n}-1:1:" for n in (1, 2, 3, 5)]
    assert [e["reason"] for e in logs if e["event"] == "mango.edge.refused"] == ["api key"]  # logged once


async def test_a_delivery_repeated_is_one_event_and_two_answers(tmp_path: Path) -> None:
    async with served(tmp_path) as srv:
        reader, writer = await connect(srv)
        writer.write(notification(7) + notification(7))
        answers = [await read_answer(reader) for _ in range(2)]
        writer.close()
        assert [status for status, _, _ in answers] == [200, 200]
        assert lane(srv).answered == 2
        assert stored(srv) == ["call:lane-7:lane-7-1:1:"]


async def test_a_request_that_comes_in_parts_is_awaited_and_one_that_stalls_is_handed_to_aiohttp(
        tmp_path: Path) -> None:
    async with served(tmp_path) as srv:
        reader, writer = await connect(srv)
        request = notification(1)
        writer.write(request[:120])
        await asyncio.sleep(0.2)
        writer.write(request[120:])
        assert (await read_answer(reader))[0] == 200
        assert (lane(srv).answered, lane(srv).handed_over) == (1, 0)
        request = notification(2)
        writer.write(request[:120])
        loop = asyncio.get_running_loop()
        deadline = loop.time() + BOUND
        while not lane(srv).handed_over:  # after the grace, aiohttp takes the connection and waits for the rest
            assert loop.time() < deadline, "the stalled request was not handed over"
            await asyncio.sleep(0.05)
        writer.write(request[120:])
        assert (await read_answer(reader))[0] == 200
        writer.close()
        assert (lane(srv).answered, lane(srv).handed_over) == (1, 1)
        assert stored(srv) == ["call:lane-1:lane-1-1:1:", "call:lane-2:lane-2-1:1:"]


WEIRD = {
    "a query": (notification(1, path="/hooks/mango/main/events/call?x=1"), 200, 1),
    "an escape in the path": (notification(1, path="/hooks/mango/m%61in/events/call"), 200, 1),
    "an unknown account": (notification(1, path="/hooks/mango/other/events/call"), 403, 0),
    "HTTP/1.0": (notification(1).replace(b"HTTP/1.1", b"HTTP/1.0", 1), 200, 1),
    "two lengths": (notification(1, extra="Content-Length: 3\r\n"), 400, 0),
    "a folded header": (notification(1, extra="X-Note: a\r\n  folded\r\n"), 400, 0),
    "a space before the colon": (notification(1, extra="X-Note : a\r\n"), 400, 0),
    "a line ended by LF alone": (notification(1, extra="X-Note: a\nContent-Length: 3\r\n"), 400, 0),
    "chunked": (notification(1).replace(b"Content-Length", b"Transfer-Encoding: chunked\r\nX-Length"), 400, 0),
    "not a form": (notification(1, body=b"vpbx_api_key=only"), 400, 0),
    "too large": (notification(1, body=b"x" * (300 << 10)), 413, 0),
    "a GET": (b"GET /hooks/mango/main/events/call HTTP/1.1\r\nHost: lane\r\n\r\n", 405, 0),
}


@pytest.mark.parametrize("case", WEIRD)
async def test_what_the_lane_does_not_judge_aiohttp_answers(tmp_path: Path, case: str) -> None:
    request, status, events_stored = WEIRD[case]
    async with served(tmp_path) as srv:
        reader, writer = await connect(srv)
        writer.write(request)
        answer = await read_answer(reader)
        with suppress(ConnectionError):
            writer.close()
        assert answer[0] == status, answer
        assert (lane(srv).answered, lane(srv).handed_over) == (0, 1)
        assert len(stored(srv)) == events_stored


async def test_connection_close_is_answered_and_closed_and_a_half_closed_client_gets_its_answer(
        tmp_path: Path) -> None:
    async with served(tmp_path) as srv:
        reader, writer = await connect(srv)
        writer.write(notification(1, extra="Connection: close\r\n") + notification(2))
        status, headers, _ = await read_answer(reader)
        assert (status, headers["connection"]) == (200, "close")
        assert await asyncio.wait_for(reader.read(), BOUND) == b""  # closed; what followed was not read
        reader, writer = await connect(srv)
        writer.write(notification(3))
        writer.write_eof()
        assert (await read_answer(reader))[0] == 200
        assert await asyncio.wait_for(reader.read(), BOUND) == b""
        assert lane(srv).answered == 2
        assert stored(srv) == ["call:lane-1:lane-1-1:1:", "call:lane-3:lane-3-1:1:"]


async def test_an_idle_connection_is_closed_after_the_idle_timeout(tmp_path: Path) -> None:
    async with served(tmp_path, idle=0.5) as srv:
        reader, writer = await connect(srv)
        writer.write(notification(1))
        assert (await read_answer(reader))[0] == 200
        assert await asyncio.wait_for(reader.read(), BOUND) == b""  # closed by the server, not by us
        writer.close()


async def test_stopping_the_server_writes_the_answers_owed_before_it_closes(tmp_path: Path) -> None:
    settings = lane_settings(tmp_path)
    settings.dispatch.embedded_worker = "thread"
    runner, srv = await start_server(settings)
    reader, writer = await connect(srv)
    lock = sqlite3.connect(urlsplit(srv.settings.database_url).path[1:], isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # the store's write lock held: the lane's events wait to be stored
    writer.write(b"".join(notification(n) for n in range(20)))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BOUND
    while lane(srv).owed < 20:
        assert loop.time() < deadline, "the requests were not taken"
        await asyncio.sleep(0.01)
    stopping = asyncio.create_task(runner.cleanup())
    await asyncio.sleep(0.3)  # the stop has begun, and waits
    lock.rollback()
    lock.close()
    await stopping
    got = await asyncio.wait_for(reader.read(), BOUND)
    writer.close()
    assert len(re.findall(rb"HTTP/1.1 200 OK", got)) == lane(srv).answered == len(stored(srv)) == 20


def test_a_route_pattern_matches_as_aiohttp_matches_it() -> None:
    pattern = route_pattern("/hooks/mango/{account}/events/{name:.+}")
    assert pattern.fullmatch("/hooks/mango/main/events/record/added").groupdict() == {  # type: ignore[union-attr]
        "account": "main", "name": "record/added"}
    assert pattern.fullmatch("/hooks/mango/a/b/events/call") is None
    assert route_pattern("/hooks/x/{id:\\d{2}}").fullmatch("/hooks/x/42") is not None
    assert route_pattern("/hooks/x/{id:\\d{2}}").fullmatch("/hooks/x/421") is None


def test_an_answer_is_the_reply_in_aiohttps_words_with_the_date_of_its_second() -> None:
    lane = FastLane([], idle_timeout=30)
    failure = lane.failure(close=True).decode()
    head, _, body = failure.partition("\r\n\r\n")
    lines = head.split("\r\n")
    assert lines[0] == "HTTP/1.1 500 Internal Server Error"
    assert body == '{"error": "internal error"}'
    headers = dict(line.split(": ", 1) for line in lines[1:])
    assert headers.pop("Date").endswith(" GMT")
    assert headers == {"Content-Type": "application/json; charset=utf-8", "Content-Length": str(len(body)),
                       "Server": headers["Server"], "X-Content-Type-Options": "nosniff",
                       "Referrer-Policy": "same-origin", "Connection": "close"}
    no_content = lane.answer(Reply(status=204, headers={"X-Id": "7"}), close=False).decode()
    assert no_content.startswith("HTTP/1.1 204 No Content\r\nDate: ") and no_content.endswith("\r\n\r\n")
    assert "Content-Length" not in no_content and "X-Id: 7\r\n" in no_content
    assert "Connection" not in lane.answer(Reply(status=200), close=False).decode()


async def test_a_client_that_pipelines_more_than_the_lane_holds_gets_every_answer_in_order(tmp_path: Path) -> None:
    async with served(tmp_path) as srv:
        reader, writer = await connect(srv)
        writer.write(b"".join(notification(n) for n in range(100)))  # more than MAX_OWED: reading pauses, resumes
        answers = [await read_answer(reader) for _ in range(100)]
        writer.write(notification(100))  # and the connection reads again once they are answered
        answers.append(await read_answer(reader))
        writer.close()
        assert [status for status, _, _ in answers] == [200] * 101
        assert lane(srv).answered == 101
        assert len(stored(srv)) == 101
