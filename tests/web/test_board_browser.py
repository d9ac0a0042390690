"""The deal board and "my tasks" in a real browser: a drag and a keyboard move are saved and fire their triggers;
a task is completed where it is listed."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Gateway
from tests.deals.conftest import Outside, Start, crm, new_deal, outside, pipeline  # noqa: F401 - fixtures
from tests.web.conftest import logged_in
from tests.webhooks.conftest import SECRET

pytestmark = pytest.mark.browser


async def login(browser: Any, gw: Gateway, path: str, name: str = "vera") -> tuple[Any, list[str]]:
    page, seen = await logged_in(browser, gw, name, {"width": 1500, "height": 900})
    await page.goto(f"{gw.url}{path}")
    return page, seen


async def deal_now(gw: Gateway, deal_id: int) -> dict[str, Any]:
    async with gw.client("vera") as c:
        return (await c.get(f"/api/v1/deals/{deal_id}")).json()


async def eventually(check: Any, within_s: float = 15) -> Any:
    deadline = time.monotonic() + within_s
    while True:
        got = await check()
        if got or time.monotonic() > deadline:
            return got
        await asyncio.sleep(0.1)


async def test_a_deal_moved_by_drag_and_by_keyboard_is_saved_and_fires_its_trigger(
        crm: Start, outside: Outside, browser: Any, screenshots: Path) -> None:  # noqa: F811
    gw = await crm(pipeline([
        {"name": "hot-lead", "on": "Переговоры", "action": "webhook", "url": outside.hook_url, "secret": SECRET},
        {"name": "invoice", "on": "Счёт", "action": "task", "text": "Выставить счёт"},
    ]))
    dragged = await new_deal(gw, name="Андрей Новиков", phone="+79160009901")
    keyed = await new_deal(gw, name="Ольга Смирнова", phone="+79160009902")
    async with gw.client("vera") as c:
        await c.patch(f"/api/v1/deals/{keyed['id']}", json={"budget": 250000})
    page, seen = await login(browser, gw, "/deals")
    board = page.locator("#board")
    talks = board.locator('section.column[data-stage="Переговоры"]')
    assert await talks.locator(".col-count").inner_text() == "0 сделок"
    await board.locator(f'li[data-deal-id="{dragged["id"]}"]').drag_to(talks.locator("ol.cards"))
    await talks.locator(f'li[data-deal-id="{dragged["id"]}"]').wait_for()
    await page.locator("#board-status", has_text="Андрей Новиков").wait_for()
    assert (await deal_now(gw, dragged["id"]))["stage"] == "Переговоры"
    assert await eventually(lambda: asyncio.sleep(0, result=len(outside.accepted) == 1))  # the trigger's webhook
    assert f'"id":{dragged["id"]}' in outside.accepted[0]["body"].decode() and outside.accepted[0]["verified"]
    await page.locator(f'li[data-deal-id="{keyed["id"]}"]').focus()
    for stage in ("Переговоры", "Счёт"):
        await page.keyboard.press("Shift+ArrowRight")
        await page.locator("#board-status", has_text=f"«{stage}»: Ольга Смирнова").wait_for()
    assert (await deal_now(gw, keyed["id"]))["stage"] == "Счёт"
    invoice = board.locator('section.column[data-stage="Счёт"]')
    assert await invoice.locator(f'li[data-deal-id="{keyed["id"]}"]').count() == 1
    await invoice.locator(".col-count", has_text="1 сделка").wait_for()
    assert await invoice.locator(".col-sum").inner_text() == "· 250\u00a0000\u00a0₽"

    async def tasks() -> list[str]:
        return [t["text"] for t in (await deal_now(gw, keyed["id"]))["tasks"]]

    assert await eventually(tasks) == ["Выставить счёт"]  # the stage's trigger made it
    await page.screenshot(path=str(screenshots / "deal-board.png"))
    assert seen == []


async def test_a_stale_move_shows_the_deal_as_it_now_is(crm: Start, browser: Any) -> None:  # noqa: F811
    gw = await crm()
    deal = await new_deal(gw, name="Пётр", phone="+79160009911")
    page, seen = await login(browser, gw, "/deals")
    async with gw.client("root") as c:  # somebody else moves it first
        await c.patch(f"/api/v1/deals/{deal['id']}", json={"stage": "Счёт"})
    await page.locator(f'li[data-deal-id="{deal["id"]}"]').focus()
    await page.keyboard.press("Shift+ArrowRight")
    await page.locator("#board-status.bad").wait_for()
    invoice = page.locator('section.column[data-stage="Счёт"]')
    await invoice.locator(f'li[data-deal-id="{deal["id"]}"]').wait_for()
    assert (await deal_now(gw, deal["id"]))["stage"] == "Счёт"
    assert seen == []


async def test_a_task_is_completed_from_my_tasks(crm: Start, browser: Any, screenshots: Path) -> None:  # noqa: F811
    gw = await crm()
    deal = await new_deal(gw, name="ООО Вектор", phone="+79160009921")
    now = datetime.now(UTC)
    async with gw.client("vera") as c:
        later = (await c.post("/api/v1/tasks", json={"text": "Отправить договор", "deal_id": deal["id"],
                                                     "due_at": (now + timedelta(days=2)).isoformat()})).json()
        late = (await c.post("/api/v1/tasks", json={"text": "Перезвонить клиенту", "deal_id": deal["id"],
                                                    "due_at": (now - timedelta(hours=3)).isoformat()})).json()
    async with gw.client("anna") as c:
        await c.post("/api/v1/tasks", json={"text": "Не моя задача", "lead_id": deal["lead_ids"][0]})
    page, seen = await login(browser, gw, "/tasks")
    items = page.locator("#tasks li.task")
    assert [await items.nth(i).get_attribute("data-task-id") for i in range(await items.count())] == [
        str(late["id"]), str(later["id"])]  # overdue first, and only mine
    overdue = items.nth(0)
    assert "overdue" in (await overdue.get_attribute("class") or "")
    await page.screenshot(path=str(screenshots / "my-tasks.png"))
    await overdue.locator("input[name=result]").fill("Договорились о встрече")
    await overdue.locator("button[type=submit]").click()
    await page.locator(f'#tasks li.task[data-task-id="{late["id"]}"][data-status="done"]').wait_for()
    async with gw.client("vera") as c:
        done = (await c.get("/api/v1/tasks", params={"status": "done"})).json()["items"]
    assert [(t["id"], t["result"], t["completed_by"]) for t in done] == [(late["id"], "Договорились о встрече",
                                                                          "vera")]
    assert seen == []
