"""Server-sent events: a new lead and a decision on it reach a listener without polling by the client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.api.conftest import Gateway


async def _events(resp: httpx.Response) -> AsyncIterator[tuple[str, Any]]:
    kind = "message"
    async for line in resp.aiter_lines():
        if line.startswith("event:"):
            kind = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            yield kind, json.loads(line.split(":", 1)[1])
            kind = "message"


async def _until(stream: AsyncIterator[tuple[str, Any]], lead_id: int, status: str) -> dict[str, Any]:
    async for kind, data in stream:
        for change in data if kind == "leads" else []:
            if change["id"] == lead_id and change["status"] == status:
                return change
    raise AssertionError("stream ended")


async def test_live_stream_announces_new_and_taken_leads(process_gateway: Gateway) -> None:
    """The worker is another process: the stream learns of its leads from the store alone."""
    gateway = process_gateway
    since = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    async with gateway.client("anna") as c, c.stream("GET", "/api/v1/live", params={"since": since}) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        stream = _events(resp)
        lead = await gateway.lead("vera", name="Живой", phone="+79160000051")
        change = await asyncio.wait_for(_until(stream, lead["id"], "unsorted"), timeout=20)
        assert change["channel"] == "manual"
        await c.post(f"/api/v1/unsorted/{lead['id']}/accept", json={})
        await asyncio.wait_for(_until(stream, lead["id"], "accepted"), timeout=20)


async def test_live_stream_needs_a_user(gateway: Gateway) -> None:
    async with gateway.client() as c:
        assert (await c.get("/api/v1/live")).status_code == 401
