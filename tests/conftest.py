"""Shared fixtures: real PostgreSQL, real Redis, the real aiohttp server over sockets."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import Engine, create_engine, text

from gateway.config import Settings, load_settings
from gateway.store.db import make_engine
from gateway.store.users import create_user


def pytest_configure(config: pytest.Config) -> None:
    from tests.golden import check_not_in_ci

    check_not_in_ci()  # a *_REGENERATE variable in CI would make the golden tests compare a file with itself


PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(autouse=True)
def _no_config_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never pick up a developer's gateway.toml or environment."""
    for key in list(os.environ):
        if key.startswith("GATEWAY_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("GATEWAY_CONFIG", str(tmp_path / "absent.toml"))


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test."""
    name = f"lg_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on both databases."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/gateway.db"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(database_url: str, tmp_path: Path) -> Iterator[Engine]:
    """A store with its schema, on each database (a module's own `engine` fixture takes precedence)."""
    from gateway.store.bootstrap import bootstrap

    eng = make_engine(database_url)
    bootstrap(eng, make_settings(tmp_path, database_url=database_url))
    yield eng
    eng.dispose()


@dataclass
class RedisServer:
    url: str
    port: int
    dir: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server on a free port (so a test may flush, kill and restart it)."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed: run the README's test command, which installs it")
    port = free_port()
    server = RedisServer(f"redis://127.0.0.1:{port}/0", port, tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    overrides.setdefault("database_url", f"sqlite:///{tmp_path}/gateway.db")
    overrides.setdefault("files_dir", tmp_path / "files")
    config = overrides.pop("config_file", None)
    return load_settings(config, **overrides)


@dataclass
class Server:
    url: str
    app: web.Application
    settings: Settings
    admin_token: str
    operator_token: str
    manager_token: str

    def headers(self, role: str = "admin") -> dict[str, str]:
        token = {"admin": self.admin_token, "operator": self.operator_token, "manager": self.manager_token}[role]
        return {"Authorization": f"Bearer {token}"}


async def start_server(settings: Settings, **app_kwargs: Any) -> tuple[web.AppRunner, Server]:
    from gateway.app import create_app
    from gateway.http.slow_clients import server_options
    from gateway.serving import listening_socket, site_on
    from gateway.store.bootstrap import bootstrap

    engine = make_engine(settings.database_url, synchronous=settings.sqlite_synchronous)
    bootstrap(engine, settings)
    with engine.begin() as conn:
        tokens = {role: create_user(conn, f"test-{role}-{uuid.uuid4().hex[:6]}", role)[1]
                  for role in ("admin", "operator", "manager")}
    engine.dispose()
    app = create_app(settings, **app_kwargs)
    runner = web.AppRunner(app, access_log=None, **server_options(settings.http))
    await runner.setup()
    sock = listening_socket("127.0.0.1", 0)
    await site_on(runner, sock).start()  # as `gateway serve` serves it: the fast lane first
    port = sock.getsockname()[1]
    return runner, Server(f"http://127.0.0.1:{port}", app, settings, tokens["admin"], tokens["operator"],
                          tokens["manager"])


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[Server]:
    """The gateway on `settings` for the time of the block; its embedded worker a thread unless they choose."""
    if "embedded_worker" not in settings.dispatch.model_fields_set:
        settings.dispatch.embedded_worker = "thread"
    runner, srv = await start_server(settings)
    try:
        yield srv
    finally:
        await runner.cleanup()


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    """The gateway on SQLite with the embedded worker, on a free port.

    The worker runs as a thread here (faster to start, and respx can see its outbound calls)
    unless the test's config chooses; `process_server` runs the production default.
    """
    async with served(make_settings(tmp_path)) as srv:
        yield srv


@pytest.fixture
async def process_server(tmp_path: Path) -> AsyncIterator[Server]:
    """The gateway exactly as `gateway serve` runs it: the embedded worker in its own process."""
    settings = make_settings(tmp_path)
    assert settings.dispatch.embedded_worker == "process"
    runner, srv = await start_server(settings)
    try:
        yield srv
    finally:
        await runner.cleanup()


# --- PII: after the whole run, no log line carries a phone number or an e-mail address in clear ---------
_LOG_LINE = re.compile(r'"event": "|\[(?:debug|info|warning|error|critical)\s*\]')
_CLEAR_PHONE = re.compile(r"(?<![\w*])(?:\+?7|8)\d{10}(?!\w)")  # not inside an id
_CLEAR_EMAIL = re.compile(r"(?<![\w*])[A-Za-z0-9._%+-]{2,}@[A-Za-z0-9-]+\.[A-Za-z]{2,}")
_pii_findings: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for name, captured in report.sections:
        if not name.startswith("Captured"):
            continue
        for line in captured.splitlines():
            if _LOG_LINE.search(line) and (_CLEAR_PHONE.search(line) or _CLEAR_EMAIL.search(line)):
                _pii_findings.append(f"{report.nodeid}: {line[:300]}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput"):
        return  # a pytest-xdist worker: its reports reach the controller, which judges them all
    if _pii_findings:
        print("\nlog lines with a phone number or an e-mail address in clear:", file=sys.stderr)
        for finding in _pii_findings[:20]:
            print("  " + finding, file=sys.stderr)
        session.exitstatus = 1


async def until(check: Any, within_s: float = 20.0) -> Any:
    """The first truthy value `check()` gives, asked every 0.1 s; AssertionError after `within_s`."""
    for _ in range(int(within_s / 0.1)):
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met in time")
