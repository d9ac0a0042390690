"""Running servers for the benchmarks: each in its own process under uvloop, started and stopped alike."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

__all__ = ["children", "cpu_seconds", "free_port", "process_tree", "serve_gateway", "spawn", "stop", "use_uvloop",
           "wait_ready"]


def use_uvloop() -> None:
    import uvloop

    uvloop.install()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn(script: str, *args: str) -> subprocess.Popen[bytes]:
    """Run `script serve ARGS...` (the benchmark itself, in server mode)."""
    return subprocess.Popen([sys.executable, str(Path(script).resolve()), "serve", *args], cwd=ROOT,
                            stderr=subprocess.DEVNULL)


def wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                time.sleep(0.3)  # let the app finish its start-up tasks
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("server did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def children(pid: int) -> list[int]:
    """The process's children, whichever of its threads started them."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return sorted(set(found))


def process_tree(pid: int) -> list[int]:
    """The process and all its descendants (a server, its worker process, that one's helpers)."""
    out = [pid]
    for child in children(pid):
        out += process_tree(child)
    return out


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """CPU time (user + system, all threads) each process has used so far; a process gone is left out."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime (fields 14 and 15 of stat)
    return out


def serve_gateway(port: int, workdir: Path, dispatch: bool, config_text: str) -> None:
    """The gateway on SQLite with `config_text` as its configuration (the worker process when `dispatch`)."""
    from gateway.app import create_app
    from gateway.config import load_settings
    from gateway.http.slow_clients import server_options
    from gateway.logs import configure_logging
    from gateway.serving import run

    config = workdir / "bench.toml"
    config.write_text(config_text, encoding="utf-8")
    settings = load_settings(config, database_url=f"sqlite:///{workdir}/gateway.db", files_dir=workdir / "files")
    configure_logging("json", settings.log_level)  # as `gateway serve` logs; stderr goes to /dev/null
    run(lambda _url: create_app(settings, run_dispatcher=dispatch), "127.0.0.1", port, lambda url: url,
        server_options(settings.http))
