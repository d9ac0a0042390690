"""Running servers for the benchmarks: each in its own process under uvloop, started and stopped alike."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

__all__ = ["free_port", "serve_gateway", "spawn", "stop", "use_uvloop", "wait_ready"]


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


def serve_gateway(port: int, workdir: Path, dispatch: bool, config_text: str) -> None:
    """The gateway on SQLite with `config_text` as its configuration (the worker process when `dispatch`)."""
    from aiohttp import web

    from gateway.app import create_app
    from gateway.config import load_settings
    from gateway.logs import configure_logging

    config = workdir / "bench.toml"
    config.write_text(config_text, encoding="utf-8")
    settings = load_settings(config, database_url=f"sqlite:///{workdir}/gateway.db", files_dir=workdir / "files")
    configure_logging("json", settings.log_level)  # as `gateway serve` logs; stderr goes to /dev/null
    use_uvloop()
    web.run_app(create_app(settings, run_dispatcher=dispatch), host="127.0.0.1", port=port, print=None,
                access_log=None)
