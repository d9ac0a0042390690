"""WhatsApp Cloud API: hub challenge, body HMAC, one event per message and status, media, replies."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from gateway.config import Settings
from gateway.connectors.base import NewEvent
from gateway.connectors.messengers.reply import reply
from gateway.connectors.messengers.whatsapp import WhatsAppConnector
from gateway.connectors.messengers.whatsapp.connector import signature
from gateway.core.errors import NotFound, PayloadError, PermanentUpstreamError, SignatureError, TransientUpstreamError
from gateway.core.models import Direction, IdentityKind
from gateway.egress import AsyncOutboundClient, OutboundClient, OutboundPolicy
from gateway.store.files import FileStore
from tests.connectors.messengers.messenger_harness import (
    NOW,
    RECEIVED,
    WA_PHONE_ID,
    WA_TOKEN,
    WA_VERIFY,
    EventLog,
    fixture_bytes,
    fixture_json,
    inbound,
    messenger_settings,
    wa_signature,
)

GRAPH = "https://graph.facebook.com/v21.0"
IMAGE = fixture_bytes("whatsapp", "media_image.jpg")
WA = "79161234567"


def post(body: bytes, sig: str | None = "auto", account: str = "main"):
    headers = {} if sig is None else {"X-Hub-Signature-256": wa_signature(body) if sig == "auto" else sig}
    return inbound("POST", f"/hooks/whatsapp/{account}", {"account": account}, body=body, headers=headers)


def get(query: dict[str, str], account: str = "main"):
    return inbound("GET", f"/hooks/whatsapp/{account}", {"account": account}, query=query)


@pytest.fixture
def wa(settings: Settings) -> WhatsAppConnector:
    return WhatsAppConnector(settings)


@pytest.fixture
def log(wa: WhatsAppConnector, files: FileStore, http: OutboundClient) -> EventLog:
    return EventLog(wa, files, http)


async def deliver(log: EventLog, name: str) -> list[str]:
    _, ids = await log.deliver(log.connector.receive, post(fixture_bytes("whatsapp", name)))
    return ids


# --- edge ---------------------------------------------------------------------------------------

def test_signature_matches_the_cheat_sheet_vector() -> None:
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    assert signature("test_app_secret", body) == \
        "sha256=dec6a680679a968e7e0319355b23599cbfc54502c0784668e9618baa0c633756"


async def test_hub_challenge(wa: WhatsAppConnector) -> None:
    outcome = await wa.verify(get({"hub.mode": "subscribe", "hub.verify_token": WA_VERIFY,
                                   "hub.challenge": "1158201444"}))
    assert outcome.events == []
    r = outcome.build_reply([])
    assert (r.status, r.body, r.content_type) == (200, "1158201444", "text/plain")


@pytest.mark.parametrize("query", [
    {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
    {"hub.mode": "unsubscribe", "hub.verify_token": WA_VERIFY, "hub.challenge": "1"},
    {"hub.mode": "subscribe", "hub.challenge": "1"},
    {"hub.mode": "subscribe", "hub.verify_token": WA_VERIFY},
    {},
])
async def test_hub_challenge_refused(wa: WhatsAppConnector, query: dict[str, str]) -> None:
    with pytest.raises(SignatureError) as exc:
        await wa.verify(get(query))
    assert exc.value.status == 403


async def test_one_event_per_message(wa: WhatsAppConnector) -> None:
    body = fixture_bytes("whatsapp", "two_messages_one_delivery.json")
    outcome = await wa.receive(post(body))
    delivery, *parts = outcome.events
    assert [(e.key, e.name, e.group_key, e.account) for e in parts] == [
        ("msg:wamid.HBgLNzkxNjEyMzQ1NjcVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMQA=", "message", WA, "main"),
        ("msg:wamid.HBgLNzcwMTEyMzQ1NjcVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMgA=", "message", "77011234567", "main"),
    ]
    assert delivery.body == body and delivery.name == "delivery"  # the signed bytes, as received, once
    assert delivery.headers == {"X-Hub-Signature-256": wa_signature(body)}
    for part in parts:  # each part holds its own message only
        (message,) = json.loads(part.body)["entry"][0]["changes"][0]["value"]["messages"]
        assert part.key == f"msg:{message['id']}" and json.loads(part.body)["delivery"] == delivery.key
    assert outcome.build_reply(["1", "2"]).status == 200


async def test_statuses_are_keyed_by_id_and_status(wa: WhatsAppConnector) -> None:
    outcome = await wa.receive(post(fixture_bytes("whatsapp", "status_delivered.json")))
    (event,) = outcome.events
    assert event.key == "status:wamid.HBgLNzkxNjEyMzQ1NjcVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA:delivered"
    assert (event.name, event.group_key) == ("status", WA)


async def test_unknown_field_is_stored_once(wa: WhatsAppConnector) -> None:
    body = fixture_bytes("whatsapp", "account_update.json")
    outcome = await wa.receive(post(body))
    (event,) = outcome.events
    assert event.key.startswith("body:") and event.name == "account_update"
    again = await wa.receive(post(body))
    assert again.events[0].key == event.key  # a redelivery is a duplicate


async def test_tampered_body_is_refused(wa: WhatsAppConnector) -> None:
    body = fixture_bytes("whatsapp", "text_message.json")
    sig = wa_signature(body)
    tampered = body.replace(b"200", b"900")
    assert tampered != body
    with pytest.raises(SignatureError):
        await wa.receive(post(tampered, sig=sig))


@pytest.mark.parametrize("sig", [None, "", "sha256=", "sha1=abc", "sha256=" + "0" * 64])
async def test_missing_or_wrong_signature(wa: WhatsAppConnector, sig: str | None) -> None:
    with pytest.raises(SignatureError):
        await wa.receive(post(fixture_bytes("whatsapp", "text_message.json"), sig=sig))


async def test_signature_with_another_secret(wa: WhatsAppConnector) -> None:
    body = fixture_bytes("whatsapp", "text_message.json")
    with pytest.raises(SignatureError):
        await wa.receive(post(body, sig=wa_signature(body, "another_secret")))


async def test_signed_but_malformed_json(wa: WhatsAppConnector) -> None:
    with pytest.raises(PayloadError):
        await wa.receive(post(b'{"object": '))


async def test_unknown_account(wa: WhatsAppConnector) -> None:
    with pytest.raises(NotFound):
        await wa.receive(post(b"{}", account="nope"))


async def test_delivery_for_another_configured_number(files: FileStore) -> None:
    s = messenger_settings()
    data = s.model_dump()
    second = dict(data["messengers"]["whatsapp"][0], account="second", phone_number_id="200000000000001")
    s = Settings(messengers={**data["messengers"], "whatsapp": [data["messengers"]["whatsapp"][0], second]})
    note = fixture_json("whatsapp", "text_message.json")
    note["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "200000000000001"
    body = json.dumps(note).encode()
    outcome = await WhatsAppConnector(s).receive(post(body))
    assert outcome.events[0].account == "second"


# --- conversations ------------------------------------------------------------------------------

async def test_text_message(log: EventLog) -> None:
    (eid,) = await deliver(log, "text_message.json")
    out = log.process(eid)
    (i,) = out.interactions
    assert i.key == f"whatsapp:main:{WA}:wamid.HBgLNzkxNjEyMzQ1NjcVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="
    assert i.conversation_key == f"whatsapp:main:{WA}"
    assert i.name == "Иван Петров" and i.source == "WhatsApp" and i.text == "Здравствуйте, нужен расчёт на 200 штук"
    assert [(r.kind, r.value) for r in i.identities] == [(IdentityKind.WHATSAPP, WA), (IdentityKind.PHONE, "+" + WA)]
    assert i.messages[0].data["phone_number_id"] == WA_PHONE_ID


async def test_each_event_of_a_delivery_is_its_own_message(log: EventLog) -> None:
    delivery, *ids = await deliver(log, "two_messages_one_delivery.json")
    assert log.process(delivery).interactions == []
    outs = [log.process(e) for e in ids]
    assert [o.interactions[0].name for o in outs] == ["Иван Петров", "Айгерим"]
    assert outs[1].interactions[0].identities[1].value == "+77011234567"


async def test_ad_referral_is_the_source(log: EventLog) -> None:
    (eid,) = await deliver(log, "referral_message.json")
    (i,) = log.process(eid).interactions
    assert i.source == "Скидка 20% на первый заказ"
    assert i.custom["referral"]["source_type"] == "ad"


async def test_statuses_are_not_leads(log: EventLog) -> None:
    (eid,) = await deliver(log, "status_failed_131047.json")
    out = log.process(eid)
    assert out.interactions == [] and out.follow_ups == []
    assert out.result["status"] == "failed" and out.result["errors"][0]["code"] == 131047
    assert "24 hours" in out.result["errors"][0]["details"]


async def test_unsupported_message_is_still_a_lead(log: EventLog) -> None:
    (eid,) = await deliver(log, "unsupported_message.json")
    (i,) = log.process(eid).interactions
    assert i.text == "[unsupported message: poll_creation]" and i.name == "Пётр"


async def test_unknown_notification_is_not_a_lead(log: EventLog) -> None:
    (eid,) = await deliver(log, "account_update.json")
    out = log.process(eid)
    assert out.interactions == [] and out.result["ignored"] == "notification without messages"


# --- media --------------------------------------------------------------------------------------

async def test_image_is_fetched_with_the_token(log: EventLog, files: FileStore, respx_mock: respx.MockRouter) -> None:
    info = respx_mock.get(f"{GRAPH}/1003383421387256").respond(json=fixture_json("whatsapp", "api_media_url.json"))
    download = respx_mock.get(url__startswith="https://lookaside.fbsbx.com/whatsapp_business/attachments/").respond(
        content=IMAGE, headers={"Content-Type": "image/jpeg"})
    (eid,) = await deliver(log, "image_message.json")
    first = log.process(eid)
    assert first.interactions[0].text == "Вот такую модель" and first.interactions[0].attachments == []
    (media,) = first.follow_ups
    assert media.key == f"media:{WA}:wamid.HBgLNzkxNjEyMzQ1NjcVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMwA=:1003383421387256"
    out = log.process(log.by_key(media.key).id)
    for call in (info.calls[0], download.calls[0]):
        assert call.request.headers["Authorization"] == f"Bearer {WA_TOKEN}"
    (att,) = out.interactions[0].messages[0].attachments
    assert files.read(att.file_id) == IMAGE and att.name == "photo_1003383421387256.jpg"


async def test_corrupt_download_is_retried(log: EventLog, respx_mock: respx.MockRouter) -> None:
    respx_mock.get(f"{GRAPH}/1003383421387256").respond(json=fixture_json("whatsapp", "api_media_url.json"))
    respx_mock.get(url__startswith="https://lookaside.fbsbx.com/").respond(content=IMAGE[:-10])
    (eid,) = await deliver(log, "image_message.json")
    (media,) = log.process(eid).follow_ups
    with pytest.raises(TransientUpstreamError):
        log.process(log.by_key(media.key).id)


async def test_media_over_the_limit(files: FileStore, http: OutboundClient, respx_mock: respx.MockRouter) -> None:
    log = EventLog(WhatsAppConnector(messenger_settings(whatsapp={"max_media_mb": 0.0001})), files, http)
    respx_mock.get(f"{GRAPH}/1003383421387256").respond(json=fixture_json("whatsapp", "api_media_url.json"))
    download = respx_mock.get(url__startswith="https://lookaside.fbsbx.com/")
    (eid,) = await deliver(log, "image_message.json")
    (media,) = log.process(eid).follow_ups
    (att,) = log.process(log.by_key(media.key).id).interactions[0].attachments
    assert att.omitted and att.size == len(IMAGE) and att.reason == "larger than 0.0001 MB"
    assert not download.called


async def test_expired_media_is_recorded(log: EventLog, respx_mock: respx.MockRouter) -> None:
    respx_mock.get(f"{GRAPH}/1521946018649012").respond(400, json={"error": {
        "message": "Unsupported get request.", "type": "GraphMethodException", "code": 100, "fbtrace_id": "A"}})
    (eid,) = await deliver(log, "document_message.json")
    (media,) = log.process(eid).follow_ups
    (att,) = log.process(log.by_key(media.key).id).interactions[0].attachments
    assert att.omitted and att.name == "ТЗ.pdf" and "download refused" in att.reason


async def test_voice_note(log: EventLog) -> None:
    (eid,) = await deliver(log, "voice_message.json")
    out = log.process(eid)
    assert out.interactions[0].text == "[audio]"
    media = json.loads(out.follow_ups[0].body)["media"]
    assert (media["kind"], media["content_type"]) == ("voice", "audio/ogg")


# --- replies ------------------------------------------------------------------------------------

@pytest.fixture
async def ahttp():
    client = AsyncOutboundClient(OutboundPolicy(allow_private=True, attempts=3, backoff_max_s=0.01))
    yield client
    await client.aclose()


async def test_send_text(settings: Settings, ahttp: AsyncOutboundClient, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(f"{GRAPH}/{WA_PHONE_ID}/messages").respond(
        json=fixture_json("whatsapp", "api_send_message.json"))
    ref = await reply(settings, f"whatsapp:main:{WA}", "Расчёт готов", ahttp, now=NOW)
    assert ref.key == f"whatsapp:main:{WA}:wamid.HBgLNzkxNjEyMzQ1NjcVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkMA"
    assert (ref.direction, ref.at) == (Direction.OUT, NOW)
    request = route.calls[0].request
    assert request.headers["Authorization"] == f"Bearer {WA_TOKEN}"
    assert json.loads(request.content) == {"messaging_product": "whatsapp", "recipient_type": "individual",
                                           "to": WA, "type": "text", "text": {"preview_url": False,
                                                                             "body": "Расчёт готов"}}


async def test_closed_24_hour_window(settings: Settings, ahttp: AsyncOutboundClient,
                                     respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(f"{GRAPH}/{WA_PHONE_ID}/messages").respond(
        400, json=fixture_json("whatsapp", "api_error_131047.json"))
    with pytest.raises(PermanentUpstreamError) as exc:
        await reply(settings, f"whatsapp:main:{WA}", "Добрый день", ahttp)
    assert "more than 24 hours have passed" in exc.value.message and "131047" in exc.value.message
    assert route.call_count == 1


async def test_throughput_limit_is_retried(settings: Settings, ahttp: AsyncOutboundClient,
                                           respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(f"{GRAPH}/{WA_PHONE_ID}/messages")
    route.side_effect = [httpx.Response(400, json=fixture_json("whatsapp", "api_error_130429.json")),
                         httpx.Response(200, json=fixture_json("whatsapp", "api_send_message.json"))]
    ref = await reply(settings, f"whatsapp:main:{WA}", "Добрый день", ahttp)
    assert route.call_count == 2 and ref.key.endswith("MkMA")


async def test_reply_needs_the_phone_number_id(ahttp: AsyncOutboundClient) -> None:
    from gateway.core.errors import ConfigError

    s = messenger_settings(whatsapp={"phone_number_id": ""})
    with pytest.raises(ConfigError):
        await reply(s, f"whatsapp:main:{WA}", "text", ahttp)


def test_event_body_is_the_delivery(log: EventLog) -> None:
    body = fixture_bytes("whatsapp", "text_message.json")
    (eid,) = log.store([NewEvent("whatsapp", "main", "msg:unknown-id", body, RECEIVED, "message", WA)])
    assert log.process(eid).interactions == []  # an id the delivery does not hold: nothing to read
