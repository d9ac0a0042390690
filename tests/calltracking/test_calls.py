"""Over real sockets: a visit asks for a number, Mango reports a call to it, the lead carries the visit."""

from __future__ import annotations

import httpx

from tests.calltracking.conftest import ask, client, lead_of, send_call, visitor
from tests.conftest import Server


async def test_a_call_to_a_visitors_number_carries_the_visit(tracked_with_form: Server) -> None:
    srv = tracked_with_form
    page = "https://example.ru/price?utm_source=yandex&utm_campaign=okna&utm_term=пластиковые+окна&yclid=777"
    async with client(srv) as c:
        given = (await ask(c, visitor(1), page=page, referrer="https://ya.ru/",
                           utm={"utm_source": "yandex", "utm_campaign": "okna", "utm_term": "пластиковые окна"},
                           click_ids={"yclid": "777"})).json()
        await ask(c, visitor(1), page="https://example.ru/contacts")
    await send_call(srv, "entry-1", given["number"], "79161234567")
    [lead] = await lead_of(srv, "mango")
    assert lead["utm"] == {"utm_source": "yandex", "utm_campaign": "okna", "utm_term": "пластиковые окна"}
    assert lead["source"] == "Яндекс.Директ"
    custom = lead["custom"]
    assert (custom["visitor"], custom["referrer"], custom["click_ids"]) == (visitor(1), "https://ya.ru/",
                                                                            {"yclid": "777"})
    assert custom["pages"] == [page, "https://example.ru/contacts"] and custom["landing"] == page
    assert custom["calltracking"]["verdict"] == "matched"


async def test_a_form_sent_later_from_the_same_visit_joins_the_visitor(tracked_with_form: Server) -> None:
    srv = tracked_with_form
    async with client(srv) as c:
        given = (await ask(c, visitor(7), page="https://example.ru/?utm_source=google&utm_campaign=brand",
                           utm={"utm_source": "google", "utm_campaign": "brand"})).json()
    await send_call(srv, "entry-7", given["number"], "79161234500")
    async with httpx.AsyncClient(base_url=srv.url, timeout=30) as c:
        sent = await c.post("/hooks/forms/site-form", data={"name": "Ольга", "phone": "+7 916 555-44-33",
                                                            "ct_visitor": visitor(7),
                                                            "page": "https://example.ru/contacts"},
                            headers={"Origin": "https://example.ru"})
    assert sent.status_code in (200, 303), sent.text
    [call_lead] = await lead_of(srv, "mango")
    [form_lead] = await lead_of(srv, "forms")
    assert call_lead["custom"]["visitor"] == form_lead["custom"]["visitor"] == visitor(7)
    assert form_lead["utm"] == {"utm_source": "google", "utm_campaign": "brand"}  # the visit's, the form had none
    assert form_lead["custom"]["calltracking"]["verdict"] == "form"
    assert call_lead["source"] == "Google Ads"


async def test_a_call_with_no_visit_keeps_the_lines_source_and_says_why(tracked: Server) -> None:
    await send_call(tracked, "entry-9", "74951110002", "79161230000")
    [lead] = await lead_of(tracked, "mango")
    assert lead["utm"] == {} and lead["source"] == "Call to number 74951110002"
    assert lead["custom"]["calltracking"] == {
        "site": "site-ru", "number": "74951110002", "verdict": "no_session",
        "reason": "в момент звонка этот номер не был выдан ни одному посетителю сайта"}
