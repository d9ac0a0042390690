"""Outbound work: a job taken from the outbox, and what its performer answers.

Everything the gateway does to the outside world after a lead exists (a signed webhook, a
trigger's action, a delivery to another CRM, a PBX command, a mail reply) is a *job*: a row
written in the transaction that decided it, with an idempotency key, claimed under a lease
and handed to the *performer* of its kind. The performer answers `Done`, `Retry` or `Dead`;
the runner records that and schedules what follows. A performer never writes the job's
status itself, so one mechanism owns leases, backoff, dead letters and replay.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

__all__ = ["Dead", "Done", "Job", "JobOutcome", "Performer", "Retry", "retry_delay"]


@dataclass(frozen=True, slots=True)
class Job:
    """One unit of outbound work as the performer sees it."""

    id: str
    kind: str  # which performer: "webhook", "sink", "trigger", ...
    target: str  # within the kind: a webhook URL, a sink's name, a trigger's name...
    key: str | None  # the idempotency key; (kind, key) is unique in the outbox
    payload: Mapping[str, Any]
    attempts: int  # attempts already made before this one
    state: Mapping[str, Any]  # what earlier attempts left behind (e.g. a request id already sent)
    created_at: datetime
    lead_id: int | None = None
    deal_id: int | None = None
    event_type: str = ""
    reclaimed: bool = False  # claimed again after a lease ran out: an earlier attempt may have reached the remote


@dataclass(frozen=True, slots=True)
class Done:
    """The work is done; `result` is kept on the job (a remote id, a link, what a trigger did)."""

    result: Mapping[str, Any] | None = None
    status_code: int | None = None


@dataclass(frozen=True, slots=True)
class Retry:
    """Try again later.

    `after` overrides the kind's backoff (a `Retry-After`); `count=False` means the job only waits
    for something else (a parent job, a recording) and the attempt is not used up.
    """

    error: str
    after: float | None = None
    count: bool = True
    status_code: int | None = None
    state: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Dead:
    """A permanent refusal: no retry; the job is dead with this reason until someone replays it."""

    error: str
    status_code: int | None = None
    state: Mapping[str, Any] | None = None


JobOutcome = Done | Retry | Dead


@runtime_checkable
class Performer(Protocol):
    """Performs the jobs of one kind. `delays` is the backoff: the wait after the 1st, 2nd... failure."""

    @property
    def kind(self) -> str: ...

    @property
    def concurrency(self) -> int: ...

    @property
    def delays(self) -> Sequence[float]: ...

    async def perform(self, job: Job) -> JobOutcome: ...


def retry_delay(delays: Sequence[float], attempts_made: int, jitter: float) -> float | None:
    """Seconds to wait after `attempts_made` failed attempts, or None when the attempts are used up.

    `jitter` is a number in [0, 1) supplied by the caller (time and randomness are injected).
    """
    if attempts_made < 1 or attempts_made > len(delays):
        return None
    base = delays[attempts_made - 1]
    return base * (0.9 + 0.2 * jitter) if base > 1 else base
