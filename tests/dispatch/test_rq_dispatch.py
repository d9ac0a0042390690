"""Dispatch through Redis and rq with real worker processes, real PostgreSQL and a real redis-server.

These are the failures RELIABILITY.md lists: concurrent workers meeting one new person,
a worker killed in the middle of a batch, Redis flushed or restarted while events wait.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from redis import Redis
from sqlalchemy import func, select

from gateway.config import load_settings
from gateway.connectors.base import NewEvent
from gateway.dispatch.rq_dispatch import sweep_once
from gateway.store import event_log
from gateway.store.bootstrap import bootstrap
from gateway.store.db import make_engine
from gateway.store.schema import contacts, leads
from tests.conftest import RedisServer
from tests.dispatch.workers import kill9, start_worker, status_counts, stop, wait_until, worker_env, write_config

pytestmark = pytest.mark.slow

SPELLINGS = ["+79161234567", "89161234567", "79161234567", "9161234567", "8 (916) 123-45-67", "+7 916 123 45 67",
             "+7(916)123-45-67", "8-916-123-45-67", "+7 (916) 123-45-67 доб. 5", "8 10 7 916 1234567"]


def manual(key: str, **body: Any) -> NewEvent:
    return NewEvent(connector="manual", account="t", key=key, body=json.dumps(body).encode(),
                    received_at=datetime.now(UTC))


@pytest.fixture
def setup(tmp_path: Path, pg_url: str, redis_server: RedisServer) -> Any:
    config = write_config(tmp_path / "gateway.toml", queue=f"q-{uuid.uuid4().hex[:6]}")
    settings = load_settings(config, database_url=pg_url, redis_url=redis_server.url)
    engine = make_engine(pg_url)
    bootstrap(engine, settings)
    env = worker_env(pg_url, redis_server.url, config)
    procs: list[Any] = []
    yield settings, engine, env, procs, redis_server
    for p in procs:
        stop(p)
    engine.dispose()


def store(engine: Any, evs: list[NewEvent]) -> None:
    with engine.begin() as conn:
        event_log.append(conn, evs)


def test_fifty_concurrent_spellings_make_one_contact(setup: Any, tmp_path: Path) -> None:
    settings, engine, env, procs, redis_server = setup
    # Small batches, several workers: the same new person reaches several workers at once.
    cfg = write_config(tmp_path / "small.toml", batch=2, queue=settings.dispatch.queue)
    env = {**env, "GATEWAY_CONFIG": str(cfg)}
    store(engine, [manual(f"k{i}", phone=SPELLINGS[i % len(SPELLINGS)], name=f"n{i}") for i in range(50)])
    procs.extend(start_worker(env, tmp_path / f"w{i}.log") for i in range(4))
    sweep_once(load_settings(cfg, database_url=settings.database_url), engine, Redis.from_url(redis_server.url))
    wait_until(lambda: status_counts(engine).get("done") == 50, 120, "50 events done")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(contacts)).scalar() == 1
        qualities = [q for (q,) in conn.execute(select(leads.c.quality))]
        statuses = [s for (s,) in conn.execute(select(leads.c.status))]
    assert len(qualities) == 50
    assert qualities.count("unverified") == 1 and qualities.count("repeat") == 49  # no source: not an ad's target
    assert statuses.count("unsorted") == 1 and statuses.count("attached") == 49


def test_worker_killed_mid_batch_loses_and_doubles_nothing(setup: Any, tmp_path: Path) -> None:
    settings, engine, env, procs, redis_server = setup
    n = 2000
    store(engine, [manual(f"k{i}", phone=f"+7916{i:07d}") for i in range(n)])
    first = start_worker(env, tmp_path / "w1.log")
    procs.append(first)
    sweep_once(settings, engine, Redis.from_url(redis_server.url))
    wait_until(lambda: status_counts(engine).get("processing", 0) > 0, 60, "a batch in progress")
    kill9(first)  # the worker and its work: nothing runs its cleanup
    counts = status_counts(engine)
    assert counts.get("done", 0) < n, "the kill came too late to test anything"
    procs.extend(start_worker(env, tmp_path / f"w{i}.log") for i in range(2, 4))
    wait_until(lambda: status_counts(engine).get("done") == n, 180, "every event done after the restart")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(leads)).scalar() == n
        assert conn.execute(select(func.count(func.distinct(leads.c.key)))).scalar() == n
        assert conn.execute(select(func.count()).select_from(contacts)).scalar() == n


def test_redis_flushed_or_restarted_loses_nothing(setup: Any, tmp_path: Path) -> None:
    settings, engine, env, procs, redis_server = setup
    redis = Redis.from_url(redis_server.url)
    store(engine, [manual(f"a{i}", phone=f"+7903{i:07d}") for i in range(300)])
    assert sweep_once(settings, engine, redis) > 0
    redis.flushall()  # every queued job is gone; the events wait in the store
    redis_server.kill()
    redis_server.start()  # an empty Redis, as after a restart without persistence
    store(engine, [manual(f"b{i}", phone=f"+7905{i:07d}") for i in range(300)])
    procs.append(start_worker(env, tmp_path / "w.log"))  # its sweeper re-dispatches
    wait_until(lambda: status_counts(engine).get("done") == 600, 120, "600 events done")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(leads)).scalar() == 600


async def test_serve_with_redis_dispatches_to_a_worker_process(setup: Any, tmp_path: Path) -> None:
    """`gateway serve` with GATEWAY_REDIS_URL: the request path enqueues nothing itself; a worker processes."""
    import httpx

    from tests.conftest import start_server

    settings, _engine, env, procs, _redis = setup
    procs.append(start_worker(env, tmp_path / "w.log"))
    runner, srv = await start_server(settings)
    try:
        async with httpx.AsyncClient() as client:
            r = await client.post(f"{srv.url}/api/v1/leads?wait=1", json={"phone": "89161234567"},
                                  headers=srv.headers(), timeout=30)
            assert r.status_code == 201, r.text
            assert r.json()["lead"]["status"] == "unsorted"
    finally:
        await runner.cleanup()


def test_a_worker_builds_its_runtime_before_its_first_job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`gateway worker` warms up before it takes jobs: the first job after a start uses that runtime instead of
    building one while events wait (measured: the first second of a run piled 378 events behind it)."""
    from gateway.dispatch import jobs

    config = write_config(tmp_path / "gateway.toml")
    monkeypatch.setenv("GATEWAY_CONFIG", str(config))
    monkeypatch.setenv("GATEWAY_DATABASE_URL", f"sqlite:///{tmp_path}/gateway.db")
    settings = load_settings()
    bootstrap(make_engine(settings.database_url), settings)
    monkeypatch.setattr(jobs, "_RUNTIME", jobs.WorkerRuntime())
    jobs.warm_up(settings)
    built = jobs._RUNTIME._runtime
    assert built is not None
    assert jobs.process_pending(max_seconds=1) == {"claimed": 0, "done": 0, "failed": 0, "dead": 0}
    assert jobs._RUNTIME._runtime is built  # the job (loading the same settings) found it ready
    built.close()
