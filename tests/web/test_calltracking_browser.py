"""Call tracking in a real browser: a static site page served by the test includes the snippet from the gateway."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from tests.calltracking.conftest import BROWSER_UA, DEFAULT, POOL, SITE, send_call, tracked_settings
from tests.conftest import Server, start_server
from tests.web.conftest import until

pytestmark = pytest.mark.browser

OWN = "+7 (495) 000-00-00"  # what the site shows before (and without) the snippet

PAGE = """<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>Окна</title>
<script async src="{gateway}/ct/{site}.js"></script></head>
<body><h1>Пластиковые окна</h1><p>Звоните: <a class="phone" href="tel:+74950000000">{own}</a></p>
<form action="/send" method="post"><input name="phone"></form></body></html>"""


def shown(number: str) -> str:
    return f"+7 ({number[1:4]}) {number[4:7]}-{number[7:9]}-{number[9:]}"


@pytest.fixture
async def gateway_and_site(tmp_path: Path) -> AsyncIterator[tuple[Server, str]]:
    settings = tracked_settings(tmp_path, calltracking={"sites": [{
        "id": SITE, "domains": ["localhost"], "default_number": DEFAULT, "pool": POOL[:2], "hold_minutes": 0.05,
        "heartbeat_seconds": 1, "selector": ".phone",
        "source_rules": [{"utm_source": "yandex*", "source": "Яндекс.Директ"}]}]})
    runner, srv = await start_server(settings)

    async def page(_request: web.Request) -> web.Response:
        return web.Response(text=PAGE.format(gateway=srv.url, site=SITE, own=OWN), content_type="text/html")

    site_app = web.Application()
    site_app.router.add_get("/", page)
    site_runner = web.AppRunner(site_app, access_log=None)
    await site_runner.setup()
    tcp = web.TCPSite(site_runner, "127.0.0.1", 0)
    await tcp.start()
    port = tcp._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield srv, f"http://localhost:{port}"  # another origin than the gateway's 127.0.0.1
    finally:
        await site_runner.cleanup()
        await runner.cleanup()


async def visit(browser: Any, url: str) -> tuple[Any, Any]:
    context = await browser.new_context(user_agent=BROWSER_UA, locale="ru-RU")
    page = await context.new_page()
    await page.goto(url)
    return context, page


async def phone(page: Any) -> tuple[str, str]:
    link = page.locator(".phone")
    return (await link.inner_text()).strip(), str(await link.get_attribute("href"))


async def leads(srv: Server, count: int) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=srv.url, headers=srv.headers(), timeout=30) as c:
        for _ in range(600):
            items = (await c.get("/api/v1/leads?channel=mango")).json()["items"]
            if len(items) >= count:
                return [(await c.get(f"/api/v1/leads/{i['id']}")).json() for i in items]
            await asyncio.sleep(0.05)
    raise AssertionError("the calls did not become leads")


async def test_visitors_see_their_own_numbers_and_their_calls_carry_their_utm(
        gateway_and_site: tuple[Server, str], browser: Any, screenshots: Path) -> None:
    srv, site = gateway_and_site
    ctx_a, a = await visit(browser, site + "/?utm_source=yandex&utm_campaign=okna&yclid=42")
    ctx_b, b = await visit(browser, site + "/?utm_source=vk&utm_medium=cpc&utm_campaign=dveri")
    await until(a, "document.documentElement.dataset.ct === 'number'")
    await until(b, "document.documentElement.dataset.ct === 'number'")
    (text_a, href_a), (text_b, href_b) = await phone(a), await phone(b)
    number_a, number_b = href_a.removeprefix("tel:+"), href_b.removeprefix("tel:+")
    assert {number_a, number_b} == set(POOL[:2])
    assert (text_a, text_b) == (shown(number_a), shown(number_b))
    await a.screenshot(path=str(screenshots / "calltracking-visitor.png"))

    await a.reload()  # the same visitor on the next page view keeps the number (at once: not after a default)
    await until(a, "document.documentElement.dataset.ct !== undefined")
    assert await a.evaluate("document.documentElement.dataset.ct") == "number"
    assert await phone(a) == (text_a, href_a)
    hidden = await a.locator("form input[name=ct_visitor]").get_attribute("value")
    assert hidden and len(hidden) == 32

    await send_call(srv, "call-a", number_a, "79160000001")
    await send_call(srv, "call-b", number_b, "79160000002")
    by_line = {lead["call"]["line"]: lead for lead in await leads(srv, 2)}
    assert by_line[number_a]["utm"] == {"utm_source": "yandex", "utm_campaign": "okna"}
    assert by_line[number_a]["custom"]["click_ids"] == {"yclid": "42"}
    assert by_line[number_a]["source"] == "Яндекс.Директ" and by_line[number_a]["custom"]["visitor"] == hidden
    assert by_line[number_b]["utm"] == {"utm_source": "vk", "utm_medium": "cpc", "utm_campaign": "dveri"}

    ctx_c, c = await visit(browser, site + "/")  # the pool is empty: the default number
    await until(c, "document.documentElement.dataset.ct === 'default'")
    assert await phone(c) == (shown(DEFAULT), f"tel:+{DEFAULT}")

    await ctx_a.close()  # visitor A leaves: their number goes back to the pool, and C is given it
    await until(c, f"document.querySelector('.phone').textContent === {shown(number_a)!r}", within=40)
    assert await phone(b) == (text_b, href_b)  # B, still on the page, keeps theirs
    await ctx_b.close()
    await ctx_c.close()


async def test_a_blocked_gateway_leaves_the_pages_own_number(
        gateway_and_site: tuple[Server, str], browser: Any) -> None:
    srv, site = gateway_and_site
    context = await browser.new_context(user_agent=BROWSER_UA)
    await context.route(f"{srv.url}/ct/{SITE}/sessions", lambda route: route.abort())
    page = await context.new_page()
    await page.goto(site + "/")
    await until(page, "document.documentElement.dataset.ct === 'failed'")
    assert await phone(page) == (OWN, "tel:+74950000000")

    blocked = await browser.new_context(user_agent=BROWSER_UA)
    await blocked.route(f"{srv.url}/**", lambda route: route.abort())  # not even the script loads
    page = await blocked.new_page()
    await page.goto(site + "/")
    await page.wait_for_load_state("load")
    assert await phone(page) == (OWN, "tel:+74950000000")
    assert await page.evaluate("document.documentElement.dataset.ct") is None
    await context.close()
    await blocked.close()
