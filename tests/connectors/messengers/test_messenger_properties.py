"""Properties of the shared pieces: no input crashes a reader or an edge, names stay names."""

from __future__ import annotations

import json

import pytest
from hypothesis import example, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from gateway.connectors.base import StoredEvent
from gateway.connectors.messengers.conversation import phones_in_text, source_for
from gateway.connectors.messengers.media import safe_name
from gateway.connectors.messengers.telegram import TelegramConnector
from gateway.connectors.messengers.vk import VkConnector
from gateway.connectors.messengers.vk.messages import read_callback
from gateway.connectors.messengers.whatsapp import WhatsAppConnector
from gateway.connectors.messengers.whatsapp.messages import read_delivery
from gateway.core.errors import PayloadError, SignatureError
from gateway.core.models import Channel
from tests.connectors.messengers.messenger_harness import (
    RECEIVED,
    TG_SECRET,
    inbound,
    messenger_settings,
    vk_body,
    wa_signature,
)

SETTINGS = messenger_settings()
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**40), max_value=2**40) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=15)


def event(connector: str, account: str, key: str, body: bytes) -> StoredEvent:
    return StoredEvent(id="1", connector=connector, account=account, key=key, name="x", group_key=None,
                       received_at=RECEIVED, headers={}, body=body)


@hsettings(max_examples=200, deadline=None)
@given(st.fixed_dictionaries({"type": st.sampled_from(["message_new", "message_edit", "lead_forms_new", "other"]),
                              "event_id": st.text(min_size=1, max_size=5)},
                             optional={"object": json_values, "group_id": json_values}))
def test_vk_reader_never_crashes(callback: dict) -> None:
    group = SETTINGS.messengers.vk[0]
    try:
        reading = read_callback(event("vk", "shop", "e", json.dumps(callback).encode()), group)
    except PayloadError as exc:
        assert "not a VK callback" in str(exc)
        return
    assert all((m.channel, m.account) == (Channel.VK, group.group) for m in reading.messages)
    # something to keep, or the reason there is nothing: never both, never neither
    assert bool(reading.messages or reading.interactions) != bool(reading.result.get("ignored")), reading
    if callback["type"] == "other":
        assert (reading.result["ignored"], reading.result["type"]) == ("event type not handled", "other")


@hsettings(max_examples=200, deadline=None)
@given(json_values, st.sampled_from(["msg:a", "status:a:sent", "body:x"]))
def test_whatsapp_reader_never_crashes(entry: object, key: str) -> None:
    body = json.dumps({"object": "whatsapp_business_account", "entry": entry}).encode()
    try:
        reading = read_delivery(event("whatsapp", "main", key, body), SETTINGS.messengers.whatsapp[0])
    except PayloadError as exc:
        assert "not a WhatsApp notification" in str(exc)
        return
    assert bool(reading.messages or reading.interactions) != bool(reading.result.get("ignored")), reading
    if key == "body:x":  # a body stored whole is read through its parts, never as a message itself
        assert (reading.messages, reading.result) == ([], {"ignored": "notification without messages", "type": "x"})


TELEGRAM_LIKE = st.fixed_dictionaries({"update_id": st.integers(min_value=0, max_value=2**31)},
                                      optional={"message": json_values, "type": json_values}).map(
    lambda v: json.dumps(v).encode())


@hsettings(max_examples=150, deadline=None)
@given(st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()) | TELEGRAM_LIKE)
@example(b'{"update_id": 5}')
async def test_edges_refuse_only_with_our_errors(body: bytes) -> None:
    tg = inbound("POST", "/hooks/telegram/sales_bot", {"bot": "sales_bot"}, body=body,
                 headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
    wa = inbound("POST", "/hooks/whatsapp/main", {"account": "main"}, body=body,
                 headers={"X-Hub-Signature-256": wa_signature(body)})
    vk = inbound("POST", "/hooks/vk/shop", {"group": "shop"}, body=body)
    for channel, account, handler, request in (
            ("telegram", "sales_bot", TelegramConnector(SETTINGS).receive, tg),
            ("whatsapp", "main", WhatsAppConnector(SETTINGS).receive, wa),
            ("vk", "shop", VkConnector(SETTINGS).receive, vk)):
        try:
            outcome = await handler(request)
        except (PayloadError, SignatureError) as exc:
            assert exc.status in (400, 403) and exc.message
            continue
        reply = outcome.build_reply([f"id{i}" for i in range(len(outcome.events))])
        assert 200 <= reply.status < 300, (channel, reply)
        assert all((e.connector, e.account) == (channel, account) for e in outcome.events)
        assert len({e.key for e in outcome.events}) == len(outcome.events)  # no two rows for one thing
        if channel == "telegram":  # accepted: it was an object with an integer update_id, stored under it
            assert [e.key for e in outcome.events] == [f"update:{json.loads(body)['update_id']}"]


async def test_vk_body_with_a_non_string_secret_is_refused() -> None:
    data = json.loads(vk_body("message_new.json"))
    data["secret"] = 12345
    with pytest.raises(SignatureError):
        await VkConnector(SETTINGS).receive(inbound("POST", "/hooks/vk/shop", {"group": "shop"},
                                                    body=json.dumps(data).encode()))


@given(st.text(max_size=400))
def test_phones_in_any_text(text: str) -> None:
    for phone in phones_in_text(text, "RU"):
        assert phone.startswith("+") and phone[1:].isdigit()


@pytest.mark.parametrize(("raw", "expected"), [
    ("../../etc/passwd", "passwd"), ("a\x00.pdf", "a.pdf"), ("C:\\Users\\x\\report.pdf", "report.pdf"),
    ("...", "fallback"), ("", "fallback"), (None, "fallback"), ("x" * 300, "x" * 200), ("  .hidden ", "hidden"),
])
def test_safe_name(raw: str | None, expected: str) -> None:
    assert safe_name(raw, "fallback") == expected


def test_source_for() -> None:
    bot = messenger_settings(telegram={"referral_sources": {"ya": "Яндекс"}}).messengers.telegram[0]
    assert source_for(bot) == "Telegram"  # the messenger's name, not the bot's technical one
    assert source_for(bot, "ya") == "Яндекс"
    assert source_for(bot, "summer_2026") == "summer_2026"
    assert source_for(bot, "<script>alert(1)</script>") == "Telegram"  # not a plain referral
    assert source_for(bot.model_copy(update={"source": "Бот продаж"})) == "Бот продаж"
