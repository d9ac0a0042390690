"""Triage over real sockets: accept, decline, link, bulk, merge; idempotency and the 409 of the second operator."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.store.schema import audit_log, blocklist, contacts, leads
from tests.api.conftest import THREAD, Gateway, serve
from tests.conftest import make_settings


def _row(gw: Gateway, table, **where):  # type: ignore[no-untyped-def]
    with gw.engine.connect() as conn:
        q = select(table)
        for k, v in where.items():
            q = q.where(table.c[k] == v)
        return [dict(r) for r in conn.execute(q).mappings()]


async def test_accept_creates_the_deal_in_the_first_working_stage(gateway: Gateway) -> None:
    lead = await gateway.lead(name="Иван Петров", phone="+7 916 123-45-67", email="ivan@acme.ru", text="Расчёт")
    assert lead["status"] == "unsorted"
    async with gateway.client("anna") as c:
        resp = await c.post(f"/api/v1/unsorted/{lead['id']}/accept", json={})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        deal = (await c.get(f"/api/v1/deals/{body['deal_id']}")).json()
    assert body["repeated"] is False and body["taken_by"] == "anna" and body["taken_at"]
    assert body["lead"]["status"] == "accepted" and body["lead"]["stage"] == "Лид"
    assert deal["pipeline"] == "Продажи" and deal["stage"] == "Лид" and deal["responsible"] == "anna"
    assert [x["id"] for x in deal["leads"]] == [lead["id"]]
    assert deal["contact"]["name"] == "Иван Петров" and deal["contact"]["phones"] == ["+79161234567"]
    [row] = _row(gateway, leads, id=lead["id"])
    assert row["taken_by"] == gateway.ids["anna"] and row["deal_id"] == body["deal_id"]
    [entry] = _row(gateway, audit_log, lead_id=lead["id"])
    assert entry["action"] == "lead.accept" and entry["user_id"] == gateway.ids["anna"]


async def test_accept_is_idempotent_and_the_second_operator_gets_409(gateway: Gateway) -> None:
    lead = await gateway.lead(name="Клиент", phone="+79160000001")
    async with gateway.client("anna") as anna, gateway.client("boris") as boris:
        first = await anna.post(f"/api/v1/unsorted/{lead['id']}/accept", json={})
        again = await anna.post(f"/api/v1/unsorted/{lead['id']}/accept", json={})
        other = await boris.post(f"/api/v1/unsorted/{lead['id']}/accept", json={})
        decline = await anna.post(f"/api/v1/unsorted/{lead['id']}/decline", json={"reason": "Спам"})
    assert first.status_code == again.status_code == 200
    assert again.json()["repeated"] is True and again.json()["deal_id"] == first.json()["deal_id"]
    assert other.status_code == 409
    assert other.json()["taken_by"] == "anna" and other.json()["at"] == first.json()["taken_at"]
    assert decline.status_code == 409  # a different decision on a taken lead


async def test_accept_into_a_chosen_pipeline_stage_and_responsible(tmp_path: Path) -> None:
    pipelines = [{"name": "Продажи", "stages": ["Лид", "Переговоры", "Успешно", "Отказ"]},
                 {"name": "Тендеры", "stages": ["Заявка", "Подача", "Успешно", "Отказ"]}]
    runner, gw = await serve(make_settings(tmp_path, pipelines=pipelines, dispatch=THREAD))
    try:
        lead = await gw.lead(name="Тендер", email="t@corp.ru")
        async with gw.client("anna") as c:
            url = f"/api/v1/unsorted/{lead['id']}/accept"
            assert (await c.post(url, json={"pipeline": "Нет такой"})).status_code == 400
            assert (await c.post(url, json={"pipeline": "Тендеры", "stage": "Лид"})).status_code == 400
            assert (await c.post(url, json={"stage": "Неразобранное"})).status_code == 400
            assert (await c.post(url, json={"responsible": "nobody"})).status_code == 400
            resp = await c.post(url, json={"pipeline": "Тендеры", "stage": "Подача", "responsible": "vera"})
            assert resp.status_code == 200, resp.text
            deal = (await c.get(f"/api/v1/deals/{resp.json()['deal_id']}")).json()
        assert (deal["pipeline"], deal["stage"], deal["responsible"]) == ("Тендеры", "Подача", "vera")
        assert resp.json()["taken_by"] == "anna"
    finally:
        await runner.cleanup()


async def _race(gw: Gateway, lead_id: int, first: str, second: str) -> list[int]:
    async with gw.client("anna") as anna, gw.client("boris") as boris:
        results = await asyncio.gather(
            anna.post(f"/api/v1/unsorted/{lead_id}/{first}", json={}),
            boris.post(f"/api/v1/unsorted/{lead_id}/{second}", json={}),
        )
    statuses = sorted(r.status_code for r in results)
    loser = next(r for r in results if r.status_code == 409)
    assert loser.json()["taken_by"] in ("anna", "boris") and loser.json()["at"]
    return statuses


@pytest.mark.parametrize("actions", [("accept", "accept"), ("accept", "decline"), ("decline", "decline")])
async def test_two_operators_at_once_sqlite(gateway: Gateway, actions: tuple[str, str]) -> None:
    lead = await gateway.lead(name="Гонка", phone="+79160000002")
    assert await _race(gateway, lead["id"], *actions) == [200, 409]
    assert len(_row(gateway, audit_log, lead_id=lead["id"])) == 1


async def test_two_operators_at_once_postgresql(pg_gateway: Gateway) -> None:
    for i in range(5):
        lead = await pg_gateway.lead(name=f"Гонка {i}", phone=f"+7916000001{i}")
        assert await _race(pg_gateway, lead["id"], "accept", "accept") == [200, 409]
        [row] = _row(pg_gateway, leads, id=lead["id"])
        assert row["deal_id"] is not None and row["status"] == "accepted"
    assert len(_row(pg_gateway, audit_log, action="lead.accept")) == 5


async def test_decline_as_spam_with_block_makes_later_leads_non_target(gateway: Gateway) -> None:
    lead = await gateway.lead(name="Спамер", phone="+79160000003", email="spam@spam.example")
    async with gateway.client("anna") as c:
        resp = await c.post(f"/api/v1/unsorted/{lead['id']}/decline", json={"reason": "Спам", "block": True})
        again = await c.post(f"/api/v1/unsorted/{lead['id']}/decline", json={"reason": "Спам", "block": True})
    assert resp.status_code == 200, resp.text
    assert resp.json()["lead"]["status"] == "declined" and resp.json()["lead"]["quality"] == "non_target"
    assert resp.json()["lead"]["decline_reason"] == "Спам" and resp.json()["blocked"] == ["phone", "email"]
    assert again.status_code == 200 and again.json()["repeated"] is True
    assert {(b["kind"], b["value"]) for b in _row(gateway, blocklist)} == {("phone", "+79160000003"),
                                                                          ("email", "spam@spam.example")}
    later = await gateway.lead(name="Спамер", phone="8 (916) 000-00-03")
    assert later["quality"] == "non_target" and later["non_target_reason"] == "blocked"
    assert later["status"] != "unsorted"


async def test_decline_with_free_text_reason(gateway: Gateway) -> None:
    lead = await gateway.lead(name="Ошибся", phone="+79160000004")
    async with gateway.client("vera") as c:
        resp = await c.post(f"/api/v1/unsorted/{lead['id']}/decline", json={"reason": "Искал другую фирму"})
    assert resp.status_code == 200 and resp.json()["lead"]["decline_reason"] == "Искал другую фирму"
    assert _row(gateway, blocklist) == []


async def test_link_to_an_existing_deal_any_kind(gateway: Gateway) -> None:
    first = await gateway.lead(name="Компания", phone="+79160000005")
    second = await gateway.lead(name="Коллега из компании", email="boss@company.example")
    async with gateway.client("anna") as anna, gateway.client("boris") as boris:
        deal_id = (await anna.post(f"/api/v1/unsorted/{first['id']}/accept", json={})).json()["deal_id"]
        url = f"/api/v1/unsorted/{second['id']}/link"
        assert (await anna.post(url, json={"deal_id": 999999})).status_code == 400
        resp = await anna.post(url, json={"deal_id": deal_id})
        again = await anna.post(url, json={"deal_id": deal_id})
        other = await boris.post(url, json={"deal_id": deal_id})
        deal = (await anna.get(f"/api/v1/deals/{deal_id}")).json()
    assert resp.status_code == 200 and resp.json()["lead"]["status"] == "linked"
    assert again.status_code == 200 and again.json()["repeated"] is True
    assert other.status_code == 409 and other.json()["taken_by"] == "anna"
    assert {x["id"] for x in deal["leads"]} == {first["id"], second["id"]}


async def test_link_an_attached_lead_of_a_known_contact(gateway: Gateway) -> None:
    first = await gateway.lead(name="Постоянный", phone="+79160000006")
    async with gateway.client("vera") as c:
        await c.post(f"/api/v1/unsorted/{first['id']}/decline", json={"reason": "Дубль"})
        repeat = await gateway.lead(name="Постоянный", phone="+79160000006")
        assert repeat["status"] == "attached" and repeat["deal_id"] is None
        other = await gateway.lead(name="Другой", phone="+79160000007")
        deal_id = (await c.post(f"/api/v1/unsorted/{other['id']}/accept", json={})).json()["deal_id"]
        resp = await c.post(f"/api/v1/unsorted/{repeat['id']}/link", json={"deal_id": deal_id})
    assert resp.status_code == 200 and resp.json()["deal_id"] == deal_id


async def test_bulk_accept_and_decline_answer_per_item(gateway: Gateway) -> None:
    ids = [(await gateway.lead(name=f"Пакет {i}", phone=f"+7916000002{i}"))["id"] for i in range(4)]
    async with gateway.client("anna") as anna, gateway.client("boris") as boris:
        await boris.post(f"/api/v1/unsorted/{ids[1]}/accept", json={})
        resp = await anna.post("/api/v1/unsorted/bulk", json={"action": "accept", "ids": [*ids[:3], 999999]})
        declined = await anna.post("/api/v1/unsorted/bulk",
                                   json={"action": "decline", "ids": [ids[3], ids[0]], "reason": "Спам"})
        bad = await anna.post("/api/v1/unsorted/bulk", json={"action": "explode", "ids": ids})
    assert resp.status_code == 200
    by_id = {i["id"]: i for i in resp.json()["items"]}
    assert by_id[ids[0]]["status"] == by_id[ids[2]]["status"] == 200 and by_id[ids[0]]["deal_id"]
    assert by_id[ids[1]]["status"] == 409 and by_id[ids[1]]["taken_by"] == "boris"
    assert by_id[999999]["status"] == 404
    assert (resp.json()["done"], resp.json()["failed"]) == (2, 2)
    items = {i["id"]: i for i in declined.json()["items"]}
    assert items[ids[3]]["status"] == 200 and items[ids[0]]["status"] == 409
    assert bad.status_code == 400


async def test_merge_two_contacts(gateway: Gateway) -> None:
    a = await gateway.lead(name="Пётр", phone="+79160000031")
    b = await gateway.lead(name="Пётр Сидоров", email="petr@firm.example")
    async with gateway.client("vera") as vera, gateway.client("anna") as anna:
        assert (await anna.post(f"/api/v1/contacts/{a['contact_id']}/merge",
                                json={"into": b["contact_id"]})).status_code == 403
        resp = await vera.post(f"/api/v1/contacts/{a['contact_id']}/merge", json={"into": b["contact_id"]})
        again = await vera.post(f"/api/v1/contacts/{a['contact_id']}/merge", json={"into": b["contact_id"]})
        back = await vera.post(f"/api/v1/contacts/{b['contact_id']}/merge", json={"into": a["contact_id"]})
        self_merge = await vera.post(f"/api/v1/contacts/{b['contact_id']}/merge", json={"into": b["contact_id"]})
        found = (await vera.get("/api/v1/contacts", params={"phone": "8 916 000-00-31"})).json()["items"]
        lead_a = (await vera.get(f"/api/v1/leads/{a['id']}")).json()
    assert resp.status_code == 200 and again.status_code == 200 and again.json()["repeated"] is True
    assert sorted(resp.json()["contact"]["phones"] + resp.json()["contact"]["emails"]) == [
        "+79160000031", "petr@firm.example"]
    assert back.status_code == 409 and self_merge.status_code == 400
    assert [c["id"] for c in found] == [b["contact_id"]]
    assert lead_a["contact_id"] == b["contact_id"]
    [merged] = _row(gateway, contacts, id=a["contact_id"])
    assert merged["merged_into"] == b["contact_id"]


async def test_matches_explain_and_rank_strongest_first(gateway: Gateway) -> None:
    known = await gateway.lead(name="Иван Петров", phone="+79161112233", email="ivan@acme-corp.ru")
    async with gateway.client("anna") as c:
        await c.post(f"/api/v1/unsorted/{known['id']}/accept", json={})
        colleague = await gateway.lead(name="Петров Иван", email="i.petrov@acme-corp.ru",
                                       text="Перезвоните на +7 916 111-22-33")
        namesake = await gateway.lead(name="Иван Петров", phone="+79169998877")
        stranger = await gateway.lead(name="Анна", email="anna@other-firm.ru")
        strong = (await c.get(f"/api/v1/unsorted/{colleague['id']}/matches")).json()["items"]
        weak = (await c.get(f"/api/v1/unsorted/{namesake['id']}/matches")).json()["items"]
        none = (await c.get(f"/api/v1/unsorted/{stranger['id']}/matches")).json()["items"]
        missing = await c.get("/api/v1/unsorted/999999/matches")
    assert strong[0]["contact"]["id"] == known["contact_id"]
    assert strong[0]["reasons"] == ["same phone", "same e-mail domain and similar name", "same name"]
    assert strong[0]["strength"] == "strong" and strong[0]["deals"][0]["stage"] == "Лид"
    assert [(m["contact"]["id"], m["reasons"], m["strength"]) for m in weak] == [
        (known["contact_id"], ["same name"], "weak"), (colleague["contact_id"], ["same name"], "weak")]
    assert none == [] and missing.status_code == 404
    [row] = _row(gateway, leads, id=namesake["id"])
    assert row["status"] == "unsorted" and row["deal_id"] is None  # a hint never links by itself
