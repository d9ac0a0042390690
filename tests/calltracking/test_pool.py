"""The pool on both stores: a number goes back `hold_minutes` after the last heartbeat, never to two visitors."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from gateway.calltracking import pool
from gateway.config.calltracking import SiteSettings
from gateway.http.keys import DB
from gateway.store.bootstrap import migrate
from gateway.store.db import make_engine
from gateway.store.schema import ct_numbers, ct_sessions
from tests.calltracking.conftest import DEFAULT, POOL, ask, client, site, tracked_settings, visitor
from tests.conftest import start_server

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_an_idle_visitors_number_goes_back_after_hold_minutes_and_a_heartbeat_defers_it(database_url: str) -> None:
    conf = SiteSettings.model_validate(site(pool=POOL[:1], hold_minutes=10))
    engine = make_engine(database_url)
    try:
        migrate(engine)
        with engine.begin() as conn:
            pool.sync_pool(conn, conf)
            a = pool.give_number(conn, conf, pool.Visit(visitor(1)), T0)
            kept = pool.keep_alive(conn, conf, a.session_id, None, T0 + timedelta(minutes=8))
            waiting = pool.give_number(conn, conf, pool.Visit(visitor(2)), T0 + timedelta(minutes=12))
            # held 10 minutes after the last sign of life, and 5 % more (30 s here)
            still = pool.give_number(conn, conf, pool.Visit(visitor(2)), T0 + timedelta(minutes=18, seconds=29))
            freed = pool.give_number(conn, conf, pool.Visit(visitor(2)), T0 + timedelta(minutes=18, seconds=31))
            late = pool.keep_alive(conn, conf, a.session_id, None, T0 + timedelta(minutes=18, seconds=32))
            holder = conn.execute(select(ct_numbers.c.session_id)).scalar()
    finally:
        engine.dispose()
    assert a.number == POOL[0] and kept is not None and kept.held_until == T0 + timedelta(minutes=18, seconds=30)
    assert (waiting.number, still.number) == (None, None) and waiting.session_id == still.session_id
    assert freed.number == POOL[0] and freed.session_id != waiting.session_id
    assert late is None and holder == freed.session_id


def test_the_number_released_longest_ago_is_given_first(database_url: str) -> None:
    conf = SiteSettings.model_validate(site(pool=POOL[:3], hold_minutes=2))
    engine = make_engine(database_url)
    try:
        migrate(engine)
        with engine.begin() as conn:
            pool.sync_pool(conn, conf)
            held = [pool.give_number(conn, conf, pool.Visit(visitor(n)), T0) for n in range(3)]
            pool.keep_alive(conn, conf, held[0].session_id, None, T0 + timedelta(minutes=1.5))  # free at 3.5
            pool.keep_alive(conn, conf, held[1].session_id, None, T0 + timedelta(minutes=1))  # free at 3
            given = pool.give_number(conn, conf, pool.Visit(visitor(4)), T0 + timedelta(minutes=10)).number
    finally:
        engine.dispose()
    assert [h.number for h in held] == POOL[:3] and given == POOL[2]  # free since minute 2


async def test_concurrent_visitors_on_postgresql_never_share_a_number(pg_url: str, tmp_path: Path) -> None:
    runner, srv = await start_server(tracked_settings(tmp_path, database_url=pg_url, pool=POOL))
    try:
        async with client(srv) as c:
            answers = await asyncio.gather(*(ask(c, visitor(n)) for n in range(60)))
            again = await asyncio.gather(*(ask(c, visitor(n)) for n in range(60)))
        with srv.app[DB].engine.connect() as conn:
            held = conn.execute(select(ct_numbers.c.number, ct_numbers.c.session_id)).all()
            sessions = dict(conn.execute(select(ct_sessions.c.id, ct_sessions.c.number)
                                         .where(ct_sessions.c.number.is_not(None))).all())
    finally:
        await runner.cleanup()
    numbers = [r.json()["number"] for r in answers]
    given = Counter(n for n in numbers if n != DEFAULT)
    assert sorted(given) == sorted(POOL) and set(given.values()) == {1}
    assert numbers.count(DEFAULT) == 40
    assert {sessions[sid] for _, sid in held} == set(POOL) and len({sid for _, sid in held}) == 20
    assert [r.json()["number"] for r in again if r.json()["number"] != DEFAULT] == \
        [n for n in numbers if n != DEFAULT]  # the holders keep theirs on reload


def test_transactions_racing_for_numbers_on_postgresql_never_share_one(pg_url: str) -> None:
    """40 transactions at once, each started before any has claimed: 20 get distinct numbers, 20 get none."""
    import threading

    conf = SiteSettings.model_validate(site(pool=POOL))
    engine = make_engine(pg_url, pool_size=40)
    start = threading.Barrier(40)
    got: list[str | None] = []

    def claim(n: int) -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql("SELECT 1")
            start.wait()
            got.append(pool.give_number(conn, conf, pool.Visit(visitor(n)), T0).number)

    try:
        migrate(engine)
        with engine.begin() as conn:
            pool.sync_pool(conn, conf)
        threads = [threading.Thread(target=claim, args=(n,)) for n in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        engine.dispose()
    numbers = [n for n in got if n is not None]
    assert len(got) == 40 and sorted(numbers) == sorted(POOL) and got.count(None) == 20
