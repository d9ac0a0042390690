"""The embedded worker's loop: once caught up, the next batch gathers for `dispatch.gather_ms`; wake-ups are read
whether it is busy or idle."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from gateway.dispatch import embedded
from gateway.dispatch.embedded import work
from gateway.dispatch.processor import BatchReport
from gateway.http.keys import DB
from gateway.store import event_log
from gateway.store.schema import events
from tests.conftest import make_settings, start_server

LEADS = 60


async def _transactions_for_a_steady_flow(tmp_path: Path, gather_ms: float) -> tuple[int, float]:
    """Leads posted one after another to the gateway with its worker process; how many processing transactions
    stored them (events done in one share its time) and the seconds from the first post to the last done."""
    settings = make_settings(tmp_path, dispatch={"embedded_worker": "process", "gather_ms": gather_ms})
    runner, server = await start_server(settings)
    try:
        engine = server.app[DB].engine
        async with httpx.AsyncClient() as client:

            async def post(phone: str) -> None:
                answer = await client.post(f"{server.url}/api/v1/leads", json={"phone": phone},
                                           headers=server.headers())
                assert answer.status_code == 202

            async def done(n: int) -> None:
                for _ in range(600):
                    with engine.connect() as conn:
                        if event_log.count_by_status(conn).get("done") == n:
                            return
                    await asyncio.sleep(0.02)

            await post("+79030000000")  # the worker process is up and idle before the flow begins
            await done(1)
            started = time.monotonic()
            for i in range(LEADS):
                await post(f"+7916{i:07d}")
                await asyncio.sleep(0.005)  # a steady flow, not a burst
            await done(1 + LEADS)
        span = time.monotonic() - started
        with engine.connect() as conn:
            assert event_log.count_by_status(conn) == {"done": 1 + LEADS}
            commits = conn.execute(select(func.count(func.distinct(events.c.processed_at)))).scalar_one() - 1
        return commits, span
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("gather_ms", [150])
async def test_a_steady_flow_is_processed_in_batches_that_gathered(tmp_path: Path, gather_ms: float) -> None:
    """Each claim after a short batch waits `gather_ms`: the leads of a steady flow are stored by at most two
    transactions (a transaction may end early for the edge waiting to store) for each such wait in the time they
    took, however fast the machine; without the wait, the worker took them a few at a time."""
    commits, span = await _transactions_for_a_steady_flow(tmp_path, gather_ms)
    assert commits <= 2 * (span / (gather_ms / 1000) + 2), (commits, span)


class Script:
    """The worker loop's batches, as a test plays them: the claims it returns, in order, and what the server does
    meanwhile (its wake-ups, a stop); whether anything was left unread on the pipe when each claim began. The loop
    ends when the script does."""

    def __init__(self, claims: list[int], during: dict[int, list[bytes]], pipe: tuple[Connection, Connection]) -> None:
        self.claims, self.during = claims, during
        self.wake, self.send = pipe
        self.unread: list[bool] = []

    def run_batch(self) -> BatchReport:
        self.unread.append(self.wake.poll(0))
        for message in self.during.get(len(self.unread) - 1, []):
            self.send.send_bytes(message)
        claimed = self.claims[len(self.unread) - 1]
        return BatchReport(claimed=claimed, done=claimed)

    def alive(self) -> bool:
        return len(self.unread) < len(self.claims)

    def play(self) -> list[int]:
        counted: list[BatchReport] = []
        work(self.run_batch, self.wake, counted.append, batch_size=10, gather_s=0.02, idle_s=0.01, alive=self.alive)
        return [r.claimed for r in counted]


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The loop's waits, recorded instead of slept."""
    waited: list[float] = []
    monkeypatch.setattr(embedded.time, "sleep", waited.append)
    return waited


def test_a_busy_worker_reads_the_wake_ups_before_every_claim(sleeps: list[float]) -> None:
    """A worker that never goes idle, working off a backlog (full batches) or a steady flow (short ones), reads the
    server's wake-ups before each claim: left on the pipe, they filled it, and the server's next wake-up blocked
    its event loop. A short batch lets the next one gather; a full one is followed at once."""
    script = Script([10] * 20 + [3] * 20, {i: [b"w"] * 5 for i in range(40)}, multiprocessing.Pipe(duplex=False))
    assert script.play() == [10] * 20 + [3] * 20
    assert script.unread == [False] * 40
    assert sleeps == [0.02] * 20


def test_a_stop_is_heard_while_the_worker_is_busy(sleeps: list[float]) -> None:
    """A stop asked while the worker works off a backlog ends the loop before its next claim."""
    script = Script([10] * 8, {3: [b"w", b"stop"]}, multiprocessing.Pipe(duplex=False))
    assert script.play() == [10] * 4
    assert sleeps == []


def test_an_idle_worker_waits_for_a_wake_up_and_lets_the_batch_gather(sleeps: list[float]) -> None:
    """An empty claim: the worker waits on the pipe (at most `idle_s`), and once woken lets the next batch gather."""
    script = Script([0, 0, 2], {0: [b"w"]}, multiprocessing.Pipe(duplex=False))
    assert script.play() == [0, 0, 2]
    assert script.unread == [False, False, False]
    assert sleeps == [0.02, 0.02]  # woken after the first claim; nothing after the second (idle_s); the short batch


def test_the_server_never_waits_to_wake_the_worker(tmp_path: Path) -> None:
    """The server's wake-ups go to a pipe the worker reads before each claim; if it does not read them for a while
    (a long batch; no worker started, as a benchmark of the edge alone runs it), a full pipe drops them instead of
    blocking the server's event loop (13,104 unread filled it, and the server stopped answering)."""
    dispatcher = embedded.EmbeddedDispatcher(make_settings(tmp_path, dispatch={"embedded_worker": "process"}))
    sender = threading.Thread(target=lambda: [dispatcher._send_wake() for _ in range(20_000)], daemon=True)
    sender.start()
    sender.join(10)
    assert not sender.is_alive()
    assert dispatcher._recv.poll(0)  # what fitted is there for the worker to read
