"""Click-to-call through Mango: the signed command as Mango expects it, its result webhook, the call that follows."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from aiohttp import web

from gateway.connectors.telephony.mango.signature import sign
from tests.conftest import Server, make_settings, served, until
from tests.connectors.telephony.mango.mango_support import TEST_KEY, TEST_SALT, form_body, load
from tests.sinks.harness import serve


class FakeMangoCommands:
    """Mango's command API: checks the signed form (§2.4.3, §3.2.1), answers with a result code."""

    def __init__(self) -> None:
        self.commands: list[dict[str, Any]] = []
        self.answer: dict[str, Any] = {"result": 1000}

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/vpbx/commands/callback", self.callback)
        return app

    async def callback(self, request: web.Request) -> web.Response:
        assert request.content_type == "application/x-www-form-urlencoded"
        form = dict(parse_qsl((await request.read()).decode()))
        if form.get("vpbx_api_key") != TEST_KEY:
            return web.json_response({"result": 3105}, status=401)
        if form.get("sign") != sign(TEST_KEY, form.get("json", ""), TEST_SALT):
            return web.json_response({"result": 3102})
        self.commands.append(json.loads(form["json"]) | {"_raw": form["json"]})
        return web.json_response(self.answer)


@pytest.fixture
async def mango() -> AsyncIterator[FakeMangoCommands]:
    fake = FakeMangoCommands()
    async with serve(fake.app()) as url:
        fake.url = url  # type: ignore[attr-defined]
        yield fake


@pytest.fixture
async def gateway(mango: FakeMangoCommands, tmp_path: Path) -> AsyncIterator[Server]:
    settings = make_settings(tmp_path, http={"allow_private_outbound": True, "outbound_timeout_seconds": 2},
                             telephony={"mango": [{"account": "main", "api_key": TEST_KEY, "api_salt": TEST_SALT,
                                                   "api_url": f"{mango.url}/vpbx/",  # type: ignore[attr-defined]
                                                   "lines": {"74951234567": "Яндекс.Директ"},
                                                   "extensions": {"101": "ivanov"}, "fetch_recordings": False}]})
    async with served(settings) as srv:
        yield srv


async def hook(client: httpx.AsyncClient, srv: Server, name: str, json_text: str, route: str = "events") -> None:
    r = await client.post(f"{srv.url}/hooks/mango/main/{route}/{name}", content=form_body(json_text),
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200, r.text



async def missed_lead(client: httpx.AsyncClient, srv: Server) -> dict[str, Any]:
    for d in load("missed_in_queue_numbers_as_strings"):
        await hook(client, srv, d.event, d.json)

    async def found() -> dict[str, Any] | None:
        r = await client.get(f"{srv.url}/api/v1/leads?needs_callback=true", headers=srv.headers())
        items = r.json()["items"]
        return items[0] if items else None

    return await until(found)


async def test_missed_call_callback_result_and_the_call_that_closes_it(gateway: Server,
                                                                      mango: FakeMangoCommands) -> None:
    srv = gateway
    async with httpx.AsyncClient(timeout=10) as client:
        lead = await missed_lead(client, srv)
        r = await client.post(f"{srv.url}/api/v1/leads/{lead['id']}/call", json={"extension": "101"},
                              headers=srv.headers("manager"))
        assert r.status_code == 202
        command_id = r.json()["command_id"]
        [command] = await until(lambda: asyncio.sleep(0, mango.commands))
        assert command["_raw"] == (f'{{"command_id":"{command_id}","from":{{"extension":"101"}},'
                                   '"to_number":"79031112233","line_number":"74951234567"}')
        # the PBX reports the command's result (both documented places are accepted)
        await hook(client, srv, "callback", json.dumps({"command_id": command_id, "result": 1000}), route="result")

        async def shown() -> list[dict[str, Any]]:
            body = (await client.get(f"{srv.url}/api/v1/leads/{lead['id']}", headers=srv.headers())).json()
            return [c for c in body["callbacks"] if c["result"] is not None]

        [cb] = await until(shown)
        assert (cb["command_id"], cb["status"], cb["result"]) == (command_id, "sent", 1000)
        assert cb["message"] == "АТС приняла команду: звонит вашему телефону, затем клиенту"
        # the call that follows carries the command id; answered, it closes needs_callback through the fold
        for d in load("callback_to_missed_number"):
            if d.event.startswith("result/"):
                continue
            await hook(client, srv, d.event, d.json.replace("cb-0002", command_id))

        async def closed() -> dict[str, Any] | None:
            body = (await client.get(f"{srv.url}/api/v1/leads/{lead['id']}", headers=srv.headers())).json()
            return body if not body["needs_callback"] and body["callback_at"] else None

        done = await until(closed)
        assert done["time_to_callback_s"] > 0
        r = await client.get(f"{srv.url}/api/v1/leads?direction=out", headers=srv.headers())
        [call] = r.json()["items"]
        assert call["custom"]["command_id"] == command_id


async def test_a_refused_command_is_shown_in_plain_russian(gateway: Server, mango: FakeMangoCommands) -> None:
    srv = gateway
    mango.answer = {"result": 3100}
    async with httpx.AsyncClient(timeout=10) as client:
        lead = await missed_lead(client, srv)
        r = await client.post(f"{srv.url}/api/v1/leads/{lead['id']}/call", json={"extension": "101"},
                              headers=srv.headers())
        assert r.status_code == 202

        async def refused() -> list[dict[str, Any]]:
            body = (await client.get(f"{srv.url}/api/v1/leads/{lead['id']}", headers=srv.headers())).json()
            return [c for c in body["callbacks"] if c["status"] == "refused"]

        [cb] = await until(refused)
        assert cb["error"] == "АТС отклонила команду: неверный номер или внутренний номер сотрудника (код 3100)"
        assert len(mango.commands) == 1  # a 3xxx is never retried (Mango locks the key out)
        # the vpbx/ variant of the result route is signed and stored too
        r = await client.post(f"{srv.url}/hooks/mango/main/vpbx/result/callback",
                              content=form_body(json.dumps({"command_id": cb["command_id"], "result": 3100})),
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 200


async def test_without_an_extension_the_refusal_says_what_to_do(gateway: Server) -> None:
    srv = gateway
    async with httpx.AsyncClient(timeout=10) as client:
        lead = await missed_lead(client, srv)
        r = await client.post(f"{srv.url}/api/v1/leads/{lead['id']}/call", json={}, headers=srv.headers())
    assert r.status_code == 409
    assert "внутренний номер" in r.json()["error"]
