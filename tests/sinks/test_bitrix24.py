"""The Bitrix24 sink against a local portal over a socket: duplicates, leads, comments, limits, lost answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.sinks.fake_bitrix24 import FakeB24
from tests.sinks.harness import FAST, Harness, harness, serve, sink_settings


@pytest.fixture
async def b24() -> AsyncIterator[FakeB24]:
    fake = FakeB24()
    async with serve(fake.app()) as url:
        fake.url = url  # type: ignore[attr-defined]
        yield fake


def conf(b24: FakeB24, **extra: Any) -> dict[str, Any]:
    return {"name": "b24", "webhook_url": f"{b24.url}/rest/1/abc123def/", "delays": FAST,  # type: ignore[attr-defined]
            "rate_per_second": None, **extra}


@pytest.fixture
async def gw(b24: FakeB24, tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(sink_settings(tmp_path, f"sqlite:///{tmp_path}/gw.db", bitrix24=[conf(b24)])) as h:
        yield h


def called(b24: FakeB24, method: str) -> list[Any]:
    return [body for m, body in b24.requests if m == method]


async def test_a_new_person_becomes_a_lead_with_multifields_source_and_utm(gw: Harness, b24: FakeB24) -> None:
    gw.mango("incoming_answered_via_group")
    await gw.drain()
    assert called(b24, "crm.duplicate.findbycomm") == [
        {"type": "PHONE", "values": ["+79161234567", "89161234567"], "entity_type": "CONTACT"}]
    [add] = called(b24, "crm.lead.add")
    f = add["fields"]
    assert f["TITLE"] == "Входящий звонок +7 916 123-45-67"
    assert f["SOURCE_ID"] == "CALL" and f["SOURCE_DESCRIPTION"] == "Яндекс.Директ"
    assert f["PHONE"] == [{"VALUE": "+79161234567", "VALUE_TYPE": "WORK"}]
    assert f["ORIGINATOR_ID"] == "lead-gateway" and f["ORIGIN_ID"].startswith("lg")
    assert "Звонок: answered, разговор 125 с, линия 74951234567" in f["COMMENTS"]
    assert "CONTACT_ID" not in f
    assert add["params"] == {"REGISTER_SONET_EVENT": "Y"}


async def test_utm_and_email_of_a_manual_lead(gw: Harness, b24: FakeB24) -> None:
    lead_id = gw.manual(name="Ольга", email="olga@example.org", text="Счёт на 40 мест")
    await gw.drain()
    [add] = called(b24, "crm.lead.add")
    assert add["fields"]["EMAIL"] == [{"VALUE": "olga@example.org", "VALUE_TYPE": "WORK"}]
    assert add["fields"]["SOURCE_ID"] == "OTHER" and add["fields"]["NAME"] == "Ольга"
    assert add["fields"]["COMMENTS"] == "Счёт на 40 мест"
    [sink] = gw.lead(lead_id)["sinks"]
    [remote] = b24.leads
    assert sink["remote_id"] == str(remote) and sink["url"].endswith(f"/crm/lead/details/{remote}/")


async def test_a_known_person_gets_the_lead_attached_to_their_contact(gw: Harness, b24: FakeB24) -> None:
    contact = b24.add_contact(phone="8 916 123-45-67")
    gw.manual(name="Иван", phone="+79161234567")
    await gw.drain()
    [add] = called(b24, "crm.lead.add")
    assert add["fields"]["CONTACT_ID"] == contact


async def test_or_a_timeline_comment_when_the_settings_say_so(b24: FakeB24, tmp_path: Path) -> None:
    contact = b24.add_contact(email="ivan@example.org")
    settings = sink_settings(tmp_path, f"sqlite:///{tmp_path}/gw.db", bitrix24=[conf(b24, known_contact="comment")])
    async with harness(settings) as gw:
        lead_id = gw.manual(name="Иван", email="ivan@example.org", text="Ещё вопрос")
        await gw.drain()
        [sink] = gw.lead(lead_id)["sinks"]
    assert called(b24, "crm.lead.add") == []
    [comment] = b24.comments
    assert comment["ENTITY_TYPE"] == "contact" and comment["ENTITY_ID"] == contact
    assert "Ещё вопрос" in comment["COMMENT"]
    assert sink["status"] == "delivered" and sink["url"].endswith(f"/crm/contact/details/{contact}/")


async def test_query_limit_exceeded_is_retried(gw: Harness, b24: FakeB24) -> None:
    b24.fail_next.append(("crm.lead.add", 503, "QUERY_LIMIT_EXCEEDED"))
    lead_id = gw.manual(name="Пётр", phone="+79031112233")
    await gw.drain()
    [sink] = gw.lead(lead_id)["sinks"]
    assert sink["status"] == "delivered" and sink["attempts"] == 2 and len(b24.leads) == 1


async def test_a_lost_answer_is_looked_up_by_origin_id(gw: Harness, b24: FakeB24) -> None:
    b24.lost_answer.add("crm.lead.add")
    lead_id = gw.manual(name="Анна", phone="+79035556677")
    await gw.drain()
    [sink] = gw.lead(lead_id)["sinks"]
    assert sink["status"] == "delivered" and len(b24.leads) == 1
    [lookup] = called(b24, "crm.lead.list")
    assert lookup["filter"]["ORIGINATOR_ID"] == "lead-gateway"


async def test_a_refusal_is_dead_at_once_with_the_portal_words(gw: Harness, b24: FakeB24) -> None:
    b24.fail_next.append(("crm.lead.add", 400, ""))
    lead_id = gw.manual(name="Ира", phone="+79037778899")
    await gw.drain()
    [sink] = gw.lead(lead_id)["sinks"]
    assert sink["status"] == "dead" and sink["attempts"] == 1
    assert sink["error"] == "Битрикс24 отказал (crm.lead.add): Error"
