"""The server's own writes (an operator's action, a call-tracking visit) take the edge's side of the embedded write
gate: the worker, which may hold SQLite's write lock for a long turn while nobody waits, hears them wait and
gives way, instead of leaving them to SQLite's busy handler."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import Connection, Engine, func, select

from gateway.calltracking.batch import WriteBatcher
from gateway.dispatch.gate import WriteGate
from gateway.store.bootstrap import bootstrap
from gateway.store.database import Database
from gateway.store.db import make_engine
from gateway.store.schema import users
from tests.conftest import make_settings


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path}/gateway.db"
    eng = make_engine(url, pool_size=2)
    bootstrap(eng, make_settings(tmp_path, database_url=url))
    yield eng
    eng.dispose()


def _count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(users)).scalar_one())


def _heard_while_the_worker_holds_the_gate(gate: WriteGate, write: threading.Thread) -> tuple[bool, bool]:
    """Start `write` while the worker holds the gate: (whether the worker heard it wait, whether it waited)."""
    with gate.worker():
        write.start()
        heard = False
        for _ in range(500):
            if heard := gate.edge_waiting():
                break
            threading.Event().wait(0.01)
        waited = write.is_alive()
    write.join(10)
    return heard, waited


def test_an_operators_write_waits_at_the_gate_where_the_worker_hears_it(engine: Engine) -> None:
    gate = WriteGate(multiprocessing.get_context("spawn"))
    db = Database(engine, write_turn=gate.edge)
    seen: list[int] = []
    write = threading.Thread(target=lambda: seen.append(asyncio.run(db.write(_count))))
    heard, waited = _heard_while_the_worker_holds_the_gate(gate, write)
    db.close()
    assert heard and waited
    assert seen == [0]  # it went ahead once the worker let go (no users yet)
    assert not gate.edge_waiting()


def test_a_call_tracking_commit_waits_at_the_gate_where_the_worker_hears_it(engine: Engine) -> None:
    gate = WriteGate(multiprocessing.get_context("spawn"))
    batcher = WriteBatcher(engine, write_turn=gate.edge)
    batcher.start()
    seen: list[int] = []

    async def one() -> None:
        seen.append(await batcher.run(_count))

    write = threading.Thread(target=lambda: asyncio.run(one()))
    heard, waited = _heard_while_the_worker_holds_the_gate(gate, write)
    batcher.stop()
    assert heard and waited
    assert seen == [0]


async def test_the_embedded_servers_writes_take_the_edges_side_of_the_gate(tmp_path: Path) -> None:
    from gateway.app import create_app
    from gateway.http.keys import DB, DISPATCHER

    app = create_app(make_settings(tmp_path))
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        dispatcher = app[DISPATCHER]
        assert dispatcher.gate is not None
        assert app[DB].write_turn == dispatcher.edge_turn
    finally:
        await runner.cleanup()
