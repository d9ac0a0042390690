"""Worker processes run at a lower CPU priority than the server: where they share a machine, acknowledgements go
first (a provider waits for them) and processing catches up after a burst."""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

from tests.conftest import RedisServer, make_settings, start_server
from tests.dispatch.workers import start_worker, stop, worker_env


def _niceness(pid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, pid)


def _reaches(pid: int, wanted: int, timeout: float = 60) -> int:
    """The process's niceness once it is `wanted`, or the last seen when `timeout` runs out."""
    deadline = time.monotonic() + timeout
    seen = _niceness(pid)
    while seen != wanted and time.monotonic() < deadline:
        time.sleep(0.05)
        seen = _niceness(pid)
    return seen


def test_gateway_worker_lowers_its_priority_by_the_configured_niceness(tmp_path: Path,
                                                                       redis_server: RedisServer) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('[dispatch]\nqueue = "nice"\nworker_nice = 7\n', encoding="utf-8")
    env = worker_env(f"sqlite:///{tmp_path}/gateway.db", redis_server.url, config)
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        wanted = min(19, _niceness(0) + 7)
        assert _reaches(worker.pid, wanted) == wanted, (tmp_path / "worker.log").read_text()
        assert worker.poll() is None  # and it works on
    finally:
        stop(worker)


async def test_the_embedded_worker_process_lowers_its_priority(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, dispatch={"embedded_worker": "process", "embedded_worker_nice": 6})
    runner, _server = await start_server(settings)
    try:
        [child] = [p for p in multiprocessing.active_children() if p.name == "gateway-embedded-worker"]
        assert child.pid is not None
        wanted = min(19, _niceness(0) + 6)
        assert _reaches(child.pid, wanted) == wanted
    finally:
        await runner.cleanup()
