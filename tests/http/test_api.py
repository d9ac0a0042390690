"""The operator API and the event log over real sockets, on the embedded default."""

from __future__ import annotations

import asyncio
import gzip
import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from gateway.store.schema import contacts, events, leads
from tests.conftest import Server


async def post_lead(client: httpx.AsyncClient, srv: Server, body: dict[str, Any], **headers: str) -> httpx.Response:
    return await client.post(f"{srv.url}/api/v1/leads?wait=1", json=body, headers={**srv.headers(), **headers})


async def test_manual_lead_travels_the_pipeline(process_server: Server) -> None:
    server = process_server
    async with httpx.AsyncClient() as client:
        r = await post_lead(client, server, {"name": "Иван", "phone": "8 (916) 123-45-67", "text": "Хочу"})
        assert r.status_code == 201, r.text
        lead = r.json()["lead"]
        # no source: nothing says an ad brought it, so it is not advertising and not yet judged
        assert (lead["channel"], lead["kind"], lead["status"], lead["quality"], lead["advertising"]) == (
            "manual", "manual", "unsorted", "unverified", False)
        assert lead["phone"] == "+79161234567" and lead["received_at"].endswith("+00:00")
        r2 = await post_lead(client, server, {"phone": "+7 916 123 45 67"})
        assert r2.json()["lead"]["quality"] == "repeat"
        ad = (await post_lead(client, server, {"phone": "+7 903 111 22 33", "source": "Яндекс.Директ"})).json()
        assert (ad["lead"]["quality"], ad["lead"]["advertising"], ad["lead"]["source"]) == (
            "target", True, "Яндекс.Директ")
        unsorted = (await client.get(f"{server.url}/api/v1/unsorted", headers=server.headers("operator"))).json()
        assert [i["id"] for i in unsorted["items"]] == [ad["lead"]["id"], lead["id"]]
        found = (await client.get(f"{server.url}/api/v1/contacts", params={"phone": "79161234567"},
                                  headers=server.headers("operator"))).json()["items"]
        assert found[0]["phones"] == ["+79161234567"]
        one = (await client.get(f"{server.url}/api/v1/leads/{lead['id']}", headers=server.headers())).json()
        assert one["contact"]["id"] == lead["contact_id"]


async def test_auth_roles_and_bad_input(server: Server) -> None:
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{server.url}/api/v1/leads")).status_code == 401
        bad = {"Authorization": "Bearer nope"}
        assert (await client.get(f"{server.url}/api/v1/leads", headers=bad)).status_code == 401
        r = await client.get(f"{server.url}/api/v1/events?status=dead", headers=server.headers("operator"))
        assert r.status_code == 403
        r = await client.post(f"{server.url}/api/v1/leads", content=b"{bad json", headers=server.headers())
        assert r.status_code == 400 and "malformed JSON" in r.json()["error"]
        r = await client.post(f"{server.url}/api/v1/leads", json={"phone": 5}, headers=server.headers())
        assert r.status_code == 400 and "phone" in r.json()["error"]
        r = await client.post(f"{server.url}/api/v1/leads", json={"text": "x" * (1 << 20)}, headers=server.headers())
        assert r.status_code == 413
        bomb = gzip.compress(b'{"text": "' + b"a" * (50 << 20) + b'"}')
        r = await client.post(f"{server.url}/api/v1/leads", content=bomb,
                              headers={**server.headers(), "Content-Encoding": "gzip"})
        assert r.status_code == 413
        assert (await client.get(f"{server.url}/api/v1/leads/999", headers=server.headers())).status_code == 404


async def test_duplicate_delivery_and_replay_leave_the_store_unchanged(process_server: Server) -> None:
    server = process_server
    async with httpx.AsyncClient() as client:
        key = {"Idempotency-Key": "order-42"}
        answers = await asyncio.gather(*[post_lead(client, server, {"phone": "89031112233"}, **key)
                                         for _ in range(5)])
        assert all(a.status_code in (201, 202) for a in answers)
        event_ids = {a.json()["event"] for a in answers}
        assert len(event_ids) == 1
        [event_id] = event_ids
        await asyncio.sleep(0.3)
        before = (await client.get(f"{server.url}/api/v1/leads", headers=server.headers())).json()["items"]
        r = await client.post(f"{server.url}/api/v1/events/{event_id}/replay", headers=server.headers())
        assert r.status_code == 200 and r.json()["requeued"] == 1
        for _ in range(100):
            ev = (await client.get(f"{server.url}/api/v1/events/{event_id}", headers=server.headers())).json()
            if ev["status"] == "done":
                break
            await asyncio.sleep(0.05)
        after = (await client.get(f"{server.url}/api/v1/leads", headers=server.headers())).json()["items"]
        strip = lambda items: [{k: v for k, v in i.items() if k != "updated_at"} for i in items]  # noqa: E731
        assert strip(after) == strip(before) and len(after) == 1


async def test_dead_events_are_listed_and_replayable(server: Server) -> None:
    from datetime import UTC, datetime

    from gateway.connectors.base import NewEvent
    from gateway.http.keys import DB, WRITER

    bad = NewEvent(connector="manual", account="x", key="broken", body=b"not json", received_at=datetime.now(UTC))
    [(event_id, _)] = await server.app[WRITER].store([bad])
    engine = server.app[DB].engine
    with engine.begin() as conn:  # make it run out of attempts quickly
        conn.execute(events.update().where(events.c.id == event_id).values(attempts=7))
    async with httpx.AsyncClient() as client:
        for _ in range(100):
            dead = (await client.get(f"{server.url}/api/v1/events?status=dead", headers=server.headers())).json()
            if dead["items"]:
                break
            await asyncio.sleep(0.05)
        assert [e["id"] for e in dead["items"]] == [event_id]
        assert "PayloadError" in dead["items"][0]["last_error"]
        r = await client.post(f"{server.url}/api/v1/events/{event_id}/replay", headers=server.headers())
        assert r.status_code == 200
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(leads)).scalar() == 0
        assert conn.execute(select(func.count()).select_from(contacts)).scalar() == 0


async def test_operations_routes(server: Server) -> None:
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{server.url}/healthz")).json() == {"ok": True}
        ready = (await client.get(f"{server.url}/readyz")).json()
        assert ready["ok"] and ready["store"] == "ok"
        await post_lead(client, server, {"phone": "89161234567"})
        metrics = (await client.get(f"{server.url}/metrics")).text
        assert 'gateway_events_accepted_total{connector="manual"} 1.0' in metrics
        assert 'gateway_events{status="done"} 1.0' in metrics
        assert "gateway_processing_lag_seconds" in metrics
        doc = (await client.get(f"{server.url}/openapi.json")).json()
    assert doc["openapi"] == "3.1.0"
    for path in ("/api/v1/leads", "/api/v1/leads/{id}", "/api/v1/unsorted", "/api/v1/contacts",
                 "/api/v1/events", "/api/v1/events/{id}/replay", "/healthz", "/readyz", "/metrics"):
        assert path in doc["paths"], path
    from openapi_spec_validator import validate

    validate(doc)
    json.dumps(doc)


@pytest.mark.parametrize("role", ["operator", "manager"])
async def test_disabled_user_token_stops_at_once(server: Server, role: str) -> None:
    from gateway.http.keys import DB
    from gateway.store.schema import users
    from gateway.store.users import hash_token

    token = server.headers(role)["Authorization"].split()[1]
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{server.url}/api/v1/unsorted", headers=server.headers(role))).status_code == 200
        with server.app[DB].engine.begin() as conn:
            conn.execute(users.update().where(users.c.token_hash == hash_token(token)).values(disabled=True))
        assert (await client.get(f"{server.url}/api/v1/unsorted", headers=server.headers(role))).status_code == 401


async def test_a_killed_embedded_worker_is_started_again_and_loses_nothing(process_server: Server) -> None:
    import multiprocessing
    import os
    import signal

    from gateway.http.keys import DB
    from gateway.store import event_log

    server = process_server
    async with httpx.AsyncClient() as client:
        first = await asyncio.gather(*[
            client.post(f"{server.url}/api/v1/leads", json={"phone": f"+7916{i:07d}"}, headers=server.headers())
            for i in range(40)])
        workers = [p for p in multiprocessing.active_children() if p.name == "gateway-embedded-worker"]
        assert len(workers) == 1
        os.kill(workers[0].pid, signal.SIGKILL)  # mid-work or idle: no cleanup runs either way
        second = await asyncio.gather(*[
            client.post(f"{server.url}/api/v1/leads", json={"phone": f"+7903{i:07d}"}, headers=server.headers())
            for i in range(40)])
    assert all(r.status_code == 202 for r in [*first, *second])
    engine = server.app[DB].engine
    for _ in range(600):  # a dead worker's lease expires after dispatch.lease_seconds
        with engine.connect() as conn:
            if event_log.count_by_status(conn).get("done") == 80:
                break
        await asyncio.sleep(0.1)
    with engine.connect() as conn:
        assert event_log.count_by_status(conn) == {"done": 80}
        assert conn.execute(select(func.count()).select_from(leads)).scalar() == 80
