"""A missed call is somebody's "Перезвонить" task; calling the number back completes it: Mango webhooks end to end."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.conftest import Gateway
from tests.connectors.telephony.mango.mango_support import TEST_KEY, TEST_SALT, form_body, load
from tests.deals.conftest import Start, new_deal

MANGO = {"mango": [{"account": "main", "api_key": TEST_KEY, "api_salt": TEST_SALT,
                    "lines": {"74951234567": "Яндекс.Директ"}, "extensions": {"101": "ivanov"}}]}
CALLED = datetime.fromtimestamp(1767262196, UTC)  # the missed call of the fixture began at 10:09:56 UTC


async def deliver(gw: Gateway, scenario: str) -> None:
    async with gw.client() as c:
        for d in load(scenario):
            resp = await c.post(f"/hooks/mango/main/events/{d.event}", content=form_body(d.json),
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
            assert resp.status_code == 200, resp.text


async def tasks_of(gw: Gateway, want: Any, **params: str) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    async with gw.client("root") as c:
        while True:
            items = (await c.get("/api/v1/tasks", params=params)).json()["items"]
            if want(items) or time.monotonic() > deadline:
                return items
            await asyncio.sleep(0.05)


@pytest.mark.parametrize("owner", [None, "vera"])
async def test_missed_call_task_then_the_callback_completes_it(crm: Start, owner: str | None) -> None:
    tasks = {"callback_minutes": 20, **({"line_owners": {"74951234567": owner}} if owner else {})}
    gw = await crm(telephony=MANGO, tasks=tasks)
    await deliver(gw, "missed_in_queue_numbers_as_strings")
    [task] = await tasks_of(gw, lambda xs: len(xs) == 1)
    assert (task["text"], task["kind"], task["status"], task["created_by"]) == (
        "Перезвонить", "callback", "open", "missed_call")
    assert task["responsible"] == owner  # the line's owner, or nobody: the operators' common queue
    assert datetime.fromisoformat(task["due_at"]) == CALLED + timedelta(minutes=20)
    queue = await tasks_of(gw, lambda xs: True, responsible="none", status="open")
    assert [t["id"] for t in queue] == ([] if owner else [task["id"]])
    async with gw.client("root") as c:
        missed = (await c.get(f"/api/v1/leads/{task['lead_id']}")).json()
    assert missed["needs_callback"] is True and missed["phone"] == "+79031112233"
    await deliver(gw, "missed_in_queue_numbers_as_strings")  # the PBX sends it all again: still one task
    await deliver(gw, "callback_to_missed_number")
    [done] = await tasks_of(gw, lambda xs: xs and xs[0]["status"] == "done")
    assert (done["id"], done["result"], done["completed_by"]) == (task["id"], "Перезвонили", "callback")
    async with gw.client("root") as c:
        missed = (await c.get(f"/api/v1/leads/{task['lead_id']}")).json()
    assert missed["needs_callback"] is False and missed["time_to_callback_s"] == 1767264600 - 1767262196


async def test_a_known_contacts_missed_call_is_its_deal_responsibles_task(crm: Start) -> None:
    gw = await crm(telephony=MANGO, tasks={"line_owners": {"74951234567": "vera"}})
    deal = await new_deal(gw, "vera", phone="+7 903 111-22-33")
    async with gw.client("vera") as c:
        resp = await c.post(f"/api/v1/deals/{deal['id']}/handover", json={"to": "anna"})
    assert resp.status_code == 200
    await deliver(gw, "missed_in_queue_numbers_as_strings")
    [task] = await tasks_of(gw, lambda xs: len(xs) == 1, status="open")
    assert (task["responsible"], task["deal_id"], task["kind"]) == ("anna", deal["id"], "callback")
    async with gw.client("anna") as c:
        mine = (await c.get("/api/v1/tasks", params={"responsible": "me"})).json()["items"]
        shown = (await c.get(f"/api/v1/deals/{deal['id']}")).json()
    assert [t["id"] for t in mine] == [task["id"]] and [t["id"] for t in shown["tasks"]] == [task["id"]]
