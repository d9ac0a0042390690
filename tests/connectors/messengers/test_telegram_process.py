"""Telegram updates to conversation entries: new person, follow-ups, contacts, edits, what is not a lead."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from gateway.config import Settings
from gateway.connectors.base import NewEvent, StoredEvent
from gateway.connectors.messengers.telegram import TelegramConnector
from gateway.connectors.messengers.telegram.messages import read_update
from gateway.core.errors import PayloadError
from gateway.core.models import Channel, Direction, IdentityKind, Kind
from gateway.egress import OutboundClient
from gateway.store.files import FileStore
from tests.connectors.messengers.messenger_harness import RECEIVED, EventLog, fixture_bytes, messenger_settings


def event(name: str, kind: str = "message", key: str | None = None, group: str | None = "123456789") -> StoredEvent:
    body = fixture_bytes("telegram", name)
    update_id = json.loads(body)["update_id"]
    return StoredEvent(id="1", connector="telegram", account="sales_bot", key=key or f"update:{update_id}",
                       name=kind, group_key=group, received_at=RECEIVED, headers={}, body=body)


@pytest.fixture
def log(settings: Settings, files: FileStore, http: OutboundClient) -> EventLog:
    return EventLog(TelegramConnector(settings), files, http)


def only(log: EventLog, name: str, kind: str = "message", group: str | None = "123456789"):
    outcome = TelegramConnector(log.connector.settings).process(event(name, kind, group=group), log)
    return outcome


def test_first_message_from_a_new_person(log: EventLog) -> None:
    outcome = only(log, "message_from_new_person.json")
    (i,) = outcome.interactions
    assert i.key == "telegram:sales_bot:123456789:17"
    assert i.conversation_key == "telegram:sales_bot:123456789"
    assert (i.channel, i.kind, i.direction, i.account) == (Channel.TELEGRAM, Kind.CHAT, Direction.IN, "sales_bot")
    assert i.source == "Telegram"  # the messenger, not the bot's technical name
    assert i.name == "Иван Петров"
    assert i.occurred_at == datetime.fromtimestamp(1767261600 + 17, UTC)
    assert [(r.kind, r.value) for r in i.identities] == [
        (IdentityKind.TELEGRAM, "123456789"), (IdentityKind.PHONE, "+79161234567")]
    (m,) = i.messages
    assert m.key == i.key and m.text == i.text and m.text.startswith("Здравствуйте")
    assert (m.direction, m.edited, m.deleted, m.author) == (Direction.IN, False, False, "Иван Петров")
    assert i.custom["username"] == "ivan_p"
    assert outcome.follow_ups == []
    assert outcome.result == {"messages": [i.key]}


def test_start_parameter_is_the_ad_referral(log: EventLog) -> None:
    (i,) = only(log, "start_with_referral.json").interactions
    assert i.source == "Яндекс.Директ"
    assert i.custom["referral"] == {"start": "yandex_direct"}


def test_bot_source_setting_is_used_without_referral(files: FileStore, http: OutboundClient) -> None:
    s = messenger_settings(telegram={"source": "Telegram-бот"})
    outcome = TelegramConnector(s).process(event("follow_up_message.json"), EventLog(None, files, http))
    assert outcome.interactions[0].source == "Telegram-бот"


def test_follow_up_joins_the_same_conversation(log: EventLog) -> None:
    first = only(log, "message_from_new_person.json").interactions[0]
    (later,) = only(log, "follow_up_message.json").interactions
    assert later.conversation_key == first.conversation_key
    assert later.key == "telegram:sales_bot:123456789:18" != first.key


def test_own_contact_card_gives_the_phone(log: EventLog) -> None:
    (i,) = only(log, "contact_shared_own.json").interactions
    assert (IdentityKind.PHONE, "79161234567") in [(r.kind, r.value) for r in i.identities]
    assert i.messages[0].data["contact"]["user_id"] == 123456789
    assert i.text == "[contact] Иван Петров"


def test_someone_elses_contact_card_is_not_the_persons_phone(log: EventLog) -> None:
    (i,) = only(log, "contact_of_someone_else.json").interactions
    assert [r.kind for r in i.identities] == [IdentityKind.TELEGRAM]
    assert i.messages[0].data["contact"]["phone_number"] == "+79031112233"  # kept for the operator
    assert "+7903" not in (i.text or "")


def test_edit_updates_the_same_entry(log: EventLog) -> None:
    original = only(log, "message_from_new_person.json").interactions[0]
    (edited,) = only(log, "edited_message.json", kind="edited_message").interactions
    assert edited.key == original.key and edited.messages[0].key == original.messages[0].key
    assert edited.messages[0].edited is True
    assert "Новосибирск" in edited.messages[0].text
    assert edited.messages[0].at == original.messages[0].at  # the send time, not the edit time
    assert edited.messages[0].data["edited_at"] == datetime.fromtimestamp(1767261600 + 300, UTC).isoformat()


def test_business_deletion_marks_messages_deleted(log: EventLog) -> None:
    outcome = only(log, "business_messages_deleted.json", kind="deleted_business_messages")
    assert [i.key for i in outcome.interactions] == ["telegram:sales_bot:123456789:17",
                                                     "telegram:sales_bot:123456789:18"]
    for i in outcome.interactions:
        assert i.messages[0].deleted is True
        assert i.history_only is True


@pytest.mark.parametrize(("name", "kind", "group", "reason"), [
    ("message_from_bot.json", "message", "-1001234567890", "message from a bot"),
    ("channel_post.json", "channel_post", "-1009876543210", "channel post"),
    ("unknown_update_type.json", "message_reaction", "123456789", "update type not handled"),
    ("service_message.json", "message", "-1001234567890", "service message"),
])
def test_not_a_lead(log: EventLog, name: str, kind: str, group: str, reason: str) -> None:
    outcome = only(log, name, kind=kind, group=group)
    assert outcome.interactions == [] and outcome.follow_ups == []
    assert outcome.result is not None and outcome.result["ignored"] == reason


def test_group_message_is_a_conversation_of_the_group(log: EventLog) -> None:
    (i,) = only(log, "group_message.json", group="-1001234567890").interactions
    assert i.conversation_key == "telegram:sales_bot:-1001234567890"
    assert i.identities[0].value == "987654321"
    assert i.messages[0].data["chat_type"] == "supergroup"


def test_processing_twice_gives_the_same_result(log: EventLog) -> None:
    a = only(log, "photo_with_caption.json")
    b = only(log, "photo_with_caption.json")
    assert a.interactions == b.interactions
    assert [f.key for f in a.follow_ups] == [f.key for f in b.follow_ups]


# fixture -> (messages, media, why nothing) that reading it gives; a new fixture must be added here
READINGS = {
    "business_messages_deleted.json": (2, 0, None), "channel_post.json": (0, 0, "channel post"),
    "contact_of_someone_else.json": (1, 0, None), "contact_shared_own.json": (1, 0, None),
    "document.json": (1, 1, None), "document_too_large.json": (1, 1, None), "edited_message.json": (1, 0, None),
    "follow_up_message.json": (1, 0, None), "group_message.json": (1, 0, None),
    "message_from_bot.json": (0, 0, "message from a bot"), "message_from_new_person.json": (1, 0, None),
    "photo_with_caption.json": (1, 1, None), "service_message.json": (0, 0, "service message"),
    "start_with_referral.json": (1, 0, None), "unknown_update_type.json": (0, 0, "update type not handled"),
    "voice.json": (1, 1, None),
}


def test_every_fixture_reads_as_expected() -> None:
    bot = messenger_settings().messengers.telegram[0]
    paths = sorted((Path(__file__).resolve().parents[2] / "fixtures" / "telegram").glob("*.json"))
    assert {p.name for p in paths if not p.name.startswith("api_")} == set(READINGS)
    for name, expected in READINGS.items():
        reading = read_update(event(name), bot)
        assert (len(reading.messages), len(reading.media), reading.result.get("ignored")) == expected, name
        assert all((m.channel, m.account) == (Channel.TELEGRAM, bot.bot) for m in reading.messages)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                         max_size=4), max_leaves=12)


@hsettings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["update_id", "message", "edited_message", "channel_post",
                                        "deleted_business_messages", "poll"]), json_values, max_size=3))
def test_arbitrary_updates_never_crash(update: dict) -> None:
    bot = messenger_settings().messengers.telegram[0]
    stored = StoredEvent(id="1", connector="telegram", account="sales_bot", key="update:1", name="message",
                         group_key=None, received_at=RECEIVED, headers={}, body=json.dumps(update).encode())
    try:
        reading = read_update(stored, bot)
    except PayloadError as exc:
        assert "not a Telegram update" in str(exc)  # the reason a 400 would carry
        return
    assert all((m.channel, m.account) == (Channel.TELEGRAM, bot.bot) for m in reading.messages)
    assert len(reading.media) <= sum(len(m.attachments) for m in reading.messages)
    present = {k for k, v in update.items() if v is not None}
    if not present & {"message", "edited_message", "channel_post", "deleted_business_messages"}:
        assert (reading.messages, reading.result) == ([], {"ignored": "update type not handled", "type": "message"})
    elif not present & {"message", "edited_message", "deleted_business_messages"}:
        assert (reading.messages, reading.result) == ([], {"ignored": "channel post"})
    elif not reading.messages:
        assert reading.result.get("ignored") or "deleted_business_messages" in present


def test_deletion_of_a_known_message_keeps_its_text(log: EventLog) -> None:
    ids = log.store([NewEvent("telegram", "sales_bot", e.key, e.body, RECEIVED, e.name, e.group_key) for e in (
        event("message_from_new_person.json"), event("edited_message.json", "edited_message"),
        event("business_messages_deleted.json", "deleted_business_messages"))])
    for eid in ids[:2]:
        log.process(eid)
    known, unknown = log.process(ids[2]).interactions
    assert known.key.endswith(":17") and known.messages[0].deleted and known.messages[0].edited
    assert "Новосибирск" in known.text and known.history_only is False
    assert unknown.key.endswith(":18") and unknown.messages[0].deleted and unknown.history_only is True
