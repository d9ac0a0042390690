"""The outbox runner with performers of our own making: leases, backoff, waiting, dead letters, idempotency keys."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from gateway.core.jobs import Dead, Done, Job, JobOutcome, Retry
from gateway.delivery.runner import OutboxRunner
from gateway.store import outbox
from gateway.store.bootstrap import bootstrap
from gateway.store.database import Database
from gateway.store.db import make_engine
from gateway.store.schema import outbox as outbox_table
from tests.conftest import make_settings


@dataclass
class Scripted:
    """A performer that answers from a script, one answer per attempt, and remembers what it saw."""

    kind: str
    answers: list[JobOutcome | Callable[[Job], Any]] = field(default_factory=list)
    concurrency: int = 4
    delays: tuple[float, ...] = (30, 60)
    seen: list[Job] = field(default_factory=list)

    async def perform(self, job: Job) -> JobOutcome:
        self.seen.append(job)
        answer = self.answers.pop(0) if self.answers else Done()
        if callable(answer):
            result = answer(job)
            return await result if asyncio.iscoroutine(result) else result
        return answer


@dataclass
class Box:
    db: Database

    def enqueue(self, kind: str = "test", key: str | None = None, **kw: Any) -> str | None:
        with self.db.engine.begin() as conn:
            return outbox.enqueue_job(conn, kind=kind, target=kw.pop("target", "t"), key=key,
                                      event_type=kw.pop("event_type", "x"), payload=kw.pop("payload", {"n": 1}), **kw)

    def row(self, job_id: str) -> dict[str, Any]:
        with self.db.engine.connect() as conn:
            return dict(conn.execute(select(outbox_table).where(outbox_table.c.id == job_id)).mappings().one())

    def due_now(self, job_id: str) -> None:
        with self.db.engine.begin() as conn:
            conn.execute(outbox_table.update().where(outbox_table.c.id == job_id)
                         .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))


@pytest.fixture
async def box(database_url: str, tmp_path: Path) -> AsyncIterator[Box]:
    engine = make_engine(database_url)
    bootstrap(engine, make_settings(tmp_path, database_url=database_url))
    db = Database(engine)
    try:
        yield Box(db)
    finally:
        db.close()
        engine.dispose()


def runner(box: Box, *performers: Scripted, **kw: Any) -> OutboxRunner:
    return OutboxRunner(box.db, {p.kind: p for p in performers}, jitter=lambda: 0.5, **kw)


async def test_a_key_makes_a_repeated_decision_add_nothing(box: Box) -> None:
    first = box.enqueue(key="deal:42:v7:hot-lead")
    assert first is not None
    assert box.enqueue(key="deal:42:v7:hot-lead") is None
    assert box.enqueue(kind="other", key="deal:42:v7:hot-lead") is not None  # keys are per kind
    with box.db.engine.connect() as conn:
        assert len(outbox.jobs_for(conn, kind="test")) == 1


async def test_done_keeps_the_result_and_counts_one_attempt(box: Box) -> None:
    job_id = box.enqueue(lead_id=7)
    p = Scripted("test", [Done({"remote_id": "r-1"}, status_code=200)])
    assert await runner(box, p).run_once() == 1
    row = box.row(job_id)
    assert (row["status"], row["attempts"], row["result"], row["last_status"]) == ("done", 1, {"remote_id": "r-1"}, 200)
    assert p.seen[0].lead_id == 7 and p.seen[0].payload == {"n": 1} and p.seen[0].attempts == 0


async def test_a_retry_waits_the_kinds_backoff_and_keeps_its_state(box: Box) -> None:
    job_id = box.enqueue()
    p = Scripted("test", [Retry("timed out", state={"sent_request": "abc"}), Done()])
    before = datetime.now(UTC)
    await runner(box, p).run_once()
    row = box.row(job_id)
    assert (row["status"], row["attempts"], row["last_error"]) == ("pending", 1, "timed out")
    wait = (row["next_attempt_at"].replace(tzinfo=UTC) - before).total_seconds()
    assert 29 <= wait <= 40  # delays[0] = 30 s, jitter 0.5 keeps it at 30
    assert await runner(box, p).run_once() == 0  # not due yet
    box.due_now(job_id)
    await runner(box, p).run_once()
    assert p.seen[1].state == {"sent_request": "abc"} and p.seen[1].attempts == 1
    assert box.row(job_id)["status"] == "done"


async def test_retry_after_overrides_the_backoff(box: Box) -> None:
    job_id = box.enqueue()
    before = datetime.now(UTC)
    await runner(box, Scripted("test", [Retry("429", after=3, status_code=429)])).run_once()
    row = box.row(job_id)
    wait = (row["next_attempt_at"].replace(tzinfo=UTC) - before).total_seconds()
    assert 2.5 <= wait <= 5 and row["last_status"] == 429


async def test_waiting_for_something_else_uses_no_attempt(box: Box) -> None:
    job_id = box.enqueue()
    await runner(box, Scripted("test", [Retry("the parent is not delivered yet", after=0.5, count=False)])).run_once()
    row = box.row(job_id)
    assert (row["status"], row["attempts"]) == ("pending", 0)


async def test_attempts_run_out_and_the_job_is_dead(box: Box) -> None:
    job_id = box.enqueue()
    p = Scripted("test", [Retry("503"), Retry("503"), Retry("503")], delays=(0, 0))
    for _ in range(3):
        box.due_now(job_id)
        await runner(box, p).run_once()
    row = box.row(job_id)
    assert (row["status"], row["attempts"]) == ("dead", 3)
    assert len(p.seen) == 3


async def test_a_permanent_refusal_is_dead_at_once_and_replay_brings_it_back(box: Box) -> None:
    job_id = box.enqueue()
    p = Scripted("test", [Dead("400: name is required", status_code=400), Done()])
    await runner(box, p).run_once()
    row = box.row(job_id)
    assert (row["status"], row["attempts"], row["last_error"]) == ("dead", 1, "400: name is required")
    with box.db.engine.begin() as conn:
        assert outbox.replay(conn, job_id, now=datetime.now(UTC))
    await runner(box, p).run_once()
    assert box.row(job_id)["status"] == "done"


async def test_a_crashing_performer_is_a_retry_not_a_dead_loop(box: Box) -> None:
    job_id = box.enqueue()

    def boom(job: Job) -> JobOutcome:
        raise RuntimeError("bug")

    await runner(box, Scripted("test", [boom])).run_once()
    row = box.row(job_id)
    assert (row["status"], row["attempts"]) == ("pending", 1)
    assert "RuntimeError" in row["last_error"]


async def test_only_kinds_with_a_performer_are_claimed(box: Box) -> None:
    mine, theirs = box.enqueue(kind="test"), box.enqueue(kind="elsewhere")
    await runner(box, Scripted("test")).run_once()
    assert box.row(mine)["status"] == "done" and box.row(theirs)["status"] == "pending"


async def test_a_slow_kind_does_not_hold_up_another(box: Box) -> None:
    gate = asyncio.Event()

    async def stuck(job: Job) -> JobOutcome:
        await gate.wait()
        return Done()

    slow = Scripted("slow", [stuck], concurrency=1)
    fast = Scripted("fast", concurrency=2)
    slow_id = box.enqueue(kind="slow")
    r = runner(box, slow, fast, poll_s=0.02)
    r.start()
    try:
        await asyncio.sleep(0.2)  # the slow job is claimed and stuck
        fast_ids = [box.enqueue(kind="fast") for _ in range(5)]
        r.wake()
        for _ in range(200):
            if all(box.row(i)["status"] == "done" for i in fast_ids):
                break
            await asyncio.sleep(0.02)
        assert [box.row(i)["status"] for i in fast_ids] == ["done"] * 5
        assert box.row(slow_id)["status"] == "sending"
        gate.set()
    finally:
        await r.stop()
    assert box.row(slow_id)["status"] == "done"


async def test_two_runners_never_perform_a_job_twice(box: Box) -> None:
    ids = [box.enqueue(payload={"n": i}) for i in range(40)]
    a, b = Scripted("test", concurrency=3), Scripted("test", concurrency=3)
    ra, rb = runner(box, a), runner(box, b)
    for _ in range(20):
        await asyncio.gather(ra.run_once(), rb.run_once())
    assert {box.row(i)["status"] for i in ids} == {"done"}
    performed = sorted(j.id for j in [*a.seen, *b.seen])
    assert performed == sorted(ids)  # each exactly once


async def test_outcomes_are_counted_for_the_metrics(box: Box) -> None:
    box.enqueue(target="amo")
    box.enqueue(target="amo")
    counted: list[tuple[str, str, str]] = []
    p = Scripted("test", [Done(), Dead("no")])
    await runner(box, p, on_outcome=lambda *a: counted.append(a)).run_once()
    assert sorted(counted) == [("test", "amo", "dead"), ("test", "amo", "done")]
