"""The naive baseline's rq job: process exactly one event per job.

The worker process keeps one runtime between jobs (as a well-written naive worker would),
so the baseline pays only for the job-per-event design, not for reconnecting.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from gateway.config import load_settings
from gateway.dispatch.runtime import build_runtime


@cache
def _runtime(url: str, files: str) -> Any:
    from gateway.logs import configure_logging

    configure_logging("json", "warning")
    return build_runtime(load_settings(None, database_url=url, files_dir=files))


def process_one(url: str, files: str) -> int:
    return _runtime(url, files).processor.run_batch("naive", limit=1).done
