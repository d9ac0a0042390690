"""Fan-out and unreadable input through the real gateway over sockets, on the real event log (SQLite)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text

from gateway.store.db import make_engine
from tests.connectors.messengers.messenger_harness import (
    TG_SECRET,
    VK_CONFIRMATION,
    VK_GROUP_ID,
    VK_SECRET,
    WA_APP_SECRET,
    WA_VERIFY,
    wa_signature,
)
from tests.connectors.messengers.test_fanout import nested, wa_delivery

TOML = f"""
[dispatch]
embedded_worker = "thread"

[[messengers.telegram]]
bot = "sales_bot"
token = "123456:TEST-bot-token"
secret_token = "{TG_SECRET}"
fetch_media = false

[[messengers.vk]]
group = "shop"
group_id = {VK_GROUP_ID}
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
max_parts = 5000

[[messengers.whatsapp]]
account = "small"
verify_token = "{WA_VERIFY}"
app_secret = "{WA_APP_SECRET}"
phone_number_id = "200000000000001"
fetch_media = false
max_parts = 10
"""


@pytest.fixture(autouse=True)
def fanout_config(_no_config_file: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "fanout.toml"
    config.write_text(TOML, encoding="utf-8")
    monkeypatch.setenv("GATEWAY_CONFIG", str(config))
    return config


async def send(server: Any, path: str, body: bytes, **headers: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as http, http.post(
        server.url + path, data=body, headers={"Content-Type": "application/json", **headers}
    ) as resp:
        return resp.status, await resp.read()


def rows(server: Any, sql: str, **params: Any) -> list[Any]:
    engine = make_engine(server.settings.database_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params))
    finally:
        engine.dispose()


def stored_bytes(server: Any, connector: str) -> tuple[int, int]:
    ((n, size),) = rows(server, "SELECT count(*), coalesce(sum(length(body)), 0) FROM events "
                                "WHERE connector = :c", c=connector)
    return int(n), int(size)


async def settled(server: Any, connector: str, want: int) -> dict[str, int]:
    """Wait until `want` events of the connector are done (the embedded worker processes them)."""
    deadline = time.monotonic() + 120
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        counts = {s: int(n) for s, n in rows(server, "SELECT status, count(*) FROM events WHERE connector = :c "
                                                     "GROUP BY status", c=connector)}
        if counts.get("done", 0) >= want:
            return counts
        await asyncio.sleep(0.2)
    raise AssertionError(f"not all {want} {connector} events were processed: {counts}")


async def test_whatsapp_thousands_of_statuses_store_about_the_body(server: Any) -> None:
    body = wa_delivery(statuses=3000, messages=2)
    assert (await send(server, "/hooks/whatsapp/main", body, **{"X-Hub-Signature-256": wa_signature(body)}))[0] \
        == 200
    n, size = stored_bytes(server, "whatsapp")
    print(f"\nwhatsapp: a {len(body):,}-byte body with 3,002 parts stored {n:,} events, {size:,} bytes of bodies "
          f"({size / len(body):.2f}x the body)")
    assert n == 3003  # each message and status, and the signed body once
    assert size < 4 * len(body)  # was 3,002 copies of the body
    counts = await settled(server, "whatsapp", n)
    assert counts == {"done": 3003}  # every part processed, none failed
    statuses = rows(server, "SELECT result FROM events WHERE connector = 'whatsapp' AND name = 'status'")
    assert len(statuses) == 3000
    assert all(json.loads(r[0])["status"] == "delivered" for r in statuses)
    async with aiohttp.ClientSession() as http, http.get(server.url + "/api/v1/leads?channel=whatsapp",
                                                         headers=server.headers()) as r:
        leads = (await r.json())["items"]
    assert len(leads) == 2
    # Meta retries the same delivery: acknowledged, nothing new stored, no second lead
    assert (await send(server, "/hooks/whatsapp/main", body, **{"X-Hub-Signature-256": wa_signature(body)}))[0] \
        == 200
    assert stored_bytes(server, "whatsapp") == (n, size)
    await asyncio.sleep(0.3)
    async with aiohttp.ClientSession() as http, http.get(server.url + "/api/v1/leads?channel=whatsapp",
                                                         headers=server.headers()) as r:
        assert len((await r.json())["items"]) == 2


async def test_whatsapp_more_parts_than_allowed_is_413_with_nothing_stored(server: Any) -> None:
    body = wa_delivery(statuses=11)
    status, answer = await send(server, "/hooks/whatsapp/small", body, **{"X-Hub-Signature-256": wa_signature(body)})
    assert status == 413
    error = json.loads(answer)["error"]
    assert "11" in error and "max_parts" in error and "ничего не сохранено" in error
    assert stored_bytes(server, "whatsapp") == (0, 0)
    ok = wa_delivery(statuses=10)
    assert (await send(server, "/hooks/whatsapp/small", ok, **{"X-Hub-Signature-256": wa_signature(ok)}))[0] == 200


async def test_deeply_nested_json_is_400_with_nothing_stored(server: Any) -> None:
    deep = nested(50_000)
    wa = b'{"object":"whatsapp_business_account","entry":' + deep + b"}"
    vk = (f'{{"type":"message_new","group_id":{VK_GROUP_ID},"secret":"{VK_SECRET}","event_id":"e1","object":'
          ).encode() + deep + b"}"
    tg = b'{"update_id":5,"message":' + deep + b"}"
    for path, body, headers in (
        ("/hooks/whatsapp/main", wa, {"X-Hub-Signature-256": wa_signature(wa)}),
        ("/hooks/vk/shop", vk, {}),
        ("/hooks/telegram/sales_bot", tg, {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}),
    ):
        status, answer = await send(server, path, body, **headers)
        assert (path, status) == (path, 400)
        assert "nested" in json.loads(answer)["error"]
    assert rows(server, "SELECT count(*) FROM events")[0][0] == 0


async def test_vk_wrong_secret_is_403_even_for_a_malformed_body(server: Any) -> None:
    for body in (b"not json", b'{"type":"message_new","secret":"wrong","object":' + b"[" * 50_000):
        assert (await send(server, "/hooks/vk/shop", body))[0] == 403
    assert (await send(server, "/hooks/vk/shop", b'{"secret":"' + VK_SECRET.encode() + b'", oops'))[0] == 400
    assert rows(server, "SELECT count(*) FROM events")[0][0] == 0


@pytest.mark.parametrize("value", [b"\xff\xfe", b"tg-test-secret_0123\xe9", "секрет".encode()])
async def test_telegram_secret_header_with_bytes_that_are_not_text_is_403(server: Any, value: bytes) -> None:
    host, port = server.url.removeprefix("http://").split(":")
    body = b'{"update_id":1,"message":{"message_id":1,"chat":{"id":1,"type":"private"},"date":1,"text":"hi"}}'
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"POST /hooks/telegram/sales_bot HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"X-Telegram-Bot-Api-Secret-Token: " + value + b"\r\n"
                 b"Content-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    assert status_line.split()[1] in (b"401", b"403"), status_line
    assert rows(server, "SELECT count(*) FROM events")[0][0] == 0
