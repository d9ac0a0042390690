"""The messenger edges through the real gateway over sockets: answers, what is stored, leads, simulator."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import respx

from gateway.connectors.messengers import simulate
from tests.connectors.messengers.messenger_harness import (
    TG_SECRET,
    TG_TOKEN,
    VK_CONFIRMATION,
    VK_SECRET,
    WA_APP_SECRET,
    WA_VERIFY,
    fixture_bytes,
    fixture_json,
    vk_body,
    wa_signature,
)

TOML = f"""
[dispatch]
embedded_worker = "thread"  # respx intercepts the Bot API in this process

[[messengers.telegram]]
bot = "sales_bot"
token = "{TG_TOKEN}"
secret_token = "{TG_SECRET}"
fetch_media = false

[[messengers.telegram]]
bot = "media_bot"
token = "{TG_TOKEN}"
secret_token = "{TG_SECRET}"

[[messengers.vk]]
group = "shop"
group_id = 229000001
secret = "{VK_SECRET}"
confirmation = "{VK_CONFIRMATION}"
fetch_media = false
fetch_profiles = false

[[messengers.whatsapp]]
account = "main"
verify_token = "{WA_VERIFY}"
app_secret = "{WA_APP_SECRET}"
phone_number_id = "106540352242922"
fetch_media = false
"""
@pytest.fixture(autouse=True)
def messengers_config(_no_config_file: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The `server` fixture reads GATEWAY_CONFIG: point it at the messengers (the registry is the real one)."""
    config = tmp_path / "messengers.toml"
    config.write_text(TOML, encoding="utf-8")
    monkeypatch.setenv("GATEWAY_CONFIG", str(config))
    return config


async def send(server: Any, method: str, path: str, body: bytes = b"", **headers: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as http, http.request(
        method, server.url + path, data=body, headers={"Content-Type": "application/json", **headers}
    ) as resp:
        return resp.status, await resp.read()


async def stored(server: Any, connector: str) -> list[dict]:
    async with aiohttp.ClientSession() as http, http.get(server.url + "/api/v1/events?limit=500",
                                                         headers=server.headers()) as resp:
        assert resp.status == 200
        return [e for e in (await resp.json())["items"] if e["connector"] == connector]


async def leads(server: Any, channel: str, want: int = 1) -> list[dict]:
    deadline = time.monotonic() + 20
    items: list[dict] = []
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            async with http.get(server.url + f"/api/v1/leads?channel={channel}", headers=server.headers()) as r:
                items = (await r.json())["items"]
            if len(items) >= want:
                return items
            await asyncio.sleep(0.05)
    raise AssertionError(f"{len(items)} {channel} leads, wanted {want}")


async def lead(server: Any, lead_id: Any) -> dict:
    async with aiohttp.ClientSession() as http, http.get(server.url + f"/api/v1/leads/{lead_id}",
                                                         headers=server.headers()) as r:
        return await r.json()


async def lead_with_attachment(server: Any, lead_id: Any) -> dict:
    deadline = time.monotonic() + 20
    found = await lead(server, lead_id)
    while not found["attachments"] and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        found = await lead(server, lead_id)
    return found


async def test_telegram_message_becomes_a_lead(server: Any) -> None:
    hdr = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
    status, _ = await send(server, "POST", "/hooks/telegram/sales_bot",
                           fixture_bytes("telegram", "message_from_new_person.json"), **hdr)
    assert status == 200
    (item,) = await leads(server, "telegram")
    assert item["phone"] == "+79161234567" and item["name"] == "Иван Петров" and item["kind"] == "chat"
    for name in ("follow_up_message.json", "edited_message.json", "message_from_bot.json",
                 "unknown_update_type.json"):
        assert (await send(server, "POST", "/hooks/telegram/sales_bot", fixture_bytes("telegram", name), **hdr))[0] \
            == 200
    again = await send(server, "POST", "/hooks/telegram/sales_bot",
                       fixture_bytes("telegram", "message_from_new_person.json"), **hdr)
    assert again[0] == 200  # a redelivery is acknowledged, and stored once
    assert len(await stored(server, "telegram")) == 5
    await asyncio.sleep(0.3)
    assert len(await leads(server, "telegram")) == 1  # later messages joined the conversation
    conversation = (await lead(server, item["id"]))["conversation"]
    assert [(m["key"], m["edited"]) for m in conversation] == [
        ("telegram:sales_bot:123456789:17", True), ("telegram:sales_bot:123456789:18", False)]
    assert "Новосибирск" in conversation[0]["text"]


async def test_telegram_photo_is_fetched_and_served(server: Any, respx_mock: respx.MockRouter) -> None:
    api = f"https://api.telegram.org/bot{TG_TOKEN}"
    respx_mock.post(f"{api}/getFile").respond(json=fixture_json("telegram", "api_get_file.json"))
    photo = fixture_bytes("telegram", "photo_file_21.jpg")
    respx_mock.get(f"https://api.telegram.org/file/bot{TG_TOKEN}/photos/file_21.jpg").respond(content=photo)
    status, _ = await send(server, "POST", "/hooks/telegram/media_bot",
                           fixture_bytes("telegram", "photo_with_caption.json"),
                           **{"X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
    assert status == 200
    (item,) = await leads(server, "telegram")
    (att,) = (await lead_with_attachment(server, item["id"]))["attachments"]
    assert att["name"] == "photo_AQADphotoL.jpg" and att["size"] == len(photo)
    async with aiohttp.ClientSession() as http, http.get(server.url + att["url"], headers=server.headers()) as r:
        assert r.status == 200 and await r.read() == photo


async def test_telegram_wrong_secret_stores_nothing(server: Any) -> None:
    status, body = await send(server, "POST", "/hooks/telegram/sales_bot",
                              fixture_bytes("telegram", "message_from_new_person.json"),
                              **{"X-Telegram-Bot-Api-Secret-Token": "wrong"})
    assert status == 403 and json.loads(body)["error"]
    status, _ = await send(server, "POST", "/hooks/telegram/sales_bot", b"{oops",
                           **{"X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
    assert status == 400
    assert await stored(server, "telegram") == []


async def test_vk_confirmation_and_ok(server: Any) -> None:
    status, body = await send(server, "POST", "/hooks/vk/shop", vk_body("confirmation.json"))
    assert (status, body) == (200, VK_CONFIRMATION.encode())
    status, body = await send(server, "POST", "/hooks/vk/shop", vk_body("message_new.json"))
    assert (status, body) == (200, b"ok")
    status, _ = await send(server, "POST", "/hooks/vk/shop", vk_body("message_new.json", secret="wrong"))
    assert status == 403
    events = await stored(server, "vk")
    assert len(events) == 1
    (item,) = await leads(server, "vk")
    assert item["phone"] == "+74951234567"


async def test_whatsapp_handshake_and_signed_delivery(server: Any) -> None:
    status, body = await send(server, "GET", "/hooks/whatsapp/main?hub.mode=subscribe"
                              f"&hub.verify_token={WA_VERIFY}&hub.challenge=8842")
    assert (status, body) == (200, b"8842")
    refused = await send(server, "GET", "/hooks/whatsapp/main?hub.mode=subscribe&hub.verify_token=x&hub.challenge=1")
    assert refused[0] == 403
    delivery = fixture_bytes("whatsapp", "two_messages_one_delivery.json")
    tampered = delivery.replace("Алматы".encode(), "Астана".encode())
    assert (await send(server, "POST", "/hooks/whatsapp/main", tampered,
                       **{"X-Hub-Signature-256": wa_signature(delivery)}))[0] == 403
    assert (await send(server, "POST", "/hooks/whatsapp/main", delivery,
                       **{"X-Hub-Signature-256": wa_signature(delivery)}))[0] == 200
    assert sorted(e["name"] for e in await stored(server, "whatsapp")) == ["delivery", "message", "message"]
    items = await leads(server, "whatsapp", want=2)
    assert {i["phone"] for i in items} == {"+79161234567", "+77011234567"}


@pytest.mark.parametrize(("provider", "account"), [("telegram", "sales_bot"), ("vk", "shop"), ("whatsapp", "main")])
async def test_simulator_is_acknowledged(server: Any, messengers_config: Path, provider: str, account: str) -> None:
    argv = [provider, "--url", server.url, "--account", account, "--count", "21", "--rate", "0",
            "--config", str(messengers_config), "--seed", "42"]
    assert await asyncio.to_thread(simulate.main, argv) == 0
    assert len(await stored(server, provider)) == 21
    await leads(server, provider, want=3)  # three people, one lead each
