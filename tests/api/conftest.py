"""The real gateway on a free port with known operators (tokens and passwords), for the triage API tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import structlog
from aiohttp import web
from argon2 import PasswordHasher
from sqlalchemy import Engine, update

from gateway.http.keys import DB
from gateway.store.schema import users
from gateway.store.users import create_user
from tests.conftest import make_settings, start_server

PASSWORD = "correct horse battery"
PEOPLE = {"root": "admin", "vera": "manager", "anna": "operator", "boris": "operator"}


@dataclass
class Gateway:
    url: str
    app: web.Application
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    @property
    def engine(self) -> Engine:
        return self.app[DB].engine

    def client(self, who: str | None = None, *, headers: dict[str, str] | None = None,
               **kwargs: Any) -> httpx.AsyncClient:
        sent = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return httpx.AsyncClient(base_url=self.url, headers={**sent, **(headers or {})}, timeout=20, **kwargs)

    async def lead(self, who: str = "anna", **body: Any) -> dict[str, Any]:
        """A manual lead through the real pipeline; the processed lead. From the site unless the body says otherwise:
        a lead without a source is not advertising, and the journal and reports show advertising leads first."""
        body.setdefault("source", "Сайт")
        async with self.client(who) as c:
            resp = await c.post("/api/v1/leads?wait=1", json=body)
        assert resp.status_code == 201, resp.text
        return resp.json()["lead"]


@cache
def password_hash() -> str:
    """One Argon2 hash of PASSWORD for every test user (hashing is slow on purpose)."""
    return PasswordHasher().hash(PASSWORD)


async def serve(settings: Any) -> tuple[web.AppRunner, Gateway]:
    runner, srv = await start_server(settings)
    gw = Gateway(srv.url, srv.app)
    with gw.engine.begin() as conn:
        for name, role in PEOPLE.items():
            gw.ids[name], gw.tokens[name] = create_user(conn, name, role)
        conn.execute(update(users).where(users.c.name.in_(list(PEOPLE))).values(password_hash=password_hash()))
    return runner, gw



@pytest.fixture(autouse=True)
def _fresh_logging() -> None:
    """Log to the current stderr (an earlier test may have left structlog bound to a closed capture)."""
    structlog.reset_defaults()


THREAD = {"embedded_worker": "thread"}  # the worker beside the server in this process: quicker to start and stop


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[Gateway]:
    """SQLite, the embedded worker (as a thread)."""
    runner, gw = await serve(make_settings(tmp_path, dispatch=THREAD))
    try:
        yield gw
    finally:
        await runner.cleanup()


@pytest.fixture
async def process_gateway(tmp_path: Path) -> AsyncIterator[Gateway]:
    """SQLite, the embedded worker in its own process (as `gateway serve` runs it)."""
    runner, gw = await serve(make_settings(tmp_path))
    try:
        yield gw
    finally:
        await runner.cleanup()


@pytest.fixture
async def pg_gateway(tmp_path: Path, pg_url: str) -> AsyncIterator[Gateway]:
    """PostgreSQL, the embedded worker (as a thread)."""
    runner, gw = await serve(make_settings(tmp_path, database_url=pg_url, dispatch=THREAD))
    try:
        yield gw
    finally:
        await runner.cleanup()
