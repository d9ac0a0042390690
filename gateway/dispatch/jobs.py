"""rq job entry points. Each job works with the worker process's runtime, built from the worker's settings."""

from __future__ import annotations

import time

import structlog
from rq import get_current_job

from gateway.config import Settings, load_settings
from gateway.dispatch.changes_channel import publish_changes
from gateway.dispatch.runtime import Runtime, build_runtime
from gateway.store.event_log import worker_id

__all__ = ["WorkerRuntime", "process_pending", "warm_up"]

log = structlog.get_logger(__name__)


class WorkerRuntime:
    """The runtime of the jobs one worker process runs: built on the first job, kept while the settings stay
    the same. Building it (connectors, engine, first connections) cost more than a small batch's processing,
    and at a steady trickle of events each job found only a small batch."""

    def __init__(self) -> None:
        self._runtime: Runtime | None = None

    def get(self, settings: Settings) -> Runtime:
        if self._runtime is not None and self._runtime.settings != settings:
            self._runtime.close()
            self._runtime = None
        if self._runtime is None:
            self._runtime = build_runtime(settings)
        return self._runtime


_RUNTIME = WorkerRuntime()  # one per worker process: rq calls jobs by name, with nothing to carry it


def warm_up(settings: Settings) -> None:
    """Build this process's runtime now (its engine connected), for the jobs to come."""
    runtime = _RUNTIME.get(settings)
    with runtime.engine.connect():
        pass


def process_pending(max_seconds: float = 20.0) -> dict[str, int]:
    """Claim and process batches until nothing is due or the time budget is spent; announce changed leads."""
    runtime = _RUNTIME.get(load_settings())
    job = get_current_job()
    runtime.processor.on_committed = None
    if job is not None:  # the servers hear of each commit's leads (their live pages read at once)
        redis = job.connection
        runtime.processor.on_committed = lambda leads: publish_changes(redis, runtime.settings, len(leads))
    owner = worker_id()
    totals = {"claimed": 0, "done": 0, "failed": 0, "dead": 0}
    deadline = time.monotonic() + max_seconds
    while time.monotonic() < deadline:
        report = runtime.processor.run_batch(owner)
        for k in totals:
            totals[k] += getattr(report, k)
        if not report.claimed:
            break
    log.info("job.done", **totals)
    return totals
