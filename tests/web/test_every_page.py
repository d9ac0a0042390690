"""Every page of the operators' site at 1440×900 and 390×844: axe-core finds nothing serious, nothing scrolls
sideways, and a screenshot of each is kept under test-artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import Gateway
from tests.web.conftest import DESKTOP, PHONE, axe_violations, logged_in, sideways
from tests.web.dataset import Day

pytestmark = pytest.mark.browser


def pages_of(day: Day) -> list[tuple[str, str]]:
    """(screenshot name, path) of every page an administrator sees."""
    out = [("unsorted", "/"), ("journal", "/journal"),
           ("journal-filtered", "/journal?channel=mango&from=01.01.2020&direction=in"),
           ("reports", "/reports"), ("reports-by-manager", "/reports?group_by=manager"),
           ("events", "/admin/events"), ("events-dead", "/admin/events?status=dead"), ("health", "/admin/health"),
           ("settings", "/settings"), ("deal", f"/deals/{day.deals[0]}"), ("deals-board", "/deals"),
           ("my-tasks", "/tasks"), ("team", "/admin/users")]
    out += [(f"lead-{kind}", f"/leads/{ids[0]}") for kind, ids in sorted(day.by_kind.items())]
    return out


async def check(page: Any, name: str, size: dict[str, int], screenshots: Path, problems: list[str]) -> None:
    tag = f"{name}-{size['width']}x{size['height']}"
    await page.screenshot(path=str(screenshots / f"{tag}.png"), full_page=True)
    problems += [f"{tag}: {v['impact']} {v['id']} at {v['nodes']}" for v in await axe_violations(page)]
    if (extra := await sideways(page)) > 0:
        problems.append(f"{tag}: {extra} px of sideways scroll")


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["desktop", "phone"])
async def test_every_page_is_accessible_and_fits(busy: tuple[Gateway, Day], browser: Any, screenshots: Path,
                                                 size: dict[str, int]) -> None:
    gw, made = busy
    problems: list[str] = []
    context = await browser.new_context(viewport=size, locale="ru-RU")
    login = await context.new_page()
    await login.goto(f"{gw.url}/login")
    await check(login, "login", size, screenshots, problems)
    page, seen = await logged_in(browser, gw, "root", size)
    for name, path in pages_of(made):
        await page.goto(gw.url + path)
        await check(page, name, size, screenshots, problems)
    await page.goto(gw.url + "/")  # a card opened in the queue, its decline and link panels open
    await page.locator("#queue li.row a.row-link").first.click()
    await page.locator("#card-pane .card").wait_for()
    await page.locator('#card-pane details[data-panel="decline"] summary').click()
    await page.locator('#card-pane details[data-panel="link"] summary').click()
    await page.fill('#card-pane form.link-search input[name="q"]', "Иван")
    await page.press('#card-pane form.link-search input[name="q"]', "Enter")
    await page.locator("#card-pane .candidates p").first.wait_for()
    await check(page, "unsorted-card", size, screenshots, problems)
    operator, _ = await logged_in(browser, gw, "anna", size)
    await operator.goto(gw.url + "/reports")  # a plain refusal, inside the page
    assert "Отчёты доступны руководителям и администраторам" in await operator.locator("main").inner_text()
    await check(operator, "reports-refused", size, screenshots, problems)
    assert problems == []
    assert seen == []
