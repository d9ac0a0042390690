"""In the browser: retry a dead delivery from the card, call back a missed call, reply to a mail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import update

from gateway.store.schema import users
from tests.api.conftest import THREAD, serve
from tests.calls.test_click_to_call import FakeMangoCommands
from tests.conftest import free_port, make_settings
from tests.connectors.email.test_mail_reply import Inbox
from tests.connectors.telephony.mango.mango_support import TEST_KEY, TEST_SALT
from tests.sinks.fake_amocrm import FakeAmo, Fault
from tests.sinks.harness import serve as serve_fake
from tests.web.conftest import mail_lead
from tests.web.test_browser import _page

pytestmark = pytest.mark.browser


async def test_retry_a_dead_delivery_call_back_and_reply_by_mail(tmp_path: Path, browser: Any,
                                                                 screenshots: Path) -> None:
    amo, mango, inbox = FakeAmo(), FakeMangoCommands(), Inbox()
    amo.faults.append(Fault("/api/v4/leads/unsorted/forms", status=400, body={
        "title": "Bad Request", "status": 400, "detail": "Request validation failed"}))
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    async with serve_fake(amo.app()) as amo_url, serve_fake(mango.app()) as mango_url:
        amo.url = amo_url
        settings = make_settings(
            tmp_path, dispatch=THREAD, http={"allow_private_outbound": True, "outbound_timeout_seconds": 2},
            sinks={"amocrm": [{"name": "amo", "base_url": amo_url, "token": amo.token, "delays": [0.1]}]},
            telephony={"mango": [{"account": "main", "api_key": TEST_KEY, "api_salt": TEST_SALT,
                                  "api_url": f"{mango_url}/vpbx/", "fetch_recordings": False}]},
            email={"mailboxes": [{"name": "sales", "host": "127.0.0.1", "port": free_port(), "ssl": False,
                                  "username": "sales@example.com", "password": "x", "poll_seconds": 3600,
                                  "smtp_host": "127.0.0.1", "smtp_port": smtp.port, "smtp_security": "none"}]})
        runner, gw = await serve(settings)
        try:
            lead = await gw.lead("anna", name="Ольга", phone="+79031234567", text="Перезвоните")
            page, seen = await _page(browser, gw)
            await page.goto(f"{gw.url}/leads/{lead['id']}")
            sink = page.locator('li.sink[data-sink="amo"]')
            await sink.locator(".sink-status", has_text="не доставлено").wait_for(timeout=15000)
            assert "Request validation failed" in await sink.inner_text()
            await sink.locator("button[data-post]").click()  # the validation problem is fixed meanwhile
            await page.locator('li.sink-delivered[data-sink="amo"]').wait_for(timeout=15000)
            assert len(amo.unsorted) == 1
            await page.screenshot(path=str(screenshots / "sink-retried.png"))

            with gw.engine.begin() as conn:  # anna's phone on the PBX
                conn.execute(update(users).where(users.c.name == "anna").values(extension="101"))
            await page.click("section.callback button[data-post]")
            await page.locator("section.callback output", has_text="Поставлено в очередь").wait_for(timeout=15000)
            for _ in range(100):
                if mango.commands:
                    break
                await page.wait_for_timeout(100)
            [command] = mango.commands
            assert command["from"] == {"extension": "101"} and command["to_number"] == "79031234567"
            await page.locator("section.callback .callback-state").wait_for(timeout=15000)
            assert not [s for s in seen if s.startswith("error:")]

            mail_id = mail_lead(gw, subject="Вопрос", text="Когда доставите?", html=None, author="Пётр",
                                email="petr@client.example")
            await page.goto(f"{gw.url}/leads/{mail_id}")
            await page.fill("form.mail-reply textarea", "Завтра до обеда.")
            async with page.expect_response(lambda r: r.url.endswith("/reply") and r.request.method == "POST",
                                            timeout=30000) as answer:
                await page.click("form.mail-reply button[type=submit]")
            replied = await answer.value
            assert replied.ok, f"{replied.status} {await replied.text()}"
            await page.locator("form.mail-reply output", has_text="Отправлено").wait_for(timeout=30000)
            for _ in range(100):
                if inbox.received:
                    break
                await page.wait_for_timeout(100)
            [(_, rcpts, raw)] = inbox.received
            assert rcpts == ["petr@client.example"] and b"In-Reply-To:" in raw and b"1@example" in raw
            await page.screenshot(path=str(screenshots / "mail-replied.png"))
        finally:
            await runner.cleanup()
            smtp.stop()
