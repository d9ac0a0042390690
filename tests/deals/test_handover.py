"""Handover with and without leads, in bulk, and a manager who leaves; what the journal shows in both modes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from gateway.cli import main
from tests.api.conftest import Gateway
from tests.deals.conftest import Start, new_deal


async def journal_row(gw: Gateway, lead_id: int, mode: str) -> dict[str, Any]:
    async with gw.client("root") as c:
        items = (await c.get("/api/v1/leads", params={"manager_mode": mode, "limit": 500})).json()["items"]
    return next(i for i in items if i["id"] == lead_id)


def shown(row: dict[str, Any]) -> tuple[str, str, str, bool]:
    return row["manager"], row["manager_taken"], row["manager_responsible"], row["manager_differs"]


async def test_handover_without_leads_keeps_who_took_them_and_the_journal_says_so(crm: Start) -> None:
    gw = await crm()
    deal = await new_deal(gw, "vera")
    lead_id = deal["lead_ids"][0]
    async with gw.client("vera") as c:
        await c.post("/api/v1/tasks", json={"text": "Отправить КП", "deal_id": deal["id"]})
        resp = await c.post(f"/api/v1/deals/{deal['id']}/handover", json={"to": "anna", "with_leads": False})
        after = (await c.get(f"/api/v1/deals/{deal['id']}")).json()
    assert resp.status_code == 200
    assert resp.json()["items"] == [{"id": deal["id"], "from": "vera", "to": "anna", "leads": 0, "tasks": 1,
                                     "version": 2}]
    assert after["responsible"] == "anna" and [t["responsible"] for t in after["tasks"]] == ["anna"]
    assert shown(await journal_row(gw, lead_id, "taken")) == ("vera", "vera", "anna", True)
    assert shown(await journal_row(gw, lead_id, "responsible")) == ("anna", "vera", "anna", True)


async def test_handover_with_leads_moves_who_took_them_too(crm: Start) -> None:
    gw = await crm()
    first = await new_deal(gw, "vera", phone="+79160004401")
    second = await new_deal(gw, "vera", phone="+79160004402")
    async with gw.client("vera") as c:
        resp = await c.post("/api/v1/deals/handover", json={"ids": [first["id"], second["id"]], "to": "boris",
                                                            "with_leads": True})
        refused = await c.post("/api/v1/deals/handover", json={"ids": [first["id"]], "to": "nobody"})
    async with gw.client("anna") as c:
        operator = await c.post(f"/api/v1/deals/{first['id']}/handover", json={"to": "anna"})
    assert [(i["id"], i["to"], i["leads"]) for i in resp.json()["items"]] == [(first["id"], "boris", 1),
                                                                                (second["id"], "boris", 1)]
    assert refused.status_code == 400 and operator.status_code == 403
    for deal in (first, second):
        for mode in ("taken", "responsible"):
            assert shown(await journal_row(gw, deal["lead_ids"][0], mode)) == ("boris", "boris", "boris", False)


async def test_a_manager_who_leaves_hands_over_open_deals_and_tasks(crm: Start) -> None:
    gw = await crm()
    open_deal = await new_deal(gw, "vera", phone="+79160005501")
    won = await new_deal(gw, "vera", phone="+79160005502")
    async with gw.client("vera") as c:
        await c.patch(f"/api/v1/deals/{won['id']}", json={"stage": "Успешно"})
        await c.post("/api/v1/tasks", json={"text": "Перезвонить завтра", "lead_id": open_deal["lead_ids"][0]})
    async with gw.client("root") as c:
        resp = await c.post("/api/v1/users/vera/disable", json={"handover_to": "boris"})
        deals = {d["id"]: d for d in (await c.get("/api/v1/deals")).json()["items"]}
        tasks = (await c.get("/api/v1/tasks", params={"responsible": "boris"})).json()["items"]
    async with gw.client("vera") as c:
        gone = await c.get("/api/v1/me")
    assert resp.status_code == 200 and resp.json()["tasks"] == 1
    assert [d["id"] for d in resp.json()["deals"]] == [open_deal["id"]]  # closed deals stay as they were
    assert (deals[open_deal["id"]]["responsible"], deals[won["id"]]["responsible"]) == ("boris", "vera")
    assert [t["text"] for t in tasks] == ["Перезвонить завтра"]
    assert gone.status_code == 401
    assert shown(await journal_row(gw, open_deal["lead_ids"][0], "taken")) == ("vera", "vera", "boris", True)
    assert shown(await journal_row(gw, open_deal["lead_ids"][0], "responsible")) == ("boris", "vera", "boris", True)
    async with gw.client("root") as c:  # a dismissed manager's leads are still found when asked for
        dismissed = (await c.get("/api/v1/leads", params={"manager": "vera", "include_dismissed": "true"})).json()
    assert {i["id"] for i in dismissed["items"]} == {open_deal["lead_ids"][0], won["lead_ids"][0]}


async def test_the_command_line_disables_with_a_handover(crm: Start, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    gw = await crm()
    deal = await new_deal(gw, "vera")
    monkeypatch.setenv("GATEWAY_DATABASE_URL", str(gw.engine.url))
    assert await asyncio.to_thread(main, ["user", "disable", "vera", "--handover-to", "boris"]) == 0
    assert "user vera disabled; handed to boris: open deals 1, open tasks 0" in capsys.readouterr().out
    async with gw.client("root") as c:
        assert (await c.get(f"/api/v1/deals/{deal['id']}")).json()["responsible"] == "boris"
