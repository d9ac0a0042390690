"""The operators' page in a real browser: live queue, accept, decline as spam, a hostile mail shown as text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import PASSWORD, Gateway
from tests.web.conftest import mail_lead

pytestmark = pytest.mark.browser


async def _page(browser: Any, gw: Gateway, name: str = "anna") -> tuple[Any, list[str]]:
    """A logged-in page on Unsorted, with every dialog and page error recorded."""
    context = await browser.new_context(viewport={"width": 1360, "height": 860}, locale="ru-RU")
    page = await context.new_page()
    seen: list[str] = []
    page.on("dialog", lambda d: (seen.append(f"dialog:{d.message}"), d.dismiss()))
    page.on("pageerror", lambda e: seen.append(f"error:{e}"))
    await page.goto(f"{gw.url}/")
    assert "/login" in page.url
    await page.fill("input[name=name]", name)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{gw.url}/")
    await page.wait_for_selector("#triage[data-live=on]")
    return page, seen


async def test_a_new_lead_appears_live_and_is_accepted(served: Gateway, browser: Any, screenshots: Path) -> None:
    page, seen = await _page(browser, served)
    await page.evaluate("window.__sameDocument = true")
    lead = await served.lead("vera", name="Андрей Новиков", phone="+7 916 555-44-33", email="andrey@novikov.example",
                              text="Хотим 40 стульев для офиса, нужен счёт")
    row = page.locator(f'#queue li[data-lead-id="{lead["id"]}"]')
    await row.wait_for()
    assert await page.evaluate("window.__sameDocument") is True  # no reload happened
    assert "Андрей Новиков" in await row.inner_text()
    await row.click()
    card = page.locator(f'#card-pane .card[data-lead-id="{lead["id"]}"]')
    await card.wait_for()
    assert "40 стульев" in await card.inner_text()
    await page.screenshot(path=str(screenshots / "unsorted.png"))
    await card.screenshot(path=str(screenshots / "lead-card.png"))
    await card.locator('form[data-kind="accept"] button[type=submit]').click()
    await row.wait_for(state="detached")
    assert "Принято" in await page.locator("#toast").inner_text()
    async with served.client("vera") as c:
        deal_id = (await c.get(f"/api/v1/leads/{lead['id']}")).json()["deal_id"]
    await page.goto(f"{served.url}/deals/{deal_id}")
    deal = await page.locator("#deal").inner_text()
    assert "Андрей Новиков" in deal and "Лид" in deal and "anna" in deal
    assert await page.locator(f'#deal tr[data-lead-id="{lead["id"]}"]').count() == 1
    assert seen == []


async def test_decline_as_spam_with_the_keyboard_flow(served: Gateway, browser: Any) -> None:
    first = await served.lead("vera", name="Спам-бот", phone="+79160006601", text="Купите базу клиентов")
    second = await served.lead("vera", name="Настоящий клиент", phone="+79160006602")
    page, seen = await _page(browser, served)
    await page.locator(f'#queue li[data-lead-id="{second["id"]}"].selected').wait_for()  # newest first, chosen
    await page.keyboard.press("j")
    card = page.locator(f'#card-pane .card[data-lead-id="{first["id"]}"]')
    await card.wait_for()
    await page.keyboard.press("d")
    await card.locator('input[name="reason"][value="Спам"]').check()
    await card.locator('form[data-kind="decline"] button[type=submit]').click()
    await page.locator(f'#queue li[data-lead-id="{first["id"]}"]').wait_for(state="detached")
    await page.locator(f'#card-pane .card[data-lead-id="{second["id"]}"]').wait_for()  # the next one, by itself
    async with served.client("vera") as c:
        lead = (await c.get(f"/api/v1/leads/{first['id']}")).json()
    assert (lead["status"], lead["quality"], lead["decline_reason"]) == ("declined", "non_target", "Спам")
    assert await page.locator(f'#queue li[data-lead-id="{second["id"]}"]').count() == 1
    assert seen == []


async def test_a_hostile_mail_is_shown_as_text_and_runs_nothing(served: Gateway, browser: Any,
                                                                 screenshots: Path) -> None:
    subject = '<script>window.__xss=1;alert("subject")</script>Счёт <img src=x onerror=alert("s2")>'
    text = 'Добрый день <img src=x onerror="window.__xss=2;alert(2)"> <svg onload=alert(3)></svg> "><b>жирный</b>'
    html = ('<p>Привет</p><script>alert(4)</script><img src=x onerror=alert(5)>'
            '<a href="javascript:alert(6)">ссылка</a><form action="https://evil.example/"><input name=p></form>'
            '<img src="https://tracker.example/pixel.gif"><p onclick="alert(7)">Текст письма</p>'
            '<iframe src="https://evil.example/"></iframe><style>body{background:url(https://t.example/x)}</style>')
    lead_id = mail_lead(served, subject=subject, text=text, html=html, author='"><script>alert(8)</script>',
                        email="attacker@evil.example")
    page, seen = await _page(browser, served)
    await page.locator(f'#queue li[data-lead-id="{lead_id}"]').click()
    card = page.locator(f'#card-pane .card[data-lead-id="{lead_id}"]')
    await card.wait_for()
    assert "<script>window.__xss=1" in await card.locator(".subject").text_content()
    assert 'onerror="window.__xss=2' in await card.locator(".message .text").text_content()
    await card.locator("a[data-card]").click()  # the formatted view, in a sandboxed frame
    frame = page.locator("#card-pane iframe.mail-html")
    await frame.wait_for()
    sandbox = await frame.get_attribute("sandbox")
    srcdoc = await frame.get_attribute("srcdoc") or ""
    assert "allow-scripts" not in sandbox and "allow-same-origin" not in sandbox  # type: ignore[operator]
    assert "Текст письма" in srcdoc
    for bad in ("<script", "onerror", "onclick", "javascript:", "<form", "<input", "<iframe", "tracker.example",
                "<style"):
        assert bad not in srcdoc.lower()
    await page.wait_for_timeout(300)  # give anything injected a chance to run (it must not)
    await card.screenshot(path=str(screenshots / "mail-card-safe-view.png"))
    assert await page.evaluate("window.__xss") is None
    assert await page.locator("script:not([src])").count() == 0
    assert await page.locator("#card-pane img, #card-pane svg, #card-pane b").count() == 0
    assert seen == []


async def test_bulk_decline_of_a_selection(served: Gateway, browser: Any) -> None:
    ids = [(await served.lead("vera", name=f"Рассылка {i}", email=f"bot{i}@spam.example"))["id"] for i in range(3)]
    page, seen = await _page(browser, served)
    for lead_id in ids[:2]:
        await page.locator(f'#queue li[data-lead-id="{lead_id}"] .pick').check()
    bulk = page.locator("#bulk")
    await bulk.locator('select[name="reason"]').select_option("Спам")
    await bulk.locator('button[value="decline"]').click()
    for lead_id in ids[:2]:
        await page.locator(f'#queue li[data-lead-id="{lead_id}"]').wait_for(state="detached")
    assert await page.locator(f'#queue li[data-lead-id="{ids[2]}"]').count() == 1
    assert await bulk.is_hidden()
    async with served.client("vera") as c:
        statuses = [(await c.get(f"/api/v1/leads/{i}")).json()["status"] for i in ids]
    assert statuses == ["declined", "declined", "unsorted"]
    assert seen == []
