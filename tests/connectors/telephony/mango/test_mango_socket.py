"""Mango through the real gateway over sockets, with a stub Mango API for recordings."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from aiohttp import web

from gateway.connectors.telephony.mango import simulate
from gateway.connectors.telephony.mango.signature import sign
from gateway.store.db import make_engine
from gateway.store.users import create_user
from tests.conftest import until
from tests.connectors.telephony.mango.mango_support import TEST_KEY, TEST_SALT, form_body, load
from tests.connectors.telephony.mango.test_mango_edge import A1_WIRE

MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + bytes(413) * 20
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
async def stub_mango() -> AsyncIterator[dict[str, Any]]:
    """Mango's recording query: a signed POST answered with a 302 to a one-time link."""
    state: dict[str, Any] = {"posts": [], "links": set()}

    async def recording_post(request: web.Request) -> web.Response:
        form = {k: v[0] for k, v in parse_qs((await request.read()).decode()).items()}
        state["posts"].append(form)
        if form.get("sign") != sign(TEST_KEY, form.get("json", ""), TEST_SALT):
            return web.json_response({"result": 3102})
        token = f"one-time-{len(state['posts'])}"
        state["links"].add(token)
        raise web.HTTPFound(f"{state['url']}/files/{token}")

    async def file(request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if token not in state["links"]:
            return web.Response(status=404)
        state["links"].discard(token)
        return web.Response(body=MP3, content_type="audio/mp3")

    app = web.Application()
    app.router.add_post("/vpbx/queries/recording/post", recording_post)
    app.router.add_get("/files/{token}", file)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state["url"] = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    yield state
    await runner.cleanup()


@pytest.fixture
def mango_config(_no_config_file: None, stub_mango: dict[str, Any], tmp_path: Path,
                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the `server` fixture's config at an account using the stub (the registry is the real one)."""
    config = tmp_path / "mango.toml"
    config.write_text(f"""
[http]
allow_private_outbound = true

[[telephony.mango]]
account = "main"
api_key = "{TEST_KEY}"
api_salt = "{TEST_SALT}"
api_url = "{stub_mango['url']}/vpbx/"
[telephony.mango.lines]
"74951234567" = "Яндекс.Директ"
[telephony.mango.extensions]
"101" = "ivanov"
""", encoding="utf-8")
    monkeypatch.setenv("GATEWAY_CONFIG", str(config))


@pytest.fixture
async def gateway(mango_config: None, server: Any) -> Any:
    return server


async def post(url: str, body: bytes, content_type: str = FORM) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as http, http.post(url, data=body, headers={"Content-Type": content_type}) as r:
        return r.status, await r.read()


async def mango_events(server: Any) -> list[dict]:
    async with aiohttp.ClientSession() as http, http.get(server.url + "/api/v1/events?limit=500",
                                                         headers=server.headers()) as resp:
        assert resp.status == 200
        return [e for e in (await resp.json())["items"] if e["connector"] == "mango"]


async def settled(server: Any, want: int) -> None:
    """Wait until `want` Mango events are stored and every one of them is processed."""
    async def processed() -> bool:
        events = await mango_events(server)
        return len(events) >= want and all(e["status"] == "done" for e in events)

    await until(processed)


async def leads(server: Any, want: int, until: Any = None) -> list[dict]:
    deadline = time.monotonic() + 20
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            async with http.get(server.url + "/api/v1/leads?channel=mango&limit=500", headers=server.headers()) as r:
                items = (await r.json())["items"]
            if len(items) >= want and (until is None or until(items)):
                return items
            await asyncio.sleep(0.05)
    raise AssertionError(f"expected {want} mango leads")


async def test_section_7_calls_become_three_leads_with_the_recording(gateway: Any, stub_mango: dict) -> None:
    hook = gateway.url + "/hooks/mango/main/events/"
    for scenario in ("incoming_answered_via_group", "missed_in_queue_numbers_as_strings", "outgoing_answered"):
        for d in reversed(load(scenario)):  # the summary first: order must not matter
            assert (await post(hook + d.event, form_body(d.json)))[0] == 200
    items = await leads(gateway, 3, until=lambda xs: any(x["recording"] for x in xs))
    by_phone = {x["phone"]: x for x in items}
    a, b, c = by_phone["+79161234567"], by_phone["+79031112233"], by_phone["+79261234567"]
    assert (a["direction"], a["result"], a["duration_s"], a["source"]) == ("in", "answered", 125, "Яндекс.Директ")
    assert (b["direction"], b["result"]) == ("in", "missed")
    assert (c["direction"], c["result"], c["advertising"]) == ("out", "answered", False)
    assert len(stub_mango["posts"]) == 1
    async with aiohttp.ClientSession() as http, http.get(gateway.url + a["recording"],
                                                         headers=gateway.headers()) as resp:
        assert resp.status == 200 and await resp.read() == MP3


async def test_an_extension_mapped_to_nobody_warns_at_start_and_the_lead_shows_it(
        capsys: pytest.CaptureFixture[str], gateway: Any) -> None:
    started = capsys.readouterr()  # the config maps 101 to "ivanov", a user nobody created
    [warning] = [line for line in (started.out + started.err).splitlines() if "mango.extension_user_missing" in line]
    assert "warning" in warning and "gateway user add ivanov --role manager --extension 101" in warning
    hook = gateway.url + "/hooks/mango/main/events/"
    first_call = load("incoming_answered_via_group")
    for d in first_call:
        assert (await post(hook + d.event, form_body(d.json)))[0] == 200
    await settled(gateway, len(first_call))  # the extension comes with a later event of the call
    [lead] = await leads(gateway, 1)
    assert (lead["manager"], lead["extension"]) == (None, "101")  # no user, but the extension is shown
    engine = make_engine(gateway.settings.database_url)
    with engine.begin() as conn:  # a user who has the extension, under another name, is found by it
        create_user(conn, "petrov", "manager", extension="101")
    engine.dispose()
    second_call = load("outgoing_answered")
    for d in second_call:  # made from extension 101 too
        assert (await post(hook + d.event, form_body(d.json)))[0] == 200
    await settled(gateway, len(first_call) + len(second_call))
    second = next(x for x in await leads(gateway, 2) if x["id"] != lead["id"])
    assert (second["manager"], second["extension"]) == ("petrov", "101")


async def test_refusals_store_nothing(gateway: Any) -> None:
    hook = gateway.url + "/hooks/mango/main/events/call"
    text = load("incoming_answered_via_group")[0].json
    status, body = await post(hook, form_body(text, signature="0" * 64))
    assert status == 403 and b"error" in body
    assert (await post(hook, A1_WIRE.replace(b"79161234567", b"79161234568")))[0] == 403
    assert (await post(gateway.url + "/hooks/mango/other/events/call", A1_WIRE))[0] == 403
    assert (await post(hook, b'{"json":"{}"}', "application/json"))[0] == 400
    assert (await post(hook, form_body("[1]")))[0] == 400
    assert await mango_events(gateway) == []


async def test_the_same_delivery_five_times_is_one_event(gateway: Any) -> None:
    url = gateway.url + "/hooks/mango/main/events/call"
    statuses = [(await post(url, A1_WIRE))[0], (await post(url, A1_WIRE))[0]]
    statuses += [s for s, _ in await asyncio.gather(post(url, A1_WIRE), post(url, A1_WIRE))]
    statuses.append((await post(url, A1_WIRE))[0])
    assert statuses == [200] * 5
    assert len(await mango_events(gateway)) == 1
    [lead] = await leads(gateway, 1)
    assert lead["phone"] == "+79161234567"


async def test_command_results_and_unknown_events_are_acknowledged(gateway: Any) -> None:
    body = form_body('{"command_id":"cb-0001","result":1000}')
    assert (await post(gateway.url + "/hooks/mango/main/result/callback", body))[0] == 200
    assert (await post(gateway.url + "/hooks/mango/main/vpbx/result/callback", body))[0] == 200
    assert (await post(gateway.url + "/hooks/mango/main/events/recognized/offline",
                       form_body('{"product_id":1,"request_id":7,"result":1000}')))[0] == 200
    assert sorted(e["name"] for e in await mango_events(gateway)) == ["recognized/offline", "result/callback"]


async def test_the_simulator_against_the_gateway(gateway: Any, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--url", gateway.url, "--account", "main", "--calls", "12", "--rate", "100",
            "--key", TEST_KEY, "--salt", TEST_SALT, "--seed", "7"]
    assert await asyncio.to_thread(simulate.main, argv) == 0
    out = capsys.readouterr().out
    assert "answers: 200 " in out and "duplicates" in out
    items = await leads(gateway, 12)
    assert {x["direction"] for x in items} <= {"in", "out", "internal"}
