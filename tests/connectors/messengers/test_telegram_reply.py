"""Telegram answers (sendMessage) and the set-webhook command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import respx

from gateway.cli import main as gateway_cli
from gateway.config import Settings
from gateway.connectors.messengers.reply import reply
from gateway.connectors.messengers.telegram.api import send_reply
from gateway.connectors.messengers.telegram.cli import main, webhook_url
from gateway.core.errors import GatewayError, NotFound, PayloadError, PermanentUpstreamError
from gateway.core.models import Direction
from gateway.egress import AsyncOutboundClient, OutboundPolicy
from tests.connectors.messengers.messenger_harness import NOW, TG_SECRET, TG_TOKEN, fixture_json

API = f"https://api.telegram.org/bot{TG_TOKEN}"


@pytest.fixture
async def ahttp():
    client = AsyncOutboundClient(OutboundPolicy(allow_private=True, attempts=3, backoff_max_s=0.01))
    yield client
    await client.aclose()


async def test_send_reply(settings: Settings, ahttp: AsyncOutboundClient, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(f"{API}/sendMessage").respond(json=fixture_json("telegram", "api_send_message.json"))
    sent = await send_reply(settings.messengers.telegram[0], "123456789", "Доставка в Казань — 2 дня.", ahttp)
    assert sent["message_id"] == 42
    assert json.loads(route.calls[0].request.content) == {"chat_id": 123456789, "text": "Доставка в Казань — 2 дня."}


async def test_blocked_bot_is_a_clear_refusal(settings: Settings, ahttp: AsyncOutboundClient,
                                              respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(f"{API}/sendMessage").respond(
        403, json=fixture_json("telegram", "api_send_message_blocked.json"))
    with pytest.raises(PermanentUpstreamError) as exc:
        await send_reply(settings.messengers.telegram[0], "123456789", "Здравствуйте", ahttp)
    assert "blocked the bot" in exc.value.message
    assert "bot was blocked by the user" in exc.value.message
    assert route.call_count == 1  # a refusal is not retried


async def test_flood_control_is_retried(settings: Settings, ahttp: AsyncOutboundClient,
                                        respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(f"{API}/sendMessage")
    route.side_effect = [
        respx.MockResponse(429, json=fixture_json("telegram", "api_too_many_requests.json")),
        respx.MockResponse(200, json=fixture_json("telegram", "api_send_message.json")),
    ]
    sent = await send_reply(settings.messengers.telegram[0], "123456789", "Здравствуйте", ahttp)
    assert sent["message_id"] == 42 and route.call_count == 2


@pytest.mark.parametrize("text", ["", "   ", "x" * 4097])
async def test_empty_or_long_text_is_refused_before_sending(settings: Settings, ahttp: AsyncOutboundClient,
                                                            text: str) -> None:
    with pytest.raises(PayloadError):
        await send_reply(settings.messengers.telegram[0], "1", text, ahttp)


async def test_reply_dispatcher_returns_the_outgoing_entry(settings: Settings, ahttp: AsyncOutboundClient,
                                                           respx_mock: respx.MockRouter) -> None:
    respx_mock.post(f"{API}/sendMessage").respond(json=fixture_json("telegram", "api_send_message.json"))
    ref = await reply(settings, "telegram:sales_bot:123456789", "Доставка в Казань — 2 дня.", ahttp, now=NOW)
    assert ref.key == "telegram:sales_bot:123456789:42"
    assert ref.direction == Direction.OUT
    assert ref.text == "Доставка в Казань — 2 дня."
    assert ref.at.timestamp() == 1767261600 + 600  # Telegram's own time of the sent message


@pytest.mark.parametrize("key", ["telegram:sales_bot", "mango:main:1", "telegram::1", "x:y:z", "a:b:c:d"])
async def test_reply_to_something_else_is_refused(settings: Settings, ahttp: AsyncOutboundClient, key: str) -> None:
    with pytest.raises(PayloadError):
        await reply(settings, key, "text", ahttp)


async def test_reply_through_an_unknown_bot(settings: Settings, ahttp: AsyncOutboundClient) -> None:
    with pytest.raises(NotFound):
        await reply(settings, "telegram:old_bot:1", "text", ahttp)


def config(tmp_path: Path) -> Path:
    path = tmp_path / "gateway.toml"
    path.write_text(f'[[messengers.telegram]]\nbot = "sales_bot"\ntoken = "{TG_TOKEN}"\n'
                    f'secret_token = "{TG_SECRET}"\n', encoding="utf-8")
    return path


def test_set_webhook_registers_the_secret(tmp_path: Path, respx_mock: respx.MockRouter,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    route = respx_mock.post(f"{API}/setWebhook").respond(json=fixture_json("telegram", "api_set_webhook.json"))
    code = main(["--config", str(config(tmp_path)), "set-webhook", "--bot", "sales_bot",
                 "--url", "https://crm.example.com", "--drop-pending-updates"])
    assert code == 0
    sent = json.loads(route.calls[0].request.content)
    assert sent["url"] == "https://crm.example.com/hooks/telegram/sales_bot"
    assert sent["secret_token"] == TG_SECRET
    assert sent["drop_pending_updates"] is True
    assert "message" in sent["allowed_updates"]
    out = capsys.readouterr().out
    assert TG_TOKEN not in out and TG_SECRET not in out


def test_webhook_info(tmp_path: Path, respx_mock: respx.MockRouter, capsys: pytest.CaptureFixture[str]) -> None:
    respx_mock.post(f"{API}/getWebhookInfo").respond(json=fixture_json("telegram", "api_get_webhook_info.json"))
    assert gateway_cli(["telegram", "webhook-info", "--bot", "sales_bot", "--config", str(config(tmp_path))]) == 0
    assert "pending_update_count" in capsys.readouterr().out


def test_set_webhook_with_unknown_bot_fails_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--config", str(config(tmp_path)), "set-webhook", "--bot", "nope", "--url", "https://a.example"])
    assert code == 1 and "no telegram bot named 'nope'" in capsys.readouterr().err


def test_webhook_url() -> None:
    assert webhook_url("https://crm.example.com/", "b") == "https://crm.example.com/hooks/telegram/b"
    assert webhook_url("https://crm.example.com/tg/hook", "b") == "https://crm.example.com/tg/hook"
    with pytest.raises(GatewayError):
        webhook_url("http://crm.example.com", "b")
