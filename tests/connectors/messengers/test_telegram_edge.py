"""Telegram webhook edge: the secret header is checked before anything is read or stored."""

from __future__ import annotations

import pytest

from gateway.config import Settings
from gateway.connectors.messengers.telegram import TelegramConnector
from gateway.core.errors import NotFound, PayloadError, SignatureError
from tests.connectors.messengers.messenger_harness import TG_SECRET, fixture_bytes, inbound

HEADER = "X-Telegram-Bot-Api-Secret-Token"


def request(body: bytes, secret: str | None = TG_SECRET, bot: str = "sales_bot", **kw: object):
    headers = {HEADER: secret} if secret is not None else {}
    return inbound("POST", f"/hooks/telegram/{bot}", {"bot": bot}, body=body, headers=headers, **kw)


async def test_route_is_declared(settings: Settings) -> None:
    (route,) = TelegramConnector(settings).routes()
    assert (route.method, route.path) == ("POST", "/hooks/telegram/{bot}")


async def test_update_is_stored_under_its_update_id(settings: Settings) -> None:
    body = fixture_bytes("telegram", "message_from_new_person.json")
    outcome = await TelegramConnector(settings).receive(request(body))
    (event,) = outcome.events
    assert (event.connector, event.account, event.key) == ("telegram", "sales_bot", "update:700000001")
    assert event.name == "message"
    assert event.group_key == "123456789"
    assert event.body == body
    assert HEADER not in event.headers  # the secret never reaches the event log
    assert outcome.build_reply(["1"]).status == 200


@pytest.mark.parametrize("secret", [None, "", "tg-test-secret_0124", TG_SECRET + "x", TG_SECRET[:-1]])
async def test_wrong_or_missing_secret_is_refused_before_reading(settings: Settings, secret: str | None) -> None:
    body = fixture_bytes("telegram", "message_from_new_person.json")
    with pytest.raises(SignatureError) as exc:
        await TelegramConnector(settings).receive(request(body, secret, read_forbidden=True))
    assert exc.value.status == 403


async def test_header_name_is_case_insensitive(settings: Settings) -> None:
    body = fixture_bytes("telegram", "follow_up_message.json")
    req = inbound("POST", "/hooks/telegram/sales_bot", {"bot": "sales_bot"}, body=body,
                  headers={HEADER.lower(): TG_SECRET})
    outcome = await TelegramConnector(settings).receive(req)
    assert outcome.events[0].key == "update:700000003"


async def test_unknown_bot_is_not_found(settings: Settings) -> None:
    with pytest.raises(NotFound):
        await TelegramConnector(settings).receive(request(b"{}", bot="other_bot", read_forbidden=True))


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe", b'{"message": {}}', b'{"update_id": "7"}',
                                  b'{"update_id": true}'])
async def test_malformed_body_is_a_payload_error(settings: Settings, body: bytes) -> None:
    with pytest.raises(PayloadError) as exc:
        await TelegramConnector(settings).receive(request(body))
    assert exc.value.status == 400


@pytest.mark.parametrize(("name", "kind", "group"), [
    ("unknown_update_type.json", "message_reaction", "123456789"),
    ("channel_post.json", "channel_post", "-1009876543210"),
    ("business_messages_deleted.json", "deleted_business_messages", "123456789"),
    ("edited_message.json", "edited_message", "123456789"),
])
async def test_every_update_type_is_stored_and_acknowledged(settings: Settings, name: str, kind: str,
                                                            group: str) -> None:
    outcome = await TelegramConnector(settings).receive(request(fixture_bytes("telegram", name)))
    (event,) = outcome.events
    assert (event.name, event.group_key) == (kind, group)
    assert outcome.build_reply([]).status == 200


async def test_update_without_chat_has_no_group(settings: Settings) -> None:
    outcome = await TelegramConnector(settings).receive(request(b'{"update_id": 5, "poll": {"id": "1"}}'))
    assert outcome.events[0].group_key is None
    assert outcome.events[0].name == "poll"
