"""Call tracking's fixtures: a gateway with one tracked site, Mango calls signed as Mango signs them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.connectors.telephony.mango.signature import signed_form
from tests.conftest import Server, make_settings, start_server

SITE = "site-ru"
ORIGIN = "https://example.ru"
BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
KEY, SALT = "ct-key", "ct-salt"
POOL = [f"7495111{n:04d}" for n in range(1, 21)]
DEFAULT = "74957654321"


def site(**overrides: Any) -> dict[str, Any]:
    conf: dict[str, Any] = {"id": SITE, "domains": ["example.ru", "www.example.ru", "127.0.0.1"],
                            "default_number": DEFAULT, "pool": POOL[:3], "hold_minutes": 20, "selector": ".phone",
                            "source_rules": [{"utm_source": "yandex*", "source": "Яндекс.Директ"},
                                             {"utm_source": "google", "source": "Google Ads"}]}
    conf.update(overrides)
    return conf


def tracked_settings(tmp_path: Path, *, database_url: str | None = None, calltracking: dict[str, Any] | None = None,
                     **site_overrides: Any) -> Any:
    ct = calltracking or {"sites": [site(**site_overrides)]}
    extra: dict[str, Any] = {"database_url": database_url} if database_url else {}
    return make_settings(tmp_path, calltracking=ct, dispatch={"embedded_worker": "thread", "idle_poll_seconds": 0.05},
                         telephony={"mango": [{"account": "office", "api_key": KEY, "api_salt": SALT,
                                               "lines": {"74951234567": "Сайт (звонки)"}}]}, **extra)


@pytest.fixture
async def tracked(tmp_path: Path) -> AsyncIterator[Server]:
    runner, srv = await start_server(tracked_settings(tmp_path))
    try:
        yield srv
    finally:
        await runner.cleanup()


def client(srv: Server, *, origin: str = ORIGIN, user_agent: str = BROWSER_UA) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=srv.url, timeout=30, headers={"Origin": origin, "User-Agent": user_agent})


async def ask(c: httpx.AsyncClient, visitor: str, **body: Any) -> httpx.Response:
    return await c.post(f"/ct/{SITE}/sessions", json={"visitor": visitor, **body})


def visitor(n: int) -> str:
    return f"{n:032x}"


def mango_call(entry: str, line: str, client_number: str, at: int, *, talk: int = 30) -> dict[str, str]:
    """A finished incoming call's summary, signed."""
    payload = {"entry_id": entry, "call_direction": 1, "from": {"number": client_number},
               "to": {"extension": "101"}, "line_number": line, "create_time": at, "forward_time": at,
               "talk_time": at + 5 if talk else 0, "end_time": at + 5 + talk, "entry_result": 1 if talk else 0,
               "disconnect_reason": 1110}
    return signed_form(KEY, SALT, payload)


async def send_call(srv: Server, entry: str, line: str, client_number: str, at: int | None = None) -> None:
    async with httpx.AsyncClient(base_url=srv.url, timeout=30) as c:
        resp = await c.post("/hooks/mango/office/events/summary",
                            data=mango_call(entry, line, client_number, at or int(time.time())))
    assert resp.status_code == 200, resp.text


@pytest.fixture
async def tracked_with_form(tmp_path: Path) -> AsyncIterator[Server]:
    settings = tracked_settings(tmp_path)
    settings.forms = type(settings).model_validate(
        {**settings.model_dump(), "forms": [{"id": "site-form", "min_fill_seconds": 0}]}).forms
    runner, srv = await start_server(settings)
    try:
        yield srv
    finally:
        await runner.cleanup()


async def lead_of(srv: Server, channel: str, count: int = 1) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient(base_url=srv.url, headers=srv.headers(), timeout=30) as c:
        while time.monotonic() < deadline:
            items = (await c.get(f"/api/v1/leads?channel={channel}")).json()["items"]
            if len(items) >= count:
                return [(await c.get(f"/api/v1/leads/{i['id']}")).json() for i in items]
            await asyncio.sleep(0.05)
    raise AssertionError(f"no {channel} lead was made")
