"""Webhooks end to end over sockets: a lead entered through the API reaches the receiver; the delivery log."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from gateway.config import Settings
from tests.conftest import Server, make_settings, start_server
from tests.webhooks.conftest import SECRET, Receiver


@pytest.fixture
async def gateway(database_url: str, tmp_path: Path, receiver: Receiver) -> AsyncIterator[Server]:
    settings: Settings = make_settings(
        tmp_path, database_url=database_url, http={"allow_private_outbound": True},
        webhooks=[{"url": receiver.url, "events": ["lead.created", "deal.created"], "secret": SECRET}])
    runner, srv = await start_server(settings)
    try:
        yield srv
    finally:
        await runner.cleanup()


async def _until(predicate, within_s: float = 15) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while loop.time() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not within the time allowed")


async def test_a_new_lead_is_pushed_signed_and_logged(gateway: Server, receiver: Receiver) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, headers=gateway.headers("admin"), timeout=20) as http:
        r = await http.post("/api/v1/leads?wait=1", json={"name": "Пётр", "phone": "+7 916 000-11-22"})
        assert r.status_code == 201, r.text
        lead = r.json()["lead"]

        async def arrived() -> bool:
            return any(json.loads(g["body"])["type"] == "lead.created" for g in receiver.got)

        await _until(arrived)
        [got] = [g for g in receiver.got if json.loads(g["body"])["type"] == "lead.created"]
        assert got["verified"]
        body = json.loads(got["body"])
        assert body["data"]["id"] == lead["id"] and body["data"]["phone"] == "+79160001122"
        assert body["data"]["name"] == "Пётр" and "type" in body["data"] and "title" in body["data"]

        async def logged() -> bool:
            items = (await http.get("/api/v1/webhooks/deliveries", params={"status": "done"})).json()["items"]
            return any(i["id"] == got["headers"]["webhook-id"] for i in items)

        await _until(logged)
        msg_id = got["headers"]["webhook-id"]
        r = await http.post(f"/api/v1/webhooks/deliveries/{msg_id}/replay")
        assert r.status_code == 200 and r.json()["delivery"]["status"] in ("pending", "sending", "done")

        async def again() -> bool:
            return sum(g["headers"]["webhook-id"] == msg_id for g in receiver.got) == 2

        await _until(again)
        assert all(receiver.verified)


async def test_the_delivery_log_is_for_administrators(gateway: Server) -> None:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=20) as http:
        assert (await http.get("/api/v1/webhooks/deliveries")).status_code == 401
        for role in ("manager", "operator"):
            r = await http.get("/api/v1/webhooks/deliveries", headers=gateway.headers(role))
            assert r.status_code == 403
            r = await http.post("/api/v1/webhooks/deliveries/msg_x/replay", headers=gateway.headers(role))
            assert r.status_code == 403
        admin = gateway.headers("admin")
        assert (await http.post("/api/v1/webhooks/deliveries/msg_x/replay", headers=admin)).status_code == 404
        r = await http.get("/api/v1/webhooks/deliveries", params={"status": "lost"}, headers=admin)
        assert r.status_code == 400 and "status" in r.json()["error"]
