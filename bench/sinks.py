"""Deliveries a second to a local amoCRM that answers in 50 ms: the 7-a-second limit lifted, then kept.

    .venv/bin/python bench/sinks.py [--leads 2000] [--concurrency 64] [--latency-ms 50] [--db sqlite|postgresql]
        [--kept-seconds 10]

The fake amoCRM (tests/sinks/fake_amocrm.py) runs in its own process. Leads are stored through the
real pipeline first (not timed); then one outbox runner, as `gateway deliver` runs it, delivers them.

* lifted: the fake has no limit and ours is lifted; printed are deliveries/s and the ratio against a
  baseline measured in the same run: the same HTTP requests (a contact lookup and an Unsorted item per
  lead) sent straight with httpx at the same concurrency, without the store, the outbox or the mapping.
  The gap is our overhead per delivery.
* kept: the fake refuses more than 7 requests a second with 429, and ours is the default 7; printed are
  deliveries/s, requests/s and the number of 429s (the goal: at the limit, zero 429s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import socket
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from sqlalchemy import func, select

from bench.common import postgres_url, sqlite_url
from gateway.connectors.base import NewEvent
from gateway.store.schema import outbox

AUTH = {"Authorization": "Bearer long-lived-token"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fake(port: int, rate: int | None, latency_s: float, stats: Any) -> None:
    import uvloop
    from aiohttp import web

    from tests.sinks.fake_amocrm import FakeAmo

    fake = FakeAmo(rate_limit=rate, latency_s=latency_s)
    fake.url = f"http://127.0.0.1:{port}"

    async def report(request: web.Request) -> web.Response:
        return web.json_response({"too_many": fake.too_many, "requests": len(fake.requests),
                                  "unsorted": len(fake.unsorted)})

    app = fake.app()
    app.router.add_get("/bench/stats", report)
    uvloop.install()
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


class Fake:
    def __init__(self, rate: int | None, latency_s: float) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = multiprocessing.get_context("spawn").Process(target=_fake, args=(self.port, rate, latency_s, None),
                                                                 daemon=True)

    def __enter__(self) -> Fake:
        self.proc.start()
        for _ in range(200):
            try:
                httpx.get(self.url + "/bench/stats", timeout=0.5, headers=AUTH)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("the fake amoCRM did not start")

    def stats(self) -> dict[str, int]:
        return dict(httpx.get(self.url + "/bench/stats", timeout=5, headers=AUTH).json())

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.join(5)


def _settings(db_url: str, tmp: Path, amo_url: str, rate: float | None, concurrency: int) -> Any:
    from gateway.config import load_settings

    return load_settings(None, database_url=db_url, files_dir=tmp / "files",
                         http={"allow_private_outbound": True, "outbound_timeout_seconds": 10},
                         sinks={"amocrm": [{"name": "amo", "base_url": amo_url, "token": "long-lived-token",
                                            "rate_per_second": rate, "concurrency": concurrency}]})


def _store_leads(settings: Any, n: int) -> Any:
    from gateway.dispatch.runtime import build_runtime
    from gateway.store import event_log
    from gateway.store.bootstrap import bootstrap

    runtime = build_runtime(settings)
    bootstrap(runtime.engine, settings)
    run = uuid.uuid4().hex[:6]
    events = [NewEvent(connector="manual", account="bench", key=f"{run}-{i}", name="lead",
                       received_at=datetime.now(UTC),
                       body=json.dumps({"name": f"Клиент {i}", "phone": f"+7916{i:07d}"}).encode()) for i in range(n)]
    with runtime.engine.begin() as conn:
        event_log.append(conn, events)
    while runtime.processor.run_batch("bench").claimed:
        pass
    return runtime


async def _deliver(settings: Any, runtime: Any, n: int, seconds: float | None) -> tuple[int, float]:
    """Run one outbox runner; (deliveries done, seconds) when all n are done or `seconds` passed."""
    from gateway.delivery.registry import build_performers
    from gateway.delivery.runner import OutboxRunner
    from gateway.egress import AsyncOutboundClient
    from gateway.store.database import Database

    db = Database(runtime.engine, threads=8)
    http = AsyncOutboundClient(settings.http.outbound_policy())
    runner = OutboxRunner(db, build_performers(settings, http, db), poll_s=0.05)

    def done(conn: Any) -> int:
        return int(conn.execute(select(func.count()).select_from(outbox).where(outbox.c.status == "done")).scalar_one())

    start = time.perf_counter()
    runner.start()
    finished = 0
    while True:
        await asyncio.sleep(0.2)
        finished = await db.read(done)
        elapsed = time.perf_counter() - start
        if finished >= n or (seconds is not None and elapsed >= seconds):
            break
    await runner.stop()
    await http.aclose()
    db.close()
    return finished, time.perf_counter() - start


async def _baseline(url: str, n: int, concurrency: int) -> float:
    """The same two requests per lead, straight with httpx: deliveries a second without us."""
    sem = asyncio.Semaphore(concurrency)
    headers = {"Authorization": "Bearer long-lived-token"}
    async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=concurrency)) as client:
        async def one(i: int) -> None:
            async with sem:
                await client.get(f"{url}/api/v4/contacts", params={"query": f"8{i:09d}", "limit": 50}, headers=headers)
                item = {"source_uid": f"b{i}", "source_name": "bench", "metadata": {
                    "form_id": "f", "form_name": "f", "form_page": "", "form_sent_at": 1},
                    "_embedded": {"leads": [{"name": f"lead {i}"}]}}
                await client.post(f"{url}/api/v4/leads/unsorted/forms", json=[item], headers=headers)
        start = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(n)))
        return n / (time.perf_counter() - start)


def run(db: str, leads: int, concurrency: int, latency_s: float, kept_seconds: float) -> None:
    import tempfile

    with (sqlite_url() if db == "sqlite" else postgres_url()) as url, tempfile.TemporaryDirectory() as tmp:
        with Fake(None, latency_s) as fake:
            baseline = asyncio.run(_baseline(fake.url, leads, concurrency))
        with Fake(None, latency_s) as fake:
            settings = _settings(url, Path(tmp), fake.url, None, concurrency)
            runtime = _store_leads(settings, leads)
            done, secs = asyncio.run(_deliver(settings, runtime, leads, None))
            ours = done / secs
            print(f"lifted  {db:10} concurrency {concurrency:3}: {done} deliveries in {secs:.1f} s = {ours:7.1f}/s; "
                  f"baseline (bare httpx, same requests) {baseline:7.1f}/s; ratio {ours / baseline:.2f}; "
                  f"fake saw {fake.stats()['requests']} requests")
            runtime.close()
    with (sqlite_url() if db == "sqlite" else postgres_url()) as url, tempfile.TemporaryDirectory() as tmp:
        with Fake(7, latency_s) as fake:
            settings = _settings(url, Path(tmp), fake.url, 7, 8)  # the default concurrency
            runtime = _store_leads(settings, leads)
            done, secs = asyncio.run(_deliver(settings, runtime, leads, kept_seconds))
            st = fake.stats()
            print(f"kept    {db:10} limit 7/s: {done} deliveries in {secs:.1f} s = {done / secs:5.2f}/s, "
                  f"{st['requests'] / secs:5.2f} requests/s; 429 answers: {st['too_many']}")
            runtime.close()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--leads", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--latency-ms", type=float, default=50)
    p.add_argument("--db", default="sqlite", choices=["sqlite", "postgresql"])
    p.add_argument("--kept-seconds", type=float, default=10)
    a = p.parse_args()
    run(a.db, a.leads, a.concurrency, a.latency_ms / 1000, a.kept_seconds)


if __name__ == "__main__":
    main()
