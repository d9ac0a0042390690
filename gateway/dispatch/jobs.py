"""rq job entry points. Each job builds its own connections from the worker's settings."""

from __future__ import annotations

import time

import structlog

from gateway.config import load_settings
from gateway.dispatch.runtime import build_runtime
from gateway.store.event_log import worker_id

__all__ = ["process_pending"]

log = structlog.get_logger(__name__)


def process_pending(max_seconds: float = 20.0) -> dict[str, int]:
    """Claim and process batches until nothing is due or the time budget is spent."""
    runtime = build_runtime(load_settings())
    owner = worker_id()
    totals = {"claimed": 0, "done": 0, "failed": 0, "dead": 0}
    deadline = time.monotonic() + max_seconds
    try:
        while time.monotonic() < deadline:
            report = runtime.processor.run_batch(owner)
            for k in totals:
                totals[k] += getattr(report, k)
            if not report.claimed:
                break
    finally:
        runtime.close()
    log.info("job.done", **totals)
    return totals
