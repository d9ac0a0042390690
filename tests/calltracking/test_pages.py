"""The operators' page: the pool page for managers, and a lead card that shows the visit and the visitor's path."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from gateway.http.keys import SETTINGS
from tests.api.conftest import PASSWORD, Gateway, serve
from tests.calltracking.conftest import ask, client, lead_of, send_call, tracked_settings, visitor
from tests.conftest import Server


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[Gateway]:
    settings = tracked_settings(tmp_path)
    settings.forms = type(settings).model_validate(
        {**settings.model_dump(), "forms": [{"id": "site-form", "min_fill_seconds": 0}]}).forms
    runner, gw = await serve(settings)
    try:
        yield gw
    finally:
        await runner.cleanup()


async def logged_in(gw: Gateway, name: str) -> httpx.AsyncClient:
    c = gw.client(follow_redirects=False)
    form = await c.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    assert (await c.post("/login", data={"name": name, "password": PASSWORD, "csrf": token})).status_code == 302
    return c


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


async def test_the_pool_page_and_the_lead_card_show_the_visit(gateway: Gateway) -> None:
    srv = Server(gateway.url, gateway.app, gateway.app[SETTINGS], gateway.tokens["root"], gateway.tokens["anna"],
                 gateway.tokens["vera"])
    async with client(srv) as c:
        given = (await ask(c, visitor(1), page="https://example.ru/?utm_source=yandex", referrer="https://ya.ru/",
                           utm={"utm_source": "yandex", "utm_campaign": "okna", "utm_term": "окна пвх"})).json()
        await ask(c, visitor(1), page="https://example.ru/price")
        for n in range(2, 6):
            await ask(c, visitor(n))
    await send_call(srv, "entry-p", given["number"], "79161112200")
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as c:
        await c.post("/hooks/forms/site-form", data={"name": "Ольга", "phone": "+79165550000",
                                                     "ct_visitor": visitor(1)})
    [call] = await lead_of(srv, "mango")
    [form] = await lead_of(srv, "forms")

    vera = await logged_in(gateway, "vera")
    anna = await logged_in(gateway, "anna")
    try:
        pool_page = await vera.get("/calltracking")
        refused = await anna.get("/calltracking")
        card = await vera.get(f"/leads/{call['id']}")
        reports = await vera.get("/reports")
    finally:
        await vera.aclose()
        await anna.aclose()
    assert pool_page.status_code == 200 and refused.status_code == 403
    shown = text_of(pool_page.text)
    assert "Номеров в пуле 3" in shown and "Занято сейчас 3" in shown
    assert "Показов основного номера из-за нехватки за неделю 2" in shown
    assert "Хватило бы номеров, чтобы обслужить всех за неделю 5" in shown
    visit = text_of(card.text.split('id="visit"', 1)[1].split("</section>", 1)[0])
    assert "Кампания okna" in visit and "Ключевое слово окна пвх" in visit and "Откуда пришёл https://ya.ru/" in visit
    assert "https://example.ru/?utm_source=yandex https://example.ru/price" in visit
    assert f"Ещё от этого посетителя Заявка № {form['id']}" in visit
    assert 'href="/calltracking"' in reports.text
