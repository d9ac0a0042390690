"""Telegram files: getFile and the download in a follow-up, size limits, refusals, edits meanwhile."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from gateway.config import Settings
from gateway.connectors.base import NewEvent
from gateway.connectors.messengers.telegram import TelegramConnector
from gateway.core.errors import TransientUpstreamError
from gateway.egress import OutboundClient
from gateway.store.files import FileStore
from tests.connectors.messengers.messenger_harness import (
    RECEIVED,
    TG_TOKEN,
    EventLog,
    fixture_bytes,
    fixture_json,
    messenger_settings,
)

API = f"https://api.telegram.org/bot{TG_TOKEN}"
FILES = f"https://api.telegram.org/file/bot{TG_TOKEN}"
PHOTO = fixture_bytes("telegram", "photo_file_21.jpg")


def store_update(log: EventLog, name: str, kind: str = "message", drop_size: bool = False) -> str:
    body = fixture_bytes("telegram", name)
    data = json.loads(body)
    if drop_size:
        data["message"]["document"].pop("file_size")
        body = json.dumps(data).encode()
    chat = next(v for k, v in data.items() if k != "update_id")["chat"]["id"]
    (eid,) = log.store([NewEvent("telegram", "sales_bot", f"update:{data['update_id']}", body, RECEIVED, kind,
                                 str(chat))])
    return eid


@pytest.fixture
def log(settings: Settings, files: FileStore, http: OutboundClient) -> EventLog:
    return EventLog(TelegramConnector(settings), files, http)


def test_photo_is_fetched_in_a_follow_up(log: EventLog, files: FileStore, respx_mock: respx.MockRouter) -> None:
    get_file = respx_mock.post(f"{API}/getFile").respond(json=fixture_json("telegram", "api_get_file.json"))
    download = respx_mock.get(f"{FILES}/photos/file_21.jpg").respond(content=PHOTO)
    first = log.process(store_update(log, "photo_with_caption.json"))
    (i,) = first.interactions
    assert i.attachments == [] and i.messages[0].attachments == []  # pending, not omitted
    assert i.text == "Вот фото товара"
    (follow,) = first.follow_ups
    assert (follow.name, follow.key, follow.group_key) == ("fetch_media", "media:123456789:21:AQADphotoL", "123456789")
    assert get_file.call_count == 0  # nothing fetched while parsing the message

    fetched = log.process(log.by_key(follow.key).id)
    assert json.loads(get_file.calls[0].request.content) == {"file_id": "AgACAgIAAxkBAAIBZ2photo-large"}
    assert download.called
    (refreshed,) = fetched.interactions
    assert refreshed.key == i.key and refreshed.text == i.text
    (att,) = refreshed.messages[0].attachments
    assert (att.name, att.size, att.content_type, att.omitted) == ("photo_AQADphotoL.jpg", len(PHOTO), "image/jpeg",
                                                                    False)
    assert files.read(att.file_id) == PHOTO
    assert refreshed.attachments == [att]
    assert fetched.result == {"message_key": i.key, "attachment": att.model_dump(mode="json")}


def test_reprocessing_the_message_keeps_the_fetched_file(log: EventLog, respx_mock: respx.MockRouter) -> None:
    respx_mock.post(f"{API}/getFile").respond(json=fixture_json("telegram", "api_get_file.json"))
    respx_mock.get(f"{FILES}/photos/file_21.jpg").respond(content=PHOTO)
    eid = store_update(log, "photo_with_caption.json")
    log.drain()
    again = log.process(eid)  # a replay
    assert len(again.interactions[0].messages[0].attachments) == 1
    assert again.follow_ups == []  # already fetched


def test_edit_before_the_download_is_not_undone(log: EventLog, respx_mock: respx.MockRouter) -> None:
    respx_mock.post(f"{API}/getFile").respond(json=fixture_json("telegram", "api_get_file.json"))
    respx_mock.get(f"{FILES}/photos/file_21.jpg").respond(content=PHOTO)
    photo = fixture_json("telegram", "photo_with_caption.json")
    edit = {"update_id": 700000099, "edited_message": {**photo["message"], "caption": "Другое фото", "edit_date":
                                                        1767262000}}
    first = log.process(store_update(log, "photo_with_caption.json"))
    (edit_id,) = log.store([NewEvent("telegram", "sales_bot", "update:700000099", json.dumps(edit).encode(),
                                     RECEIVED, "edited_message", "123456789")])
    log.process(edit_id)
    fetched = log.process(log.by_key(first.follow_ups[0].key).id)
    (refreshed,) = fetched.interactions
    assert refreshed.text == "Другое фото" and refreshed.messages[0].edited is True
    assert len(refreshed.messages[0].attachments) == 1


def test_file_over_the_limit_is_omitted_without_downloading(log: EventLog, respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(f"{API}/getFile")
    first = log.process(store_update(log, "document_too_large.json"))
    fetched = log.process(log.by_key(first.follow_ups[0].key).id)
    (att,) = fetched.interactions[0].messages[0].attachments
    assert att.omitted is True and att.reason == "larger than 20 MB"
    assert (att.name, att.size) == ("video-presentation.zip", 31457280)
    assert not route.called


def test_telegram_refusing_a_big_file_is_recorded(log: EventLog, respx_mock: respx.MockRouter) -> None:
    respx_mock.post(f"{API}/getFile").respond(400, json=fixture_json("telegram", "api_get_file_too_big.json"))
    first = log.process(store_update(log, "voice.json"))
    fetched = log.process(log.by_key(first.follow_ups[0].key).id)
    (att,) = fetched.interactions[0].attachments
    assert att.omitted and att.reason == "larger than 20 MB"
    assert att.name == "voice_AgADvoice1.ogg"


def test_download_over_a_configured_limit_is_omitted(files: FileStore, http: OutboundClient,
                                                     respx_mock: respx.MockRouter) -> None:
    log = EventLog(TelegramConnector(messenger_settings(telegram={"max_media_mb": 0.0005})), files, http)
    info = fixture_json("telegram", "api_get_file.json")
    info["result"].pop("file_size")
    respx_mock.post(f"{API}/getFile").respond(json=info)
    respx_mock.get(f"{FILES}/photos/file_21.jpg").respond(content=PHOTO)
    first = log.process(store_update(log, "document.json", drop_size=True))
    fetched = log.process(log.by_key(first.follow_ups[0].key).id)
    (att,) = fetched.interactions[0].attachments
    assert att.omitted and att.reason == "larger than 0.0005 MB"
    assert att.size == len(PHOTO)  # the size was not told before: the download was measured, then dropped
    assert att.name == "ТЗ на поставку.pdf"


def test_transient_failure_retries_the_event(log: EventLog, respx_mock: respx.MockRouter) -> None:
    respx_mock.post(f"{API}/getFile").respond(429, json=fixture_json("telegram", "api_too_many_requests.json"))
    first = log.process(store_update(log, "document.json"))
    with pytest.raises(TransientUpstreamError) as exc:
        log.process(log.by_key(first.follow_ups[0].key).id)
    assert exc.value.retry_after == 1


def test_server_error_on_download_is_transient(log: EventLog, respx_mock: respx.MockRouter) -> None:
    respx_mock.post(f"{API}/getFile").respond(json=fixture_json("telegram", "api_get_file.json"))
    respx_mock.get(f"{FILES}/photos/file_21.jpg").mock(return_value=httpx.Response(502))
    first = log.process(store_update(log, "photo_with_caption.json"))
    with pytest.raises(TransientUpstreamError):
        log.process(log.by_key(first.follow_ups[0].key).id)


def test_media_fetching_off_records_the_file_as_omitted(files: FileStore, http: OutboundClient) -> None:
    log = EventLog(TelegramConnector(messenger_settings(telegram={"fetch_media": False})), files, http)
    outcome = log.process(store_update(log, "voice.json"))
    assert outcome.follow_ups == []
    (att,) = outcome.interactions[0].messages[0].attachments
    assert att.omitted and att.reason == "media fetching is turned off"
    assert outcome.interactions[0].text is None  # a voice message without caption
