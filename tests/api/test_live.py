"""Server-sent events: a new lead and a decision on it reach a listener without polling by the client.

The push tests make the store's fallback poll 30 s long: a lead that arrives within their deadline
came by the news that leads changed (the worker process's pipe, Redis, an operator's request).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from redis import Redis
from sqlalchemy import Engine, select

from gateway.dispatch.changes_channel import changes_channel
from gateway.http.keys import LEADS_CHANGED
from gateway.store.schema import leads
from tests.api.conftest import THREAD, Gateway, serve
from tests.conftest import RedisServer, make_settings, until
from tests.connectors.telephony.mango.mango_support import ACCOUNT, TEST_KEY, TEST_SALT, form_body, load
from tests.dispatch.workers import start_worker, stop, worker_env

NO_POLL = 30.0  # the fallback poll, longer than every deadline below
MANGO = {"account": ACCOUNT, "api_key": TEST_KEY, "api_salt": TEST_SALT, "fetch_recordings": False,
         "lines": {"74951234567": "Яндекс.Директ"}}


async def _events(resp: httpx.Response) -> AsyncIterator[tuple[str, Any]]:
    kind = "message"
    async for line in resp.aiter_lines():
        if line.startswith("event:"):
            kind = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            yield kind, json.loads(line.split(":", 1)[1])
            kind = "message"


async def _until(stream: AsyncIterator[tuple[str, Any]], lead_id: int, status: str | None = None) -> dict[str, Any]:
    async for kind, data in stream:
        for change in data if kind == "leads" else []:
            if change["id"] == lead_id and status in (None, change["status"]):
                return change
    raise AssertionError("stream ended")


def _since() -> str:
    return (datetime.now(UTC) - timedelta(seconds=1)).isoformat()


async def _only_lead(engine: Engine) -> int:
    """The id of the one lead in the store, once processing has made it."""
    def read() -> int | None:
        with engine.connect() as conn:
            return conn.execute(select(leads.c.id)).scalar()
    lead_id: int = await until(lambda: asyncio.to_thread(read))
    return lead_id


async def test_live_stream_announces_new_and_taken_leads(process_gateway: Gateway) -> None:
    """The worker is another process: the stream learns of its leads from the store alone."""
    gateway = process_gateway
    since = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    async with gateway.client("anna") as c, c.stream("GET", "/api/v1/live", params={"since": since}) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        stream = _events(resp)
        lead = await gateway.lead("vera", name="Живой", phone="+79160000051")
        change = await asyncio.wait_for(_until(stream, lead["id"], "unsorted"), timeout=20)
        assert change["channel"] == "manual"
        await c.post(f"/api/v1/unsorted/{lead['id']}/accept", json={})
        await asyncio.wait_for(_until(stream, lead["id"], "accepted"), timeout=20)


async def test_live_stream_needs_a_user(gateway: Gateway) -> None:
    async with gateway.client() as c:
        assert (await c.get("/api/v1/live")).status_code == 401


async def test_a_call_reaches_the_stream_by_the_worker_process_news(tmp_path: Path) -> None:
    """Signed Mango notifications, the worker in its own process: its pipe back nudges the stream's poller."""
    runner, gateway = await serve(make_settings(tmp_path, telephony={"mango": [MANGO]},
                                                dispatch={"live_poll_seconds": NO_POLL}))
    try:
        async with gateway.client("anna") as c, c.stream("GET", "/api/v1/live", params={"since": _since()}) as resp:
            for d in load("missed_in_queue_numbers_as_strings"):
                answer = await c.post(f"/hooks/mango/{ACCOUNT}/events/{d.event}", content=form_body(d.json),
                                      headers={"Content-Type": "application/x-www-form-urlencoded"})
                assert answer.status_code == 200, answer.text
            lead_id = await _only_lead(gateway.engine)
            change = await asyncio.wait_for(_until(_events(resp), lead_id), timeout=10)
            assert change["channel"] == "mango"
    finally:
        await runner.cleanup()


async def test_processing_in_a_thread_and_an_operator_decision_nudge_the_stream(tmp_path: Path) -> None:
    runner, gateway = await serve(make_settings(tmp_path, dispatch={**THREAD, "live_poll_seconds": NO_POLL}))
    try:
        async with gateway.client("anna") as c, c.stream("GET", "/api/v1/live", params={"since": _since()}) as resp:
            stream = _events(resp)
            lead = await gateway.lead("vera", name="Толчок", phone="+79160000052")
            await asyncio.wait_for(_until(stream, lead["id"], "unsorted"), timeout=10)
            assert (await c.post(f"/api/v1/unsorted/{lead['id']}/accept", json={})).status_code == 200
            await asyncio.wait_for(_until(stream, lead["id"], "accepted"), timeout=10)
    finally:
        await runner.cleanup()


async def test_a_change_nobody_announces_still_comes_by_the_poll(tmp_path: Path) -> None:
    runner, gateway = await serve(make_settings(tmp_path, dispatch={**THREAD, "live_poll_seconds": 0.3}))
    try:
        gateway.app[LEADS_CHANGED].clear()  # every nudge lost
        async with gateway.client("anna") as c, c.stream("GET", "/api/v1/live", params={"since": _since()}) as resp:
            lead = await gateway.lead("vera", name="Без толчка", phone="+79160000053")
            change = await asyncio.wait_for(_until(_events(resp), lead["id"], "unsorted"), timeout=10)
            assert (change["id"], change["status"]) == (lead["id"], "unsorted")
    finally:
        await runner.cleanup()


async def test_a_lead_from_a_gateway_worker_reaches_the_stream_through_redis(
        tmp_path: Path, pg_url: str, redis_server: RedisServer) -> None:
    """PostgreSQL, Redis, a separate `gateway worker`: the worker publishes, the server's subscription nudges."""
    queue = f"q-{uuid.uuid4().hex[:6]}"
    config = tmp_path / "gateway.toml"
    config.write_text(f'[dispatch]\nqueue = "{queue}"\nsweep_seconds = 0.5\nlive_poll_seconds = {NO_POLL}\n',
                      encoding="utf-8")
    settings = make_settings(tmp_path, config_file=config, database_url=pg_url, redis_url=redis_server.url)
    runner, gateway = await serve(settings)
    worker = start_worker({**worker_env(pg_url, redis_server.url, config), "GATEWAY_FILES_DIR": str(tmp_path)},
                          tmp_path / "worker.log")
    redis, channel = Redis.from_url(redis_server.url), changes_channel(settings)

    async def subscribed() -> bool:
        return bool(await asyncio.to_thread(lambda: dict(redis.pubsub_numsub(channel)).get(channel.encode())))

    try:
        await until(subscribed)  # the server listens before the worker can say anything
        async with gateway.client("anna") as c, c.stream("GET", "/api/v1/live", params={"since": _since()}) as resp:
            answer = await c.post("/api/v1/leads", json={"name": "Из очереди", "phone": "+79160000054"})
            assert answer.status_code == 202, answer.text
            lead_id = await _only_lead(gateway.engine)
            await asyncio.wait_for(_until(_events(resp), lead_id, "unsorted"), timeout=10)
    finally:
        redis.close()
        stop(worker)
        await runner.cleanup()
