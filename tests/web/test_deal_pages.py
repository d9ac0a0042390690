"""The deal pages over sockets: a deal's tasks, trigger runs and history; the board's pages of cards; the team page
with its handover; the journal's advertising leads, its nearest task, and its flag when the two managers differ."""

from __future__ import annotations

import asyncio
import re

from tests.api.conftest import PASSWORD
from tests.deals.conftest import Start, crm, move, new_deal, outside, pipeline, runs  # noqa: F401 - fixtures
from tests.web.test_pages import browser_like, csrf_of


async def test_a_deals_page_shows_its_tasks_trigger_runs_and_history(crm: Start) -> None:  # noqa: F811
    gw = await crm(pipeline([
        {"name": "invoice", "on": "Счёт", "action": "task", "text": "Выставить счёт"},
        {"name": "direct", "on": "Счёт", "action": "tag", "add": ["директ"], "when": {"source": ["Яндекс.Директ"]}},
    ]))
    deal = await new_deal(gw, name="Вектор", source="Сайт")
    await move(gw, deal, "Счёт")
    await runs(gw, deal["id"], until=lambda xs: len(xs) == 2 and all(x["status"] == "done" for x in xs))
    async with browser_like(gw, "vera") as c:
        html = (await c.get(f"/deals/{deal['id']}")).text
    assert "Выставить счёт" in html and "Создана задача" in html
    assert "Не выполнено: не выполнено условие «источник» (найдено: Сайт)" in html
    assert re.search(r"этап</td>\s*<td>Лид → Счёт", html)
    assert 'data-api="stage"' in html and 'data-version="2"' in html


async def test_the_board_pages_its_columns(crm: Start) -> None:  # noqa: F811
    gw = await crm()
    made = await asyncio.gather(*(gw.lead("vera", name=f"Клиент {i:02d}", phone=f"+7916100{i:04d}")
                                  for i in range(35)))
    async with gw.client("vera") as c:
        for lead in made:
            assert (await c.post(f"/api/v1/unsorted/{lead['id']}/accept", json={})).status_code == 200
    async with browser_like(gw, "vera") as c:
        board = await c.get("/deals")
        first = re.findall(r'data-deal-id="(\d+)"', board.text)
        cursor = re.search(r'class="[^"]*\bmore" data-cursor="([^"]+)"', board.text).group(1)  # type: ignore[union-attr]
        rest = await c.get("/ui/deals/cards", params={"stage": "Лид", "pipeline": "Продажи", "cursor": cursor})
        totals = (await c.get("/ui/deals/totals", params={"pipeline": "Продажи"})).json()
    assert board.status_code == 200 and "35 сделок" in board.text
    assert len(first) == 30 and "X-Next-Cursor" not in rest.headers
    assert len(set(first) | set(re.findall(r'data-deal-id="(\d+)"', rest.text))) == 35
    assert totals["Лид"] == {"count": "35 сделок", "budget": ""}


async def test_the_team_page_disables_a_manager_with_a_handover(crm: Start) -> None:  # noqa: F811
    gw = await crm()
    deal = await new_deal(gw, "vera")
    async with browser_like(gw, "root") as c:
        page = await c.get("/admin/users")
        assert 'action="/api/v1/users/vera/disable"' in page.text and "1 сделка, 0 задач" in page.text
        resp = await c.post("/api/v1/users/vera/disable", json={"handover_to": "anna"},
                            headers={"X-CSRF-Token": csrf_of(page.text)})
        after = (await c.get("/admin/users")).text
    assert resp.status_code == 200 and [d["to"] for d in resp.json()["deals"]] == ["anna"]
    assert re.search(r"vera <span class=\"muted\">\(отключён\)</span>", after)
    async with gw.client("root") as c:
        assert (await c.get(f"/api/v1/deals/{deal['id']}")).json()["responsible"] == "anna"
    async with gw.client(follow_redirects=False) as c:  # vera cannot log in any more
        token = re.search(r'name="csrf" value="([^"]+)"', (await c.get("/login")).text).group(1)  # type: ignore[union-attr]
        refused = await c.post("/login", data={"name": "vera", "password": PASSWORD, "csrf": token})
    assert refused.status_code == 401


async def test_the_journal_shows_advertising_leads_and_flags_two_managers(crm: Start) -> None:  # noqa: F811
    gw = await crm(sources=[{"name": "Партнёры", "advertising": False}])
    deal = await new_deal(gw, "vera", name="Рекламный", phone="+79161110001")
    await gw.lead("vera", name="Партнёрский", phone="+79161110002", source="Партнёры")
    async with gw.client("vera") as c:
        await c.post(f"/api/v1/deals/{deal['id']}/handover", json={"to": "anna"})
        await c.post("/api/v1/tasks", json={"text": "Отправить КП", "deal_id": deal["id"]})
    async with browser_like(gw, "vera") as c:
        shown = (await c.get("/journal")).text
        rest = (await c.get("/journal", params={"advertising": "false"})).text
        both = (await c.get("/journal", params={"advertising": "all"})).text
    assert "Рекламный" in shown and "Партнёрский" not in shown
    assert "Партнёрский" in rest and "Рекламный" not in rest
    assert "Партнёрский" in both and "Рекламный" in both
    assert re.search(r"Только рекламные \(<a href=\"\?&amp;advertising=all\">показать все</a>\)", shown)
    assert "принял: vera; ответственный: anna" in shown  # the two managers, flagged
    assert re.search(r'data-label="Ближайшая задача">Отправить КП <span class="cell-sub"><time', shown)
