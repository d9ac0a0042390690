"""The outbox runner: claims due jobs under a lease, hands each to its kind's performer, records the outcomes.

Any number of runners (in `gateway serve` processes, or `gateway deliver`) share one outbox: a
job is claimed by one of them at a time, and a runner that dies leaves its jobs to be claimed
again when their lease runs out. Each kind has its own number of slots, so a slow or
rate-limited kind never holds up another. Outcomes are written in groups: every outcome
waiting when the store is free goes into one transaction.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import structlog

from gateway.core.jobs import Dead, Done, JobOutcome, Performer, Retry, retry_delay
from gateway.store import outbox
from gateway.store.database import Database
from gateway.store.outbox import Recorded

__all__ = ["OutboxRunner"]

log = structlog.get_logger(__name__)
Clock = Callable[[], datetime]


class OutboxRunner:
    def __init__(self, db: Database, performers: Mapping[str, Performer], *,
                 clock: Clock = lambda: datetime.now(UTC), jitter: Callable[[], float] = random.random,
                 poll_s: float = 1.0, lease_s: float = 120.0,
                 on_outcome: Callable[[str, str, str], None] | None = None) -> None:
        self.db, self.performers, self.clock, self.jitter = db, dict(performers), clock, jitter
        self.poll_s, self.lease_s = poll_s, lease_s
        self._busy = dict.fromkeys(self.performers, 0)
        self._done: list[Recorded] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()  # a job finished, or someone woke us
        self._stopping = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self.on_outcome = on_outcome  # (kind, target, outcome): for /metrics

    # --- one round, also what tests drive ----------------------------------------------------
    async def run_once(self) -> int:
        """Claim what the free slots allow, perform it all, record the outcomes; how many were claimed."""
        claimed = await self._claim()
        await asyncio.gather(*(self._perform(row) for row in claimed))
        await self._flush()
        return len(claimed)

    async def _claim(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for kind, performer in self.performers.items():
            free = performer.concurrency - self._busy[kind]
            if free > 0:
                got = await self.db.write(outbox.claim_due, now=self.clock(), limit=free, lease_s=self.lease_s,
                                          kinds=[kind])
                self._busy[kind] += len(got)
                rows.extend(got)
        return rows

    async def _perform(self, row: dict[str, Any]) -> None:
        job = outbox.to_job(row)
        performer = self.performers[job.kind]
        try:
            outcome: JobOutcome = await performer.perform(job)
        except Exception as exc:  # a process boundary: one broken job must not stop the others
            log.exception("outbox.perform_crashed", kind=job.kind, job=job.id)
            outcome = Retry(f"internal error: {exc.__class__.__name__}")
        retry_in = None
        if isinstance(outcome, Retry):
            made = job.attempts + (1 if outcome.count else 0)
            exhausted = outcome.count and made > len(performer.delays)
            retry_in = None if exhausted else outcome.after if outcome.after is not None else retry_delay(
                performer.delays, max(made, 1), self.jitter())
        self._done.append(Recorded(row, outcome, retry_in))
        self._busy[job.kind] -= 1
        self._changed.set()

    async def _flush(self) -> None:
        if not self._done:
            return
        batch, self._done = self._done, []
        statuses = await self.db.write(outbox.record_outcomes, batch, now=self.clock())
        for rec, status in zip(batch, statuses, strict=True):
            self._log(rec, status)

    def _log(self, rec: Recorded, status: str | None) -> None:
        out, row = rec.outcome, rec.row
        outcome = "lost_lease" if status is None else "done" if isinstance(out, Done) else (
            "dead" if status == "dead" else "retry")
        if self.on_outcome is not None:
            self.on_outcome(row["kind"], row["target"], outcome)
        fields = {"kind": row["kind"], "job": row["id"], "event_type": row["event_type"],
                  "attempt": row["attempts"] + 1, "status": out.status_code}
        if isinstance(out, Done):
            log.info("outbox.done", **fields)
        elif isinstance(out, Retry | Dead):
            # the remote's answer may echo personal data: it stays in the job's row, not in the process log
            log.warning(f"outbox.{outcome}", **fields, retry_in=rec.retry_in)

    # --- the long-running service --------------------------------------------------------------
    def wake(self) -> None:
        """Something was queued: look now instead of at the next poll."""
        self._changed.set()

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                for row in await self._claim():
                    task = asyncio.create_task(self._perform(row))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                await self._flush()
            except Exception:  # a process boundary: the loop must outlive a failing store
                log.exception("outbox.loop_failed")
            self._changed.clear()
            if self._done:
                continue
            try:
                async with asyncio.timeout(self.poll_s):  # not wait_for: on 3.11 it may swallow a stop's cancel
                    await self._changed.wait()
            except TimeoutError:
                pass

    def start(self) -> None:
        self._loop_task = asyncio.create_task(self._loop(), name="outbox-runner")

    async def stop(self, grace_s: float = 10.0) -> None:
        self._stopping.set()
        self._changed.set()
        if self._loop_task is not None:
            await self._loop_task
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace_s)
            for task in set(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._flush()
