"""The gateway over sockets with the generated journal in its store (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.store.db import make_engine
from tests.conftest import Server, start_server
from tests.journal.journal_dataset import populate, settings_for, specs


async def journal_server(database_url: str, tmp_path: Path, **overrides: Any) -> tuple[Any, Server]:
    settings = settings_for(database_url, tmp_path, **overrides)
    engine = make_engine(database_url)
    populate(engine, settings, specs())
    engine.dispose()
    return await start_server(settings)


@pytest.fixture
async def server_with_leads(database_url: str, tmp_path: Path) -> AsyncIterator[Server]:
    runner, srv = await journal_server(database_url, tmp_path)
    try:
        yield srv
    finally:
        await runner.cleanup()


async def journal(http: httpx.AsyncClient, query: dict[str, str]) -> list[dict[str, Any]]:
    """Every journal row for a filter, through the API's pages."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {**query, "limit": "97", **({"cursor": cursor} if cursor else {})}
        r = await http.get("/api/v1/leads", params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        items.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return items
