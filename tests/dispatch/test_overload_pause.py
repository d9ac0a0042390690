"""Under overload the embedded worker leaves the store to the edge a while before each of its turns.

The edge's writer tells the gate how many requests each group commit holds (0 when none wait); the worker pauses
before a turn only while that number says acknowledgements are queuing. The pause is recorded, not timed.
"""

from __future__ import annotations

import asyncio
import multiprocessing
from datetime import UTC, datetime
from pathlib import Path

from gateway.connectors.base import NewEvent
from gateway.dispatch.gate import BUSY_REQUESTS, CALM_REQUESTS, WriteGate
from gateway.http.writer import EventWriter
from gateway.store.bootstrap import migrate
from gateway.store.db import make_engine


def gate_with(pauses: list[float], pause_s: float = 0.1) -> WriteGate:
    return WriteGate(multiprocessing.get_context("spawn"), overload_pause_s=pause_s, sleep=pauses.append)


def test_the_worker_pauses_before_its_turn_only_while_the_edge_is_overloaded() -> None:
    pauses: list[float] = []
    gate = gate_with(pauses)
    seen = []
    for requests in (0, 1, BUSY_REQUESTS - 1, BUSY_REQUESTS, 500, BUSY_REQUESTS - 1, CALM_REQUESTS + 1,
                     CALM_REQUESTS, BUSY_REQUESTS - 1, 0):
        gate.edge_load(requests)
        before = len(pauses)
        with gate.worker():
            pass
        with gate.edge():  # the edge's turn is never paused
            pass
        seen.append((requests, len(pauses) - before))
    # overloaded from a commit of BUSY_REQUESTS on, until one of CALM_REQUESTS or fewer
    assert seen == [(0, 0), (1, 0), (BUSY_REQUESTS - 1, 0), (BUSY_REQUESTS, 1), (500, 1), (BUSY_REQUESTS - 1, 1),
                    (CALM_REQUESTS + 1, 1), (CALM_REQUESTS, 0), (BUSY_REQUESTS - 1, 0), (0, 0)]
    assert pauses == [0.1] * 4
    assert not gate.edge_overloaded()


def test_no_pause_is_taken_when_the_setting_is_zero() -> None:
    pauses: list[float] = []
    gate = gate_with(pauses, pause_s=0.0)
    gate.edge_load(1000)
    with gate.worker():
        pass
    assert gate.edge_overloaded() and pauses == []


async def idle_reported(told: list[int]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 15
    while not told or told[-1] != 0:
        assert loop.time() < deadline, f"the writer did not say it is idle: {told}"
        await asyncio.sleep(0.01)


async def test_the_writer_tells_how_many_requests_each_commit_holds_and_when_none_wait(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/gateway.db")
    migrate(engine)
    told: list[int] = []
    writer = EventWriter(engine, on_batch=told.append, max_batch=40)
    received = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        waiting = [writer.submit([NewEvent("manual", "main", f"k{n}", b"{}", received, "lead")]) for n in range(50)]
        await writer.start()  # fifty requests waiting: a commit of forty, one of ten, then idle
        await asyncio.gather(*waiting)
        await idle_reported(told)
        assert told == [40, 10, 0]
        await writer.store([NewEvent("manual", "main", "k-last", b"{}", received, "lead")])
        await idle_reported(told)
        assert told == [40, 10, 0, 1, 0]
    finally:
        await writer.stop()
        engine.dispose()
