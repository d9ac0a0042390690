"""VK Callback API: confirmation, secret, `ok` answers, messages, edits, lead forms, attachments, names, replies."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest
import respx

from gateway.config import Settings
from gateway.connectors.base import NewEvent
from gateway.connectors.messengers.reply import reply
from gateway.connectors.messengers.vk import VkConnector
from gateway.connectors.messengers.vk.api import send_reply
from gateway.core.errors import NotFound, PayloadError, PermanentUpstreamError, SignatureError
from gateway.core.models import Direction, IdentityKind, Kind
from gateway.egress import AsyncOutboundClient, OutboundClient, OutboundPolicy
from gateway.store.files import FileStore
from tests.connectors.messengers.messenger_harness import (
    NOW,
    RECEIVED,
    VK_CONFIRMATION,
    VK_SECRET,
    VK_TOKEN,
    EventLog,
    fixture_bytes,
    fixture_json,
    inbound,
    messenger_settings,
    vk_body,
)

API = "https://api.vk.com/method"
PHOTO = fixture_bytes("vk", "photo_w457239017.jpg")


def request(body: bytes, group: str = "shop", **headers: str):
    return inbound("POST", f"/hooks/vk/{group}", {"group": group}, body=body, headers=headers)


@pytest.fixture
def vk(settings: Settings) -> VkConnector:
    return VkConnector(settings)


@pytest.fixture
def log(vk: VkConnector, files: FileStore, http: OutboundClient) -> EventLog:
    return EventLog(vk, files, http)


def stored(log: EventLog, name: str) -> str:
    data = json.loads(vk_body(name))
    data.pop("secret")
    obj = data["object"].get("message", data["object"])
    group = str(obj.get("peer_id") or obj.get("user_id"))
    (eid,) = log.store([NewEvent("vk", "shop", data["event_id"], json.dumps(data).encode(), RECEIVED,
                                 data["type"], group)])
    return eid


# --- edge ---------------------------------------------------------------------------------------

async def test_confirmation_answers_the_code_and_stores_nothing(vk: VkConnector) -> None:
    outcome = await vk.receive(request(vk_body("confirmation.json")))
    assert outcome.events == []
    reply_ = outcome.build_reply([])
    assert (reply_.status, reply_.body) == (200, VK_CONFIRMATION)


async def test_confirmation_for_another_group_is_refused(vk: VkConnector) -> None:
    body = json.dumps({"type": "confirmation", "group_id": 1}).encode()
    with pytest.raises(SignatureError):
        await vk.receive(request(body))


async def test_event_is_stored_and_answered_ok(vk: VkConnector) -> None:
    outcome = await vk.receive(request(vk_body("message_new.json"), **{"X-Retry-Counter": "2"}))
    (event,) = outcome.events
    assert (event.connector, event.account, event.key) == ("vk", "shop", "6d0f7a4e21c3b4f0a1b2c3d4e5f60718293a4b5c")
    assert (event.name, event.group_key) == ("message_new", "745000001")
    assert event.headers == {"X-Retry-Counter": "2"}
    reply_ = outcome.build_reply(["1"])
    assert (reply_.status, reply_.body, reply_.content_type) == (200, b"ok", "text/plain")
    stored_body = json.loads(event.body)
    assert "secret" not in stored_body and VK_SECRET.encode() not in event.body
    assert stored_body["object"] == fixture_json("vk", "message_new.json")["object"]


@pytest.mark.parametrize("secret", [None, "", "vk-test-secret-0124", VK_SECRET.upper()])
async def test_wrong_secret_is_refused(vk: VkConnector, secret: str | None) -> None:
    data = fixture_json("vk", "message_new.json")
    if secret is not None:
        data["secret"] = secret
    with pytest.raises(SignatureError) as exc:
        await vk.receive(request(json.dumps(data).encode()))
    assert exc.value.status == 403


async def test_tampered_group_id_is_refused(vk: VkConnector) -> None:
    data = json.loads(vk_body("message_new.json"))
    data["group_id"] = 1
    with pytest.raises(SignatureError):
        await vk.receive(request(json.dumps(data).encode()))


@pytest.mark.parametrize("body", [f'{{"secret": "{VK_SECRET}", not json'.encode(),
                                  f'[{{"secret": "{VK_SECRET}"}}]'.encode(),
                                  json.dumps({"group_id": 229000001, "secret": VK_SECRET}).encode(),
                                  json.dumps({"type": "message_new", "group_id": 229000001,
                                              "secret": VK_SECRET}).encode()])
async def test_malformed_is_a_payload_error(vk: VkConnector, body: bytes) -> None:
    """With the right secret, a body that is not a callback is a 400; without it, a 403 (test_fanout.py)."""
    with pytest.raises(PayloadError):
        await vk.receive(request(body))


async def test_unknown_group(vk: VkConnector) -> None:
    with pytest.raises(NotFound):
        await vk.receive(request(vk_body("message_new.json"), group="other"))


async def test_unknown_event_type_is_stored(vk: VkConnector) -> None:
    outcome = await vk.receive(request(vk_body("group_join.json")))
    assert outcome.events[0].name == "group_join" and outcome.build_reply(["1"]).body == b"ok"


# --- conversations ------------------------------------------------------------------------------

def test_new_message(log: EventLog) -> None:
    out = log.process(stored(log, "message_new.json"))
    (i,) = out.interactions
    assert i.key == "vk:shop:745000001:311" and i.conversation_key == "vk:shop:745000001"
    assert i.source == "ВКонтакте"  # the messenger, not the group's technical name
    assert [(r.kind, r.value) for r in i.identities] == [(IdentityKind.VK, "745000001"),
                                                        (IdentityKind.PHONE, "+74951234567")]
    assert i.messages[0].data["conversation_message_id"] == 11
    (profile,) = out.follow_ups  # VK sends no name: ask users.get once
    assert (profile.name, profile.key) == ("fetch_profile", "profile:745000001")


def test_referral_is_the_source(log: EventLog) -> None:
    (i,) = log.process(stored(log, "message_new_with_ref.json")).interactions
    assert i.source == "summer_sale"
    assert i.custom["referral"] == {"ref": "summer_sale", "ref_source": "ads"}


def test_mapped_referral(files: FileStore, http: OutboundClient) -> None:
    log = EventLog(VkConnector(messenger_settings(vk={"referral_sources": {"summer_sale": "VK Реклама"}})),
                   files, http)
    assert log.process(stored(log, "message_new_with_ref.json")).interactions[0].source == "VK Реклама"


def test_edit_updates_the_entry(log: EventLog) -> None:
    first = log.process(stored(log, "message_new.json")).interactions[0]
    (edited,) = log.process(stored(log, "message_edit.json")).interactions
    assert edited.key == first.key and edited.messages[0].edited is True
    assert "розница" in edited.messages[0].text


@pytest.mark.parametrize(("name", "reason"), [
    ("message_reply.json", "outgoing message"),
    ("message_allow.json", "the person allowed messages from the community"),
    ("group_join.json", "event type not handled"),
])
def test_not_a_lead(log: EventLog, name: str, reason: str) -> None:
    out = log.process(stored(log, name))
    assert out.interactions == [] and out.follow_ups == [] and out.result["ignored"] == reason


def test_lead_form_is_a_form_lead(log: EventLog) -> None:
    (i,) = log.process(stored(log, "lead_forms_new.json")).interactions
    assert i.kind == Kind.FORM and i.key == "vk:shop:lead_form:4120001"
    assert i.name == "Анна" and i.source == "Заявка на расчёт"
    assert {(r.kind, r.value) for r in i.identities} == {
        (IdentityKind.VK, "745000002"), (IdentityKind.PHONE, "+7 916 765-43-21"),
        (IdentityKind.EMAIL, "anna@example.com")}
    assert i.custom["answers"]["custom_0"] == "Казань" and "Город: Казань" in i.text


def test_name_comes_from_users_get(log: EventLog, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(f"{API}/users.get").respond(json=fixture_json("vk", "api_users_get.json"))
    first = log.process(stored(log, "message_new.json"))
    assert first.interactions[0].name is None
    named = log.process(log.by_key("profile:745000001").id)
    assert named.interactions[0].key == first.interactions[0].key and named.interactions[0].name == "Анна Смирнова"
    form = parse_qs(route.calls[0].request.content.decode())
    assert form["user_ids"] == ["745000001"] and form["access_token"] == [VK_TOKEN]
    assert VK_TOKEN not in str(route.calls[0].request.url)
    later = log.process(stored(log, "message_new_follow_up.json"))
    assert later.interactions[0].name == "Анна Смирнова" and later.follow_ups == []


def test_no_profile_lookup_without_a_token(files: FileStore, http: OutboundClient) -> None:
    log = EventLog(VkConnector(messenger_settings(vk={"access_token": ""})), files, http)
    assert log.process(stored(log, "message_new.json")).follow_ups == []


# --- attachments --------------------------------------------------------------------------------

def test_photo_largest_size_is_fetched(log: EventLog, files: FileStore, respx_mock: respx.MockRouter) -> None:
    respx_mock.post(f"{API}/users.get").respond(json=fixture_json("vk", "api_users_get.json"))
    route = respx_mock.get("https://sun9-1.userapi.com/impg/w457239017.jpg").respond(content=PHOTO)
    first = log.process(stored(log, "message_new_photo.json"))
    media = next(f for f in first.follow_ups if f.name == "fetch_media")
    assert media.key == "media:745000001:313:745000001_457239017"
    log.drain()
    assert route.called
    final = log.process(log.by_key(media.key).id).interactions[0]
    (att,) = final.messages[0].attachments
    assert files.read(att.file_id) == PHOTO and att.content_type == "image/jpeg"
    assert final.name == "Анна Смирнова"  # the profile learnt meanwhile is kept


@pytest.mark.parametrize(("name", "url", "file_name"), [
    ("message_new_doc.json", "https://vk.com/doc745000001_671000001", "Прайс.xlsx"),
    ("message_new_audio_message.json", "https://psv4.userapi.com/s/v1/amsg/681000001.ogg",
     "voice_745000001_681000001.ogg"),
])
def test_documents_and_voice(files: FileStore, http: OutboundClient, respx_mock: respx.MockRouter, name: str,
                             url: str, file_name: str) -> None:
    log = EventLog(VkConnector(messenger_settings(vk={"fetch_profiles": False})), files, http)
    respx_mock.get(url__startswith=url).respond(content=b"OggS-or-xlsx-bytes")
    first = log.process(stored(log, name))
    assert first.interactions[0].text is None
    (media,) = first.follow_ups
    (att,) = log.process(log.by_key(media.key).id).interactions[0].attachments
    assert att.name == file_name and not att.omitted


def test_document_over_the_limit(files: FileStore, http: OutboundClient, respx_mock: respx.MockRouter) -> None:
    log = EventLog(VkConnector(messenger_settings(vk={"fetch_profiles": False, "max_media_mb": 0.01})), files, http)
    route = respx_mock.get(url__startswith="https://vk.com/doc")
    (media,) = log.process(stored(log, "message_new_doc.json")).follow_ups
    (att,) = log.process(log.by_key(media.key).id).interactions[0].attachments
    assert att.omitted and att.reason == "larger than 0.01 MB" and att.size == 20480
    assert not route.called


def test_refused_download_is_recorded(files: FileStore, http: OutboundClient, respx_mock: respx.MockRouter) -> None:
    log = EventLog(VkConnector(messenger_settings(vk={"fetch_profiles": False})), files, http)
    respx_mock.get(url__startswith="https://vk.com/doc").respond(404)
    (media,) = log.process(stored(log, "message_new_doc.json")).follow_ups
    (att,) = log.process(log.by_key(media.key).id).interactions[0].attachments
    assert att.omitted and att.reason.startswith("download refused")


# --- replies ------------------------------------------------------------------------------------

@pytest.fixture
async def ahttp():
    client = AsyncOutboundClient(OutboundPolicy(allow_private=True, attempts=3, backoff_max_s=0.01))
    yield client
    await client.aclose()


async def test_messages_send(settings: Settings, ahttp: AsyncOutboundClient, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(f"{API}/messages.send").respond(json=fixture_json("vk", "api_messages_send.json"))
    ref = await reply(settings, "vk:shop:745000001", "Пришлём прайс сегодня", ahttp, now=NOW)
    assert (ref.key, ref.direction, ref.at) == ("vk:shop:745000001:317", Direction.OUT, NOW)
    form = parse_qs(route.calls[0].request.content.decode())
    assert form["peer_id"] == ["745000001"] and form["message"] == ["Пришлём прайс сегодня"]
    assert form["v"] == ["5.199"] and int(form["random_id"][0]) > 0


async def test_retry_keeps_the_random_id(settings: Settings, ahttp: AsyncOutboundClient,
                                         respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(f"{API}/messages.send")
    route.side_effect = [respx.MockResponse(200, json=fixture_json("vk", "api_too_many_requests.json")),
                         respx.MockResponse(200, json=fixture_json("vk", "api_messages_send.json"))]
    sent = await send_reply(settings.messengers.vk[0], 745000001, "Здравствуйте", ahttp)
    ids = [parse_qs(c.request.content.decode())["random_id"] for c in route.calls]
    assert sent["message_id"] == 317 and len(ids) == 2 and ids[0] == ids[1]


async def test_no_permission_is_a_clear_refusal(settings: Settings, ahttp: AsyncOutboundClient,
                                                respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(f"{API}/messages.send").respond(json=fixture_json("vk", "api_messages_send_901.json"))
    with pytest.raises(PermanentUpstreamError) as exc:
        await reply(settings, "vk:shop:745000001", "Здравствуйте", ahttp)
    assert "has not allowed messages from the community" in exc.value.message
    assert "Can't send messages for users without permission" in exc.value.message
    assert "901" in exc.value.message and route.call_count == 1
