"""Deals move: stage, responsible, budget, name and tags under a version; won and lost close; history; the list."""

from __future__ import annotations

import asyncio

from tests.deals.conftest import Start, new_deal, pipeline


async def test_two_operators_move_the_same_deal_at_once(crm: Start, database_url: str) -> None:
    gw = await crm(database_url=database_url)
    deal = await new_deal(gw)
    assert deal["version"] == 1 and deal["stage"] == "Лид"

    async def moves(who: str, stage: str) -> tuple[str, int, dict]:
        async with gw.client(who) as c:
            resp = await c.patch(f"/api/v1/deals/{deal['id']}", json={"stage": stage, "version": deal["version"]})
        return who, resp.status_code, resp.json()

    answers = await asyncio.gather(moves("vera", "Переговоры"), moves("root", "Счёт"))
    assert sorted(status for _, status, _ in answers) == [200, 409]
    (winner, _, won), (_, _, lost) = sorted(answers, key=lambda a: a[1])
    assert won["version"] == 2 and won["stage"] in ("Переговоры", "Счёт")
    assert lost["deal"]["version"] == 2 and lost["deal"]["stage"] == won["stage"]  # the deal as it now is
    assert "changed meanwhile" in lost["error"]
    async with gw.client("root") as c:
        history = (await c.get(f"/api/v1/deals/{deal['id']}/history")).json()["items"]
    assert [(h["action"], h["data"]["after"], h["user"]) for h in history if h["action"] == "deal.stage"] == [
        ("deal.stage", won["stage"], winner)]  # one move, by the winner


async def test_won_and_lost_close_the_deal_and_leaving_them_reopens_it(crm: Start) -> None:
    gw = await crm(pipeline(stages=["Лид", "Переговоры", "Договор", "Отгрузка", "Провал"]))  # no usual names
    deal = await new_deal(gw)
    async with gw.client("vera") as c:
        won = (await c.patch(f"/api/v1/deals/{deal['id']}", json={"stage": "Отгрузка", "version": 1})).json()
        again = (await c.patch(f"/api/v1/deals/{deal['id']}", json={"stage": "Переговоры"})).json()
        lost = (await c.patch(f"/api/v1/deals/{deal['id']}", json={"stage": "Провал"})).json()
        back = await c.patch(f"/api/v1/deals/{deal['id']}", json={"stage": "Неразобранное"})
        listed = (await c.get("/api/v1/deals", params={"status": "lost"})).json()["items"]
    assert (won["status"], bool(won["closed_at"])) == ("won", True)  # the second to last stage wins by default
    assert (again["status"], again["closed_at"]) == ("open", None)
    assert (lost["status"], bool(lost["closed_at"]), lost["version"]) == ("lost", True, 4)
    assert back.status_code == 400 and "Unsorted" in back.json()["error"]
    assert [d["id"] for d in listed] == [deal["id"]]


async def test_named_won_and_lost_stages_and_the_older_names(crm: Start) -> None:
    gw = await crm(
        {"name": "Продажи", "stages": ["Лид", "Сделано", "Пропало", "Архив"], "won_stage": "Сделано",
         "lost_stage": "Пропало"},
        {"name": "Тендеры", "stages": ["Заявка", "Победа", "Проигрыш", "Разбор"], "won": "Победа", "lost": "Проигрыш"})
    deal = await new_deal(gw)
    async with gw.client("vera") as c:
        made = (await c.patch(f"/api/v1/deals/{deal['id']}", json={"stage": "Сделано"})).json()
        archive = (await c.patch(f"/api/v1/deals/{deal['id']}", json={"stage": "Архив"})).json()
        tender = (await c.patch(f"/api/v1/deals/{deal['id']}",
                                json={"pipeline": "Тендеры", "stage": "Проигрыш"})).json()
    assert made["status"] == "won" and archive["status"] == "open"
    assert (tender["pipeline"], tender["stage"], tender["status"]) == ("Тендеры", "Проигрыш", "lost")


async def test_every_change_is_in_the_history_and_a_stale_version_is_refused(crm: Start) -> None:
    gw = await crm()
    deal = await new_deal(gw)
    async with gw.client("vera") as c:
        changed = (await c.patch(f"/api/v1/deals/{deal['id']}", json={
            "responsible": "anna", "budget": 150000, "name": "Стулья для офиса", "tags": [" vip ", "vip", "опт"],
            "version": 1})).json()
        stale = await c.patch(f"/api/v1/deals/{deal['id']}", json={"budget": 1, "version": 1})
        same = (await c.patch(f"/api/v1/deals/{deal['id']}", json={"budget": 150000})).json()
        tagged = (await c.post(f"/api/v1/deals/{deal['id']}/tags", json={"add": ["горячий"], "remove": ["опт"]})).json()
        nobody = await c.patch(f"/api/v1/deals/{deal['id']}", json={"responsible": "nobody"})
    async with gw.client("root") as c:
        history = (await c.get(f"/api/v1/deals/{deal['id']}/history")).json()["items"]
        audit = (await c.get("/api/v1/audit", params={"limit": 50})).json()["items"]
    assert (changed["responsible"], changed["budget"], changed["name"], changed["tags"], changed["version"]) == (
        "anna", 150000, "Стулья для офиса", ["vip", "опт"], 2)
    assert stale.status_code == 409 and stale.json()["deal"]["budget"] == 150000
    assert same["version"] == 2  # nothing changed: no new version
    assert tagged["tags"] == ["vip", "горячий"] and tagged["version"] == 3
    assert nobody.status_code == 400 and "nobody" in nobody.json()["error"]
    assert history[-1]["action"] == "lead.accept"  # the deal's first line: the lead it came from
    lines = [(h["action"], h["data"]["before"], h["data"]["after"]) for h in history[::-1]
             if h["action"] != "lead.accept"]
    assert lines == [("deal.responsible", "vera", "anna"), ("deal.budget", None, 150000),
                     ("deal.name", "Покупатель", "Стулья для офиса"), ("deal.tags", [], ["vip", "опт"]),
                     ("deal.tags", ["vip", "опт"], ["vip", "горячий"])]
    assert {h["id"] for h in history} <= {a["id"] for a in audit}


async def test_operators_change_only_their_own_deals(crm: Start) -> None:
    gw = await crm()
    mine, theirs = await new_deal(gw, "anna"), await new_deal(gw, "vera", phone="+79160001133")
    async with gw.client("anna") as c:
        ok = await c.patch(f"/api/v1/deals/{mine['id']}", json={"stage": "Переговоры"})
        refused = await c.patch(f"/api/v1/deals/{theirs['id']}", json={"stage": "Переговоры"})
        listed = (await c.get("/api/v1/deals")).json()["items"]
    assert ok.status_code == 200 and refused.status_code == 403
    assert [d["id"] for d in listed] == [mine["id"]]


async def test_the_list_filters_and_pages(crm: Start) -> None:
    gw = await crm()
    deals = [await new_deal(gw, phone=f"+7916000{i:04d}", name=f"Клиент {i}") for i in range(5)]
    async with gw.client("vera") as c:
        await c.patch(f"/api/v1/deals/{deals[1]['id']}", json={"stage": "Счёт", "tags": ["vip"]})
        await c.patch(f"/api/v1/deals/{deals[3]['id']}", json={"responsible": "anna", "tags": ["vip"]})
        first = (await c.get("/api/v1/deals", params={"limit": 2})).json()
        second = (await c.get("/api/v1/deals", params={"limit": 2, "cursor": first["next_cursor"]})).json()
        vip = (await c.get("/api/v1/deals", params={"tag": "vip"})).json()["items"]
        invoice = (await c.get("/api/v1/deals", params={"stage": "Счёт", "pipeline": "Продажи"})).json()["items"]
        annas = (await c.get("/api/v1/deals", params={"responsible": "anna"})).json()["items"]
        named = (await c.get("/api/v1/deals", params={"q": "клиент 2"})).json()["items"]
        bad = await c.get("/api/v1/deals", params={"status": "closed"})
    ids = [d["id"] for d in deals][::-1]
    assert [d["id"] for d in first["items"] + second["items"]] == ids[:4]
    assert {d["id"] for d in vip} == {deals[1]["id"], deals[3]["id"]}
    assert [d["id"] for d in invoice] == [deals[1]["id"]] and [d["id"] for d in annas] == [deals[3]["id"]]
    assert [d["id"] for d in named] == [deals[2]["id"]]
    item = first["items"][0]
    assert set(item) >= {"id", "name", "pipeline", "stage", "status", "responsible", "budget", "contact_id", "company",
                         "tags", "version", "created_at", "closed_at", "leads", "tasks"}
    assert isinstance(item["leads"][0], int) and bad.status_code == 400
