"""One request, many parts: what the messenger edges store stays proportional to what arrived.

A WhatsApp delivery may batch many messages and statuses, a VK message may carry attachments; each
part becomes an event or a follow-up, and none of them may carry the whole body again. Bodies that
cannot be read safely (nested too deep, a secret header that is not text) are refused with a 4xx
before anything is stored.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import respx

from gateway.connectors.base import NewEvent
from gateway.connectors.messengers.edge import MAX_JSON_DEPTH
from gateway.connectors.messengers.telegram import TelegramConnector
from gateway.connectors.messengers.vk import VkConnector
from gateway.connectors.messengers.whatsapp import WhatsAppConnector
from gateway.core.errors import PayloadError, PayloadTooLarge, SignatureError
from gateway.egress import OutboundClient
from gateway.store.files import FileStore
from tests.connectors.messengers.messenger_harness import (
    RECEIVED,
    TG_SECRET,
    VK_GROUP_ID,
    VK_SECRET,
    WA_PHONE_ID,
    EventLog,
    fixture_json,
    inbound,
    messenger_settings,
    wa_signature,
)

WA = "79161234567"


def wa_post(body: bytes, **headers: str):
    return inbound("POST", "/hooks/whatsapp/main", {"account": "main"}, body=body,
                   headers={"X-Hub-Signature-256": wa_signature(body), **headers})


def wa_delivery(statuses: int, messages: int = 0) -> bytes:
    """One Cloud API notification batching `statuses` delivery statuses and `messages` texts from two people."""
    people = [WA, "77011234567"]
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "74950000000", "phone_number_id": WA_PHONE_ID},
        "contacts": [{"profile": {"name": f"Клиент {n}"}, "wa_id": wa} for n, wa in enumerate(people)],
        "messages": [{"from": people[n % 2], "id": f"wamid.M{n:06d}", "timestamp": "1767261900",
                      "type": "text", "text": {"body": f"Здравствуйте, вопрос номер {n}"}} for n in range(messages)],
        "statuses": [{"id": f"wamid.HBgLNzkxNjEyMzQ1NjcVAgARGBI{n:08d}", "status": "delivered",
                      "timestamp": "1767261900", "recipient_id": WA,
                      "conversation": {"id": "c0ffee", "origin": {"type": "service"}},
                      "pricing": {"billable": True, "pricing_model": "CBP", "category": "service"}}
                     for n in range(statuses)],
    }
    note = {"object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}]}
    return json.dumps(note, ensure_ascii=False).encode()


def nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


# --- 1. WhatsApp: the parts of one delivery ---------------------------------------------------------------

async def test_whatsapp_parts_store_their_own_slice_and_the_body_once() -> None:
    wa = WhatsAppConnector(messenger_settings(whatsapp={"max_parts": 5000}))
    body = wa_delivery(statuses=3000, messages=2)
    outcome = await wa.receive(wa_post(body))
    parts = [e for e in outcome.events if e.name in ("message", "status")]
    assert len(parts) == 3002 and len({e.key for e in parts}) == 3002
    whole = [e for e in outcome.events if e.body == body]
    assert len(whole) == 1 and whole[0].key.startswith("body:")  # the signed bytes, kept once
    stored = sum(len(e.body) for e in outcome.events)
    assert stored < 4 * len(body), (stored, len(body))  # was 3,002 times the body
    for part in parts:  # each part holds a notification with its own message or status only
        value = json.loads(part.body)["entry"][0]["changes"][0]["value"]
        assert len(value.get("messages", [])) + len(value.get("statuses", [])) == 1


async def test_whatsapp_each_part_reads_as_before(files: FileStore, http: OutboundClient) -> None:
    wa = WhatsAppConnector(messenger_settings(whatsapp={"fetch_media": False}))
    log = EventLog(wa, files, http)
    _, ids = await log.deliver(wa.receive, wa_post(wa_delivery(statuses=3, messages=4)))
    outcomes = log.drain()
    assert len(outcomes) == len(set(ids)) == 8  # four messages, three statuses, the delivery itself
    chats = [i for o in outcomes for i in o.interactions]
    assert sorted(m.text for i in chats for m in i.messages) == [f"Здравствуйте, вопрос номер {n}" for n in range(4)]
    assert {i.name for i in chats} == {"Клиент 0", "Клиент 1"}
    statuses = [o.result for o in outcomes if o.result and o.result.get("ignored") == "delivery status"]
    assert sorted(r["message_id"] for r in statuses) == [f"wamid.HBgLNzkxNjEyMzQ1NjcVAgARGBI{n:08d}" for n in range(3)]


async def test_whatsapp_a_redelivery_has_the_same_keys(files: FileStore, http: OutboundClient) -> None:
    wa = WhatsAppConnector(messenger_settings(whatsapp={"fetch_media": False}))
    log = EventLog(wa, files, http)
    body = wa_delivery(statuses=2, messages=2)
    _, first = await log.deliver(wa.receive, wa_post(body))
    _, again = await log.deliver(wa.receive, wa_post(body))
    assert again == first and len(log.events) == 5


async def test_whatsapp_too_many_parts_is_refused() -> None:
    wa = WhatsAppConnector(messenger_settings(whatsapp={"max_parts": 100}))
    assert (await wa.receive(wa_post(wa_delivery(statuses=99, messages=1)))).events
    with pytest.raises(PayloadTooLarge) as exc:
        await wa.receive(wa_post(wa_delivery(statuses=100, messages=1)))
    assert exc.value.status == 413
    assert "101" in exc.value.message and "100" in exc.value.message and "max_parts" in exc.value.message


def test_whatsapp_parts_have_a_default_bound() -> None:
    account = messenger_settings().messengers.whatsapp[0]
    assert account.max_parts == 1000


async def test_whatsapp_a_shared_field_is_not_copied_into_every_part() -> None:
    """A huge contact name or metadata would otherwise be repeated in each part's slice."""
    note = json.loads(wa_delivery(statuses=0, messages=300))
    value = note["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["profile"]["name"] = "Я" * 20_000
    value["metadata"]["padding"] = "x" * 20_000
    value["junk"] = "y" * 20_000
    body = json.dumps(note, ensure_ascii=False).encode()
    outcome = await WhatsAppConnector(messenger_settings()).receive(wa_post(body))
    assert sum(len(e.body) for e in outcome.events) < 3 * len(body)


# --- 2. VK: attachments of one message ----------------------------------------------------------------

def vk_many_attachments(n: int) -> dict[str, Any]:
    data = fixture_json("vk", "message_new_photo.json")
    photo = data["object"]["message"]["attachments"][0]
    data["object"]["message"]["attachments"] = [
        {"type": "photo", "photo": {**photo["photo"], "id": 457239017 + i}} for i in range(n)]
    return data


def test_vk_attachments_are_bounded_and_follow_ups_stay_small(files: FileStore, http: OutboundClient) -> None:
    log = EventLog(VkConnector(messenger_settings(vk={"fetch_profiles": False})), files, http)
    data = vk_many_attachments(1000)
    body = json.dumps(data, ensure_ascii=False).encode()
    (eid,) = log.store([NewEvent("vk", "shop", data["event_id"], body, RECEIVED, "message_new", "745000001")])
    out = log.process(eid)
    assert len(out.follow_ups) == 10  # VK sends at most ten attachments with a message
    assert all(len(f.body) < 2048 for f in out.follow_ups), max(len(f.body) for f in out.follow_ups)
    (i,) = out.interactions
    assert i.messages[0].data["attachments_over_limit"] == 990


def test_vk_follow_up_refreshes_the_message_from_the_log(files: FileStore, http: OutboundClient,
                                                        respx_mock: respx.MockRouter) -> None:
    """The follow-up no longer carries the message's body: it finds the message in its chat's events."""
    log = EventLog(VkConnector(messenger_settings(vk={"fetch_profiles": False})), files, http)
    respx_mock.get(url__startswith="https://sun9-1.userapi.com/").respond(content=b"\xff\xd8jpeg")
    data = vk_many_attachments(2)
    body = json.dumps(data, ensure_ascii=False).encode()
    (eid,) = log.store([NewEvent("vk", "shop", data["event_id"], body, RECEIVED, "message_new", "745000001")])
    follow_ups = log.process(eid).follow_ups
    assert all(b"\xd0\x92\xd0\xbe\xd1\x82" not in f.body for f in follow_ups)  # "Вот такой нужен" is not copied
    log.drain()
    last = log.process(log.by_key(follow_ups[-1].key).id)
    (i,) = last.interactions
    assert i.messages[0].text == "Вот такой нужен" and len(i.messages[0].attachments) == 2


# --- 5. bodies and headers that cannot be read safely -----------------------------------------------------

@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 100_000])
async def test_deeply_nested_json_is_a_payload_error(depth: int) -> None:
    settings = messenger_settings()
    deep = nested(depth)
    tg = inbound("POST", "/hooks/telegram/sales_bot", {"bot": "sales_bot"}, body=b'{"update_id":1,"x":' + deep + b"}",
                 headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
    vk_body = (f'{{"type":"message_new","group_id":{VK_GROUP_ID},"secret":"{VK_SECRET}","event_id":"e1",'
               '"object":').encode() + deep + b"}"
    vk = inbound("POST", "/hooks/vk/shop", {"group": "shop"}, body=vk_body)
    wa_body = b'{"object":"whatsapp_business_account","entry":' + deep + b"}"
    for handler, request in ((TelegramConnector(settings).receive, tg), (VkConnector(settings).receive, vk),
                             (WhatsAppConnector(settings).receive, wa_post(wa_body))):
        with pytest.raises(PayloadError) as exc:
            await handler(request)
        assert exc.value.status == 400 and "nested" in exc.value.message


async def test_json_as_deep_as_allowed_is_read() -> None:
    body = b'{"update_id":7,"x":' + nested(MAX_JSON_DEPTH - 1) + b"}"
    request = inbound("POST", "/hooks/telegram/sales_bot", {"bot": "sales_bot"}, body=body,
                      headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
    (event,) = (await TelegramConnector(messenger_settings()).receive(request)).events
    assert event.key == "update:7"


@pytest.mark.parametrize("body", [
    b"not json",
    b'{"type":"message_new","secret":"wrong","object":' + b"[" * 100_000,
    b'{"type":"message_new","secret":"' + VK_SECRET.upper().encode() + b'","event_id":"e1","object":{}}',
    b'{"type":"message_new","event_id":"e1","object":{"text":"\\"secret\\":\\"' + VK_SECRET.encode() + b'\\""}}',
    b"[" * 100_000,
])
async def test_vk_checks_the_secret_before_reading_the_body(body: bytes) -> None:
    request = inbound("POST", "/hooks/vk/shop", {"group": "shop"}, body=body)
    with pytest.raises(SignatureError) as exc:
        await VkConnector(messenger_settings()).receive(request)
    assert exc.value.status == 403


async def test_vk_malformed_body_with_the_right_secret_is_a_payload_error() -> None:
    body = b'{"type":"message_new","secret":"' + VK_SECRET.encode() + b'","object":{'
    with pytest.raises(PayloadError) as exc:
        await VkConnector(messenger_settings()).receive(inbound("POST", "/hooks/vk/shop", {"group": "shop"},
                                                                body=body))
    assert exc.value.status == 400


@pytest.mark.parametrize("value", ["\udcff\udcfe", TG_SECRET + "\udce9", "секрет", "\x00"])
async def test_telegram_secret_header_that_is_not_ascii_is_refused(value: str) -> None:
    """aiohttp hands invalid UTF-8 in a header over as lone surrogates; they are a wrong secret, not a crash."""
    request = inbound("POST", "/hooks/telegram/sales_bot", {"bot": "sales_bot"}, body=b'{"update_id":1}',
                      headers={"X-Telegram-Bot-Api-Secret-Token": value}, read_forbidden=True)
    with pytest.raises(SignatureError) as exc:
        await TelegramConnector(messenger_settings()).receive(request)
    assert exc.value.status == 403


def test_a_follow_up_stored_with_its_message_body_still_refreshes_it(files: FileStore, http: OutboundClient,
                                                                     respx_mock: respx.MockRouter) -> None:
    """Follow-ups stored before carried the message's body; they are read as before, without the log's copy."""
    respx_mock.get(url__startswith="https://sun9-1.userapi.com/").respond(content=b"\xff\xd8jpeg")
    settings = messenger_settings(vk={"fetch_profiles": False})
    data = vk_many_attachments(1)
    body = json.dumps(data, ensure_ascii=False).encode()
    first = EventLog(VkConnector(settings), files, http)
    (eid,) = first.store([NewEvent("vk", "shop", data["event_id"], body, RECEIVED, "message_new", "745000001")])
    (media,) = first.process(eid).follow_ups
    task = json.loads(media.body) | {"source_body": body.decode()}
    later = EventLog(VkConnector(settings), files, http)  # the message's own event is not in this log
    (fid,) = later.store([NewEvent("vk", "shop", media.key, json.dumps(task).encode(), RECEIVED, media.name,
                                   media.group_key)])
    (i,) = later.process(fid).interactions
    assert i.messages[0].text == "Вот такой нужен" and len(i.messages[0].attachments) == 1
