"""Statistics as the domain defines them: advertising leads by default, won deals, outgoing calls that got a deal,
leads marked non-target by hand, tags that the journal's filter finds, and the journal's nearest task."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.api.conftest import Gateway
from tests.deals.conftest import Start, new_deal
from tests.deals.test_callbacks import MANGO, deliver

SOURCES = [{"name": "Партнёры", "advertising": False}]


async def report(gw: Gateway, **params: str) -> dict[str, Any]:
    async with gw.client("vera") as c:
        resp = await c.get("/api/v1/reports/leads", params={"group_by": "source", **params})
    assert resp.status_code == 200, resp.text
    return resp.json()


async def test_reports_count_advertising_leads_and_won_deals(crm: Start) -> None:
    gw = await crm(sources=SOURCES)
    won = await new_deal(gw, source="Сайт", phone="+79160006601")
    await new_deal(gw, source="Сайт", phone="+79160006602")
    await gw.lead("vera", name="От партнёра", phone="+79160006603", source="Партнёры")
    async with gw.client("vera") as c:
        await c.patch(f"/api/v1/deals/{won['id']}", json={"stage": "Успешно"})
    default, everything = await report(gw), await report(gw, advertising="all")
    rest = await report(gw, advertising="false")
    assert (default["totals"]["total"], everything["totals"]["total"], rest["totals"]["total"]) == (2, 3, 1)
    [site] = default["items"]
    assert (site["label"], site["with_deal"], site["won"], site["conversion"], site["conversion_won"]) == (
        "Сайт", 2, 1, 1.0, 0.5)
    async with gw.client("vera") as c:
        listed = (await c.get("/api/v1/leads")).json()["items"]  # the API's list is unchanged: every lead
    assert len(listed) == 3


async def test_an_outgoing_call_that_got_a_deal_becomes_advertising(crm: Start) -> None:
    gw = await crm(telephony=MANGO)
    await deliver(gw, "outgoing_answered")
    async with gw.client("vera") as c:
        for _ in range(400):
            calls = (await c.get("/api/v1/leads", params={"channel": "mango"})).json()["items"]
            if calls and calls[0]["result"]:
                break
        [call] = calls
        assert (call["direction"], call["advertising"], call["status"], call["deal_id"]) == ("out", False, "attached",
                                                                                          None)
        assert (await report(gw))["totals"]["total"] == 0
        accepted = await c.post(f"/api/v1/unsorted/{call['id']}/accept", json={})
        after = (await c.get(f"/api/v1/leads/{call['id']}")).json()
    assert accepted.status_code == 200 and after["deal_id"] == accepted.json()["deal_id"]
    assert after["advertising"] is True and (await report(gw))["totals"]["total"] == 1


async def test_a_lead_in_a_deal_marked_non_target_by_hand_and_tags_the_journal_finds(crm: Start) -> None:
    gw = await crm()
    deal = await new_deal(gw, phone="+79160007701")
    lead_id = deal["lead_ids"][0]
    async with gw.client("vera") as c:
        marked = (await c.post(f"/api/v1/leads/{lead_id}/non-target", json={"reason": "Сотрудник конкурента"})).json()
        tagged = (await c.post(f"/api/v1/leads/{lead_id}/tags", json={"add": ["конкурент", "проверить"]})).json()
        untagged = (await c.post(f"/api/v1/leads/{lead_id}/tags", json={"remove": ["проверить"]})).json()
        found = (await c.get("/api/v1/leads", params={"tag": "конкурент", "quality": "non_target"})).json()["items"]
        none = (await c.get("/api/v1/leads", params={"tag": "проверить"})).json()["items"]
    assert (marked["quality"], marked["non_target_reason"]) == ("non_target", "Сотрудник конкурента")
    assert tagged["tags"] == ["конкурент", "проверить"] and untagged["tags"] == ["конкурент"]
    assert [i["id"] for i in found] == [lead_id] and none == []
    assert (await report(gw))["totals"]["non_target"] == 1


async def test_the_journal_and_its_export_show_the_nearest_task(crm: Start) -> None:
    gw = await crm()
    deal = await new_deal(gw, phone="+79160008801")
    lead_id = deal["lead_ids"][0]
    async with gw.client("vera") as c:
        await c.post("/api/v1/tasks", json={"text": "Отправить КП", "deal_id": deal["id"],
                                            "due_at": "2030-05-02T12:00:00+03:00"})
        await c.post("/api/v1/tasks", json={"text": "Позвонить", "lead_id": lead_id,
                                            "due_at": "2030-05-01T10:00:00+03:00"})
        [item] = (await c.get("/api/v1/leads")).json()["items"]
        exported = (await c.get("/api/v1/leads/export", params={"format": "csv"})).content
    assert (item["nearest_task"]["text"], item["nearest_task"]["due_at"]) == ("Позвонить", "2030-05-01T07:00:00+00:00")
    [row] = list(csv.DictReader(io.StringIO(exported.decode("utf-8-sig"))))
    assert (row["Ближайшая задача"], row["Срок задачи"]) == ("Позвонить", "2030-05-01 10:00:00")
