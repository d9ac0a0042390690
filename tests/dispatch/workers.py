"""Start and stop real `gateway worker` processes for the dispatch tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, func, select

from gateway.store.schema import events


def worker_env(database_url: str, redis_url: str, config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(GATEWAY_DATABASE_URL=database_url, GATEWAY_REDIS_URL=redis_url, GATEWAY_CONFIG=str(config),
               GATEWAY_LOG_LEVEL="warning", GATEWAY_LOG_FORMAT="json")
    return env


def write_config(path: Path, *, batch: int = 100, lease: float = 3, sweep: float = 0.5, queue: str = "t") -> Path:
    path.write_text(
        f"[dispatch]\nbatch_size = {batch}\nlease_seconds = {lease}\nsweep_seconds = {sweep}\nqueue = \"{queue}\"\n"
        "retry_base_seconds = 0.2\n", encoding="utf-8")
    return path


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "gateway", "worker"], env=env,
                            stdout=open(log, "ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def kill9(proc: subprocess.Popen[bytes]) -> None:
    """Kill the worker and anything it started (its whole process group)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        kill9(proc)


def status_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {s: int(n) for s, n in conn.execute(select(events.c.status, func.count()).group_by(events.c.status))}


def wait_until(cond: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
