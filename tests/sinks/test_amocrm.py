"""The amoCRM sink against a local amoCRM over a socket: what it sends, field by field, and how it copes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.sinks.fake_amocrm import FakeAmo, Fault
from tests.sinks.harness import FAST, STRAIGHT, Harness, harness, serve, sink_settings

PHONE = "+79161234567"


@pytest.fixture
async def amo() -> AsyncIterator[FakeAmo]:
    fake = FakeAmo()
    async with serve(fake.app()) as url:
        fake.url = url
        yield fake


def amo_conf(amo: FakeAmo, **extra: object) -> dict[str, object]:
    return {"name": "amo", "base_url": amo.url, "token": amo.token, "pipeline_id": 3166396, "delays": FAST,
            "stages": {"Лид": 142}, **extra}


@pytest.fixture
async def gw(amo: FakeAmo, tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(sink_settings(tmp_path, f"sqlite:///{tmp_path}/gw.db", amocrm=[amo_conf(amo)])) as h:
        yield h


def posted(amo: FakeAmo, path: str) -> list[object]:
    return [body for method, p, body in amo.requests if method == "POST" and p.startswith(path)]


async def test_a_call_becomes_a_sip_item_with_the_caller_line_duration_and_responsible(gw: Harness,
                                                                                      amo: FakeAmo) -> None:
    [lead_id] = set(gw.mango("incoming_answered_via_group"))
    await gw.drain()
    [[item]] = posted(amo, "/api/v4/leads/unsorted/sip")
    assert item["source_uid"] == item["request_id"] and item["source_uid"].startswith(f"lg{lead_id}-")
    assert item["source_name"] == "Lead Gateway: Яндекс.Директ"
    assert item["pipeline_id"] == 3166396
    assert item["created_at"] == 1767261594
    meta = item["metadata"]
    assert meta == {"is_call_event_needed": True, "uniq": item["source_uid"], "duration": 125,
                    "service_code": "lead_gateway", "phone": PHONE, "called_at": 1767261594,
                    "from": "74951234567", "call_responsible": "ivanov"}
    assert item["_embedded"]["leads"] == [{"name": "Входящий звонок +7 916 123-45-67"}]
    assert item["_embedded"]["contacts"] == [{"name": "+7 916 123-45-67", "custom_fields_values": [
        {"field_code": "PHONE", "values": [{"value": PHONE, "enum_code": "WORK"}]}]}]
    [sink] = gw.lead(lead_id)["sinks"]
    remote = amo.unsorted[0]["_embedded"]["leads"][0]["id"]
    assert sink == {"name": "amo", "status": "delivered", "remote_id": str(remote),
                    "url": f"{amo.url}/leads/detail/{remote}", "attempts": 1, "error": None,
                    "delivered_at": sink["delivered_at"], "next_attempt_at": None}


async def test_a_call_waits_for_its_summary(gw: Harness, amo: FakeAmo) -> None:
    gw.mango("incoming_answered_via_group", only=["A1", "A2", "A3"])
    await gw.drain()
    assert gw.jobs(event_type="sink.lead") == []
    gw.mango("incoming_answered_via_group", only=["A4"])
    await gw.drain()
    assert len(posted(amo, "/api/v4/leads/unsorted/sip")) == 1


async def test_a_known_contact_is_looked_up_first_and_referred_to_by_id(gw: Harness, amo: FakeAmo) -> None:
    amo.contacts[77] = {"id": 77, "name": "Иван", "custom_fields_values": [
        {"field_code": "PHONE", "values": [{"value": "8 (916) 123-45-67", "enum_code": "WORK"}]}]}
    gw.manual(name="Иван", phone="89161234567", text="Перезвоните")
    await gw.drain()
    gets = [p for m, p, _ in amo.requests if m == "GET" and p.startswith("/api/v4/contacts")]
    assert gets == ["/api/v4/contacts?query=9161234567&limit=50"]
    [[item]] = posted(amo, "/api/v4/leads/unsorted/forms")
    assert item["_embedded"]["contacts"] == [{"id": 77}]
    assert len(amo.contacts) == 1


async def test_a_form_lead_is_a_forms_item_with_its_text_as_a_note(gw: Harness, amo: FakeAmo) -> None:
    lead_id = gw.manual(name="Ольга", email="olga@example.org", text="Нужен расчёт на 40 мест")
    await gw.drain()
    [[item]] = posted(amo, "/api/v4/leads/unsorted/forms")
    assert item["metadata"]["form_id"] == "manual:tester"
    assert item["metadata"]["form_name"] == "tester"
    assert isinstance(item["metadata"]["form_sent_at"], int)
    assert item["_embedded"]["contacts"][0]["custom_fields_values"] == [
        {"field_code": "EMAIL", "values": [{"value": "olga@example.org", "enum_code": "WORK"}]}]
    [note] = amo.notes
    assert note["params"]["text"] == "Нужен расчёт на 40 мест"
    assert note["entity_id"] == int(gw.lead(lead_id)["sinks"][0]["remote_id"])


async def test_429_with_retry_after_is_honoured(gw: Harness, amo: FakeAmo) -> None:
    amo.faults.append(Fault("/api/v4/leads/unsorted", status=429, retry_after=0.5))
    lead_id = gw.mango("incoming_answered_via_group")[0]
    await gw.runner.run_once()
    [job] = gw.jobs(event_type="sink.lead")
    assert job["status"] == "pending" and job["attempts"] == 1 and job["last_status"] == 429
    wait = (job["next_attempt_at"] - job["attempted_at"]).total_seconds()
    assert 0.45 <= wait <= 0.6  # Retry-After, not the backoff
    assert gw.lead(lead_id)["sinks"][0]["status"] == "failed"
    await gw.drain()
    assert gw.lead(lead_id)["sinks"][0]["status"] == "delivered"
    assert len(amo.unsorted) == 1


async def test_a_500_then_success(gw: Harness, amo: FakeAmo) -> None:
    amo.faults.append(Fault("/api/v4/leads/unsorted/forms", status=500))
    lead_id = gw.manual(name="Пётр", phone="+79031112233")
    await gw.drain()
    [sink] = gw.lead(lead_id)["sinks"]
    assert sink["status"] == "delivered" and sink["attempts"] == 2
    assert len(amo.unsorted) == 1


async def test_a_timeout_after_the_remote_created_the_item_makes_no_twin(gw: Harness, amo: FakeAmo) -> None:
    amo.faults.append(Fault("/api/v4/leads/unsorted/forms", status=200, after_create_sleep=2.0))
    lead_id = gw.manual(name="Анна", phone="+79035556677")
    await gw.drain()
    [sink] = gw.lead(lead_id)["sinks"]
    assert sink["status"] == "delivered" and sink["attempts"] == 2
    assert len(amo.unsorted) == 1  # looked up, not sent again
    assert sink["remote_id"] == str(amo.unsorted[0]["_embedded"]["leads"][0]["id"])
    assert len(posted(amo, "/api/v4/leads/unsorted/forms")) == 1


async def test_a_validation_refusal_is_dead_at_once_with_amocrm_words(gw: Harness, amo: FakeAmo) -> None:
    amo.faults.append(Fault("/api/v4/leads/unsorted/forms", status=400, body={
        "title": "Bad Request", "status": 400, "detail": "Request validation failed", "validation-errors": [
            {"request_id": "0", "errors": [{"code": "NotSupportedChoice", "path": "pipeline_id",
                                             "detail": "The value you selected is not a valid choice."}]}]}))
    lead_id = gw.manual(name="Ира", phone="+79037778899")
    await gw.drain()
    [sink] = gw.lead(lead_id)["sinks"]
    assert sink["status"] == "dead" and sink["attempts"] == 1
    assert sink["error"] == ("amoCRM отказала (400): Request validation failed; "
                             "pipeline_id: The value you selected is not a valid choice.")


async def test_a_lead_sent_straight_to_a_stage_goes_through_leads_complex(gw: Harness, amo: FakeAmo) -> None:
    lead_id = gw.manual(name="Сергей", phone="+79161112233", company="ООО Ромашка", source=STRAIGHT)
    assert gw.lead(lead_id)["stage"] == "Лид"
    await gw.drain()
    [[item]] = posted(amo, "/api/v4/leads/complex")
    assert item["status_id"] == 142 and item["pipeline_id"] == 3166396
    assert item["_embedded"]["companies"] == [{"name": "ООО Ромашка"}]
    assert item["_embedded"]["contacts"][0]["name"] == "Сергей"
    assert posted(amo, "/api/v4/leads/unsorted") == []
    assert gw.lead(lead_id)["sinks"][0]["status"] == "delivered"


async def test_an_expired_token_is_refreshed_once_stored_and_used(amo: FakeAmo, tmp_path: Path) -> None:
    amo.refresh_token = "first-refresh"
    conf = amo_conf(amo, token="expired-token", client_id=amo.client_id, client_secret=amo.client_secret,
                    redirect_uri=amo.redirect_uri, refresh_token="first-refresh")
    async with harness(sink_settings(tmp_path, f"sqlite:///{tmp_path}/gw.db", amocrm=[conf])) as gw:
        first = gw.manual(name="Первый", phone="+79031230001")
        await gw.drain()
        assert gw.lead(first)["sinks"][0]["status"] == "delivered"
        assert amo.refreshes == 1  # a 401 refreshed the token once, then the request went through
        from gateway.store.sink_tokens import load_tokens

        with gw.runtime.engine.connect() as conn:
            stored = load_tokens(conn, "amo")
        assert stored is not None
        assert (stored.access_token, stored.refresh_token) == (amo.token, amo.refresh_token)
    # another process (a new runner) starts from the stored pair, not from the spent one in the settings
    async with harness(sink_settings(tmp_path, f"sqlite:///{tmp_path}/gw.db", amocrm=[conf])) as gw2:
        second = gw2.manual(name="Второй", phone="+79031230002")
        await gw2.drain()
        assert gw2.lead(second)["sinks"][0]["status"] == "delivered"
    assert amo.refreshes == 1
    assert len(amo.unsorted) == 2


async def test_a_refused_refresh_token_is_dead_with_what_to_do(amo: FakeAmo, tmp_path: Path) -> None:
    amo.refresh_token = "the-current-one"
    conf = amo_conf(amo, token=None, client_id=amo.client_id, client_secret=amo.client_secret,
                    redirect_uri=amo.redirect_uri, refresh_token="an-old-one")
    async with harness(sink_settings(tmp_path, f"sqlite:///{tmp_path}/gw.db", amocrm=[conf])) as gw:
        lead_id = gw.manual(name="Третий", phone="+79031230003")
        await gw.drain()
        [sink] = gw.lead(lead_id)["sinks"]
    assert sink["status"] == "dead"
    assert "refresh_token" in sink["error"] and "переподключите" in sink["error"]


async def test_later_chat_messages_become_notes_on_the_same_record(gw: Harness, amo: FakeAmo) -> None:
    from tests.sinks.chats import chat_message

    lead_id = gw.store([chat_message(1, "Здравствуйте, сколько стоит доставка?")])[0]
    await gw.drain()
    assert len(amo.unsorted) == 1
    gw.store([chat_message(2, "И можно ли оплатить картой?"), chat_message(3, "Адрес: Тверская, 1")])
    await gw.drain()
    assert len(amo.unsorted) == 1  # never a second item
    remote = int(gw.lead(lead_id)["sinks"][0]["remote_id"])
    texts = [n["params"]["text"] for n in amo.notes if n["entity_id"] == remote]
    assert texts == ["Здравствуйте, сколько стоит доставка?",
                     "Мария Петрова:\nИ можно ли оплатить картой?", "Мария Петрова:\nАдрес: Тверская, 1"]


async def test_the_rate_limit_is_kept_without_a_single_429(amo: FakeAmo, tmp_path: Path) -> None:
    conf = amo_conf(amo, concurrency=16)
    async with harness(sink_settings(tmp_path, f"sqlite:///{tmp_path}/gw.db", amocrm=[conf])) as gw:
        for i in range(12):
            gw.manual(name=f"Клиент {i}", phone=f"+7903444{i:04d}")
        await gw.drain(within_s=30)
        assert {j["status"] for j in gw.jobs(event_type="sink.lead")} == {"done"}
    assert amo.too_many == 0
    assert len(amo.unsorted) == 12
