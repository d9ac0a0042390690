"""The gateway with pipelines and triggers of a test's choosing, and the outside world it talks to.

`Outside` is one local server playing a webhook receiver (verifying Standard Webhooks signatures as
the specification says, able to fail its first requests) and Telegram's Bot API (sendMessage).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from gateway.delivery.runner import OutboxRunner
from gateway.delivery.triggers import TriggerPerformer
from gateway.delivery.webhooks import WebhookPerformer, settings_secrets
from gateway.egress import AsyncOutboundClient, OutboundPolicy
from gateway.http.keys import DB, SETTINGS
from tests.api.conftest import THREAD, Gateway, serve
from tests.conftest import make_settings
from tests.connectors.messengers.messenger_harness import TG_SECRET, TG_TOKEN, fixture_json
from tests.webhooks.conftest import SECRET, verify

STAGES = ["Неразобранное", "Лид", "Переговоры", "Счёт", "Успешно", "Отказ"]


@dataclass
class Outside:
    url: str = ""
    fail_first: int = 0
    hooks: list[dict[str, Any]] = field(default_factory=list)  # every request the receiver got
    sent: list[dict[str, Any]] = field(default_factory=list)  # every Telegram sendMessage

    @property
    def hook_url(self) -> str:
        return f"{self.url}/hook"

    @property
    def accepted(self) -> list[dict[str, Any]]:
        """The deliveries the receiver answered 2xx (a retried one counts once, when it got through)."""
        return [h for h in self.hooks if h["status"] == 200]


@pytest.fixture
async def outside() -> AsyncIterator[Outside]:
    world = Outside()

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        status = 500 if len(world.hooks) < world.fail_first else 200
        world.hooks.append({"headers": headers, "body": body, "verified": verify(SECRET, headers, body),
                            "status": status})
        return web.Response(status=status, text="ok" if status == 200 else "not yet")

    async def send_message(request: web.Request) -> web.Response:
        world.sent.append(await request.json())
        return web.json_response(fixture_json("telegram", "api_send_message.json"))

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_post(f"/bot{TG_TOKEN}/sendMessage", send_message)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    world.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    try:
        yield world
    finally:
        await runner.cleanup()


def pipeline(triggers: list[dict[str, Any]] | None = None, stages: list[str] | None = None,
             name: str = "Продажи") -> dict[str, Any]:
    return {"name": name, "stages": stages or STAGES, "triggers": triggers or []}


Start = Callable[..., Awaitable[Gateway]]


@pytest.fixture
async def crm(tmp_path: Path, outside: Outside) -> AsyncIterator[Start]:
    """Start the gateway (SQLite unless a database is given) with these pipelines; Telegram is the fake."""
    runners: list[web.AppRunner] = []

    async def start(*pipelines: dict[str, Any], database_url: str | None = None, **more: Any) -> Gateway:
        extra = {"database_url": database_url} if database_url else {}
        settings = make_settings(
            tmp_path, dispatch=THREAD, pipelines=list(pipelines) or [pipeline()], http={"allow_private_outbound": True},
            messengers={"telegram": [{"bot": "sales_bot", "token": TG_TOKEN, "secret_token": TG_SECRET,
                                      "api_url": outside.url, "fetch_media": False}]}, **extra, **more)
        runner, gw = await serve(settings)
        runners.append(runner)
        return gw

    try:
        yield start
    finally:
        for runner in runners:
            await runner.cleanup()


# --- doing things as an operator would ------------------------------------------------------------
async def new_deal(gw: Gateway, who: str = "vera", **lead: Any) -> dict[str, Any]:
    """A lead by hand, accepted by `who`: the deal."""
    created = await gw.lead(who, **({"name": "Покупатель", "phone": "+79160001122"} | lead))
    async with gw.client(who) as c:
        resp = await c.post(f"/api/v1/unsorted/{created['id']}/accept", json={})
        assert resp.status_code == 200, resp.text
        return (await c.get(f"/api/v1/deals/{resp.json()['deal_id']}")).json()


async def move(gw: Gateway, deal: dict[str, Any], stage: str, who: str = "vera", **more: Any) -> dict[str, Any]:
    async with gw.client(who) as c:
        resp = await c.patch(f"/api/v1/deals/{deal['id']}", json={"stage": stage, **more})
    assert resp.status_code == 200, resp.text
    return resp.json()


async def runs(gw: Gateway, deal_id: int, *, until: Callable[[list[dict]], bool] | None = None,
               within_s: float = 20) -> list[dict[str, Any]]:
    """The deal's trigger runs (oldest first) once none is waiting (or `until` holds)."""
    deadline = time.monotonic() + within_s
    async with gw.client("root") as c:
        while True:
            items = (await c.get(f"/api/v1/deals/{deal_id}/runs")).json()["items"][::-1]
            settled = all(r["status"] in ("done", "dead") for r in items)
            if (until(items) if until is not None else settled and items) or time.monotonic() > deadline:
                return items
            await asyncio.sleep(0.05)


def of(items: list[dict[str, Any]], target: str, kind: str = "trigger") -> list[dict[str, Any]]:
    return [r for r in items if r["kind"] == kind and r["target"] == target]


async def later_runner(gw: Gateway, when: datetime) -> tuple[OutboxRunner, AsyncOutboundClient]:
    """An outbox runner whose clock says `when`: the time a delay or a backoff waits for, without sleeping."""
    settings, db = gw.app[SETTINGS], gw.app[DB]
    client = AsyncOutboundClient(OutboundPolicy(allow_private=True))

    def clock() -> datetime:
        return when

    performers = {"trigger": TriggerPerformer(settings, db, client, clock=clock),  # signed at the real time:
                  "webhook": WebhookPerformer(client, settings_secrets(settings))}  # receivers check it
    return OutboxRunner(db, performers, clock=clock, jitter=lambda: 0.5), client


def hours(n: float) -> timedelta:
    return timedelta(hours=n)
