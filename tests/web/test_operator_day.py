"""An operator's day in a real browser: the true queue size, decline with undo, link by search, search from the
journal, the phone layout without sideways scroll."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from gateway.store.schema import leads
from tests.api.conftest import Gateway
from tests.web.conftest import PHONE, logged_in, sideways, until
from tests.web.dataset import Day

pytestmark = pytest.mark.browser


def unsorted_count(gw: Gateway) -> int:
    with gw.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(leads).where(leads.c.status == "unsorted"))
                   .scalar_one())


def digits(text: str) -> int:
    return int(re.sub(r"\D", "", text))


async def test_the_queue_shows_its_true_size_and_keeps_it_live(busy: tuple[Gateway, Day], browser: Any) -> None:
    gw, day = busy
    total = unsorted_count(gw)
    assert total > 300
    page, seen = await logged_in(browser, gw, "anna")
    await page.wait_for_selector("#triage[data-live=on]")
    assert digits(await page.locator("#queue-count").inner_text()) == total
    shown = page.locator("#queue-shown")
    assert re.sub(r"\s", " ", await shown.inner_text()) == f"показаны 300 из {total:,}".replace(",", "\u00a0") \
        .replace("\u00a0", " ")
    async with gw.client("vera") as vera:  # someone else takes one, and a new one arrives
        assert (await vera.post(f"/api/v1/unsorted/{day.unsorted[0]}/accept", json={})).status_code == 200
        await until(page, f"document.getElementById('queue-count').dataset.total === '{total - 1}'")
        await gw.lead("vera", name="Свежий звонок", phone="+79160001122")
    await until(page, f"document.getElementById('queue-count').dataset.total === '{total}'")
    assert digits(await page.locator("#queue-count").inner_text()) == total == unsorted_count(gw)
    await page.locator("[data-more]").click()  # the rest of the queue
    await until(page, f"document.querySelectorAll('#queue li.row').length === {total}")
    assert await shown.is_hidden()
    assert seen == []


async def test_decline_asks_why_can_be_undone_and_moves_to_the_next_lead(busy: tuple[Gateway, Day],
                                                                      browser: Any) -> None:
    gw, _ = busy
    page, seen = await logged_in(browser, gw, "anna")
    first = page.locator("#queue li.row").nth(0)
    second_id = await page.locator("#queue li.row").nth(1).get_attribute("data-lead-id")
    lead_id = await first.get_attribute("data-lead-id")
    await page.locator(f'#card-pane .card[data-lead-id="{lead_id}"]').wait_for()
    await page.keyboard.press("d")  # asks why; declines nothing yet
    panel = page.locator('#card-pane details[data-panel="decline"]')
    assert await panel.get_attribute("open") is not None
    async with gw.client("vera") as vera:
        before = (await vera.get(f"/api/v1/leads/{lead_id}")).json()
    assert before["status"] == "unsorted"
    await panel.get_by_label("Спам").check()
    await panel.locator("button[type=submit]").click()
    await page.locator(f'#queue li.row[data-lead-id="{lead_id}"]').wait_for(state="detached")
    await page.locator(f'#card-pane .card[data-lead-id="{second_id}"]').wait_for()  # moved on by itself
    assert await page.evaluate("document.activeElement.classList.contains('card-title')")
    toast = page.locator("#toast")
    assert "Отклонено: Спам" in await toast.inner_text()
    async with gw.client("vera") as vera:
        declined = (await vera.get(f"/api/v1/leads/{lead_id}")).json()
    assert (declined["status"], declined["decline_reason"]) == ("declined", "Спам")
    await toast.locator("[data-undo]").click()
    await page.locator(f'#queue li.row[data-lead-id="{lead_id}"]').wait_for()
    await page.locator(f'#card-pane .card[data-lead-id="{lead_id}"][data-status="unsorted"]').wait_for()
    async with gw.client("vera") as vera:
        back = (await vera.get(f"/api/v1/leads/{lead_id}")).json()
    assert (back["status"], back["quality"], back["decline_reason"]) == ("unsorted", before["quality"], None)
    assert before["quality"] in ("target", "unverified")  # as it was: an ad's first lead, or one without a source
    assert seen == []


async def test_link_by_search_shows_how_each_deal_was_found(busy: tuple[Gateway, Day], browser: Any) -> None:
    gw, day = busy
    lead = await gw.lead("vera", name="Ирина Соколова", phone="+79169990011", text="Это по нашему заказу")
    async with gw.client("vera") as vera:
        deal_id = day.deals[3]
        deal = (await vera.get(f"/api/v1/deals/{deal_id}")).json()
    page, seen = await logged_in(browser, gw, "anna")
    await page.locator(f'#queue li.row[data-lead-id="{lead["id"]}"] a.row-link').click()
    card = page.locator(f'#card-pane .card[data-lead-id="{lead["id"]}"]')
    await card.wait_for()
    await page.keyboard.press("l")
    search = card.locator('form.link-search input[name="q"]')
    await page.wait_for_function(  # the search field takes the focus (after the card's own focus moves)
        """() => document.activeElement && document.activeElement.matches('form.link-search input[name="q"]')""",
        timeout=10_000)
    await search.fill(str(deal_id))
    await search.press("Enter")
    found = card.locator(".candidate", has=page.locator(f'[data-link-deal="{deal_id}"]'))
    await found.wait_for()
    assert "номер сделки" in await found.inner_text()
    assert "В обращении нет ничего, что указывало бы на этот контакт" in await found.inner_text()
    await search.fill(deal["contact"]["phones"][0])  # the same deal found by its contact's phone
    await card.locator(".candidate .tag-found", has_text="телефон").wait_for()
    await found.locator(f'[data-link-deal="{deal_id}"]').click()
    await page.locator(f'#queue li.row[data-lead-id="{lead["id"]}"]').wait_for(state="detached")
    assert "Привязано" in await page.locator("#toast").inner_text()
    async with gw.client("vera") as vera:
        linked = (await vera.get(f"/api/v1/leads/{lead['id']}")).json()
    assert (linked["status"], linked["deal_id"]) == ("linked", deal_id)
    assert seen == []


async def test_an_operator_finds_any_unsorted_lead_from_the_journal(busy: tuple[Gateway, Day], browser: Any) -> None:
    gw, _ = busy
    waiting = await gw.lead("vera", name="Маргарита Заречная", phone="+79160004455")
    taken = await gw.lead("vera", name="Маргарита Взятая", phone="+79160004466")
    async with gw.client("vera") as vera:
        assert (await vera.post(f"/api/v1/unsorted/{taken['id']}/accept", json={})).status_code == 200
    page, seen = await logged_in(browser, gw, "anna")
    await page.locator(".app-nav a", has_text="Список лидов").click()
    await page.wait_for_url("**/journal")
    assert "Вам видны неразобранные обращения и ваши собственные" in await page.locator("#journal-scope").inner_text()
    await page.fill('.filters input[name="q"]', "Маргарита")
    await page.locator('.filters button[type="submit"]').click()
    await page.wait_for_url("**/journal?*")
    assert await page.locator(f'tr[data-lead-id="{waiting["id"]}"]').count() == 1
    assert await page.locator(f'tr[data-lead-id="{taken["id"]}"]').count() == 0  # someone else's, decided
    assert await page.locator("tbody tr[data-lead-id]").count() == 1
    assert seen == []


async def test_a_phone_works_the_queue_card_and_actions_without_sideways_scroll(busy: tuple[Gateway, Day],
                                                                                browser: Any) -> None:
    gw, day = busy
    page, seen = await logged_in(browser, gw, "vera", PHONE)
    assert await sideways(page) == 0
    assert await page.locator("#card-pane").is_hidden()  # the queue first
    row = page.locator("#queue li.row").first
    await row.locator("a.row-link").click()
    card = page.locator("#card-pane .card")
    await card.wait_for()
    assert await page.locator(".queue").is_hidden()  # then the card, with its actions at hand
    assert await card.locator(".actions .btn-primary").is_visible()
    assert await sideways(page) == 0
    await card.locator("[data-back]").click()
    assert await page.locator(".queue").is_visible()
    for kind, ids in day.by_kind.items():
        await page.goto(f"{gw.url}/leads/{ids[0]}")
        assert await sideways(page) == 0, kind
    for path in ("/journal", "/journal?q=Иван&from=01.01.2020", "/reports", "/reports?group_by=manager"):
        await page.goto(gw.url + path)
        assert await sideways(page) == 0, path
    assert seen == []
