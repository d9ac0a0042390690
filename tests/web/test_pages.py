"""The server-rendered pages over real sockets: who sees what, escaping, language, forms without JavaScript."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import insert

from gateway.core.models import (
    AttachmentRef,
    CallInfo,
    Channel,
    IdentityKind,
    IdentityRef,
    Interaction,
    Kind,
    MessageRef,
)
from gateway.store.schema import events
from gateway.web.throttle import LoginThrottle
from tests.api.conftest import PASSWORD, Gateway
from tests.web.conftest import mail_lead, pipeline_lead


@asynccontextmanager
async def browser_like(gw: Gateway, name: str) -> AsyncIterator[httpx.AsyncClient]:
    async with gw.client(follow_redirects=False) as client:
        form = await client.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        resp = await client.post("/login", data={"name": name, "password": PASSWORD, "csrf": token})
        assert resp.status_code == 302
        yield client


def csrf_of(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)  # type: ignore[union-attr]


async def test_pages_send_you_to_log_in_first(gateway: Gateway) -> None:
    async with gateway.client(follow_redirects=False) as c:
        resp = await c.get("/journal?channel=manual")
        where = urlsplit(resp.headers["location"])
        assert resp.status_code == 302 and where.path == "/login"
        assert parse_qs(where.query)["next"] == ["/journal?channel=manual"]
        assert (await c.get("/ui/leads/1/card")).status_code == 401


async def test_login_goes_back_only_to_this_site(gateway: Gateway) -> None:
    async with gateway.client(follow_redirects=False) as c:
        form = await c.get("/login?next=//evil.example/")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        assert 'name="next" value="/"' in form.text
        resp = await c.post("/login", data={"name": "vera", "password": PASSWORD, "csrf": token,
                                            "next": "https://evil.example/"})
    assert resp.headers["location"] == "/"


async def test_admin_pages_are_for_admins(gateway: Gateway) -> None:
    async with browser_like(gateway, "anna") as anna:
        assert (await anna.get("/admin/events")).status_code == 403
        assert (await anna.get("/admin/health")).status_code == 403
        assert "/admin/events" not in (await anna.get("/")).text
    async with browser_like(gateway, "root") as root:
        assert (await root.get("/admin/health")).status_code == 200
        assert "/admin/events" in (await root.get("/")).text


async def test_event_log_page_and_replay_by_the_page(gateway: Gateway) -> None:
    now = datetime.now(UTC)
    with gateway.engine.begin() as conn:
        conn.execute(insert(events).values(id="0000failed", connector="forms", account="site", key="k1",
                                           received_at=now, headers={}, body=b"{}", status="dead", attempts=8,
                                           next_attempt_at=now, last_error="Traceback\nValueError: <b>bad</b>"))
    async with browser_like(gateway, "root") as root:
        page = await root.get("/admin/events?status=dead")
        assert 'data-replay="0000failed"' in page.text and "ValueError: &lt;b&gt;bad&lt;/b&gt;" in page.text
        resp = await root.post("/api/v1/events/0000failed/replay", headers={"X-CSRF-Token": csrf_of(page.text)})
        assert resp.status_code == 200 and resp.json()["requeued"] == 1


async def test_the_card_escapes_what_a_sender_wrote(gateway: Gateway) -> None:
    lead_id = mail_lead(gateway, subject="<script>alert(1)</script>", text="<img src=x onerror=alert(2)>",
                        html="<p onclick=alert(3)>hi</p><script>alert(4)</script>", author="<b>Mallory</b>",
                        email="m@evil.example")
    async with browser_like(gateway, "anna") as anna:
        card = (await anna.get(f"/ui/leads/{lead_id}/card")).text
        framed = (await anna.get(f"/ui/leads/{lead_id}/card?html=1")).text
        page = await anna.get(f"/leads/{lead_id}")
    assert "<script>alert" not in card and "&lt;script&gt;alert(1)&lt;/script&gt;" in card
    assert "<img src=x" not in card and "&lt;b&gt;Mallory&lt;/b&gt;" in card
    assert "iframe" not in card  # text by default
    frame = re.search(r'<iframe class="mail-html"[^>]*sandbox="([^"]*)"[^>]*srcdoc="([^"]*)"', framed)
    assert frame is not None and "allow-scripts" not in frame.group(1)
    assert "onclick" not in frame.group(2) and "script" not in frame.group(2) and "&lt;p&gt;hi" in frame.group(2)
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "object-src 'none'" in policy and "unsafe" not in policy
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["X-Content-Type-Options"] == "nosniff"


async def test_english_on_request_and_remembered(gateway: Gateway) -> None:
    await gateway.lead("vera", name="Lang", phone="+79160007701")
    async with browser_like(gateway, "anna") as anna:
        assert "Неразобранное" in (await anna.get("/")).text
        english = await anna.get("/?lang=en")
        assert "Unsorted" in english.text and "Accept selected" in english.text and "Неразобранное" not in english.text
        assert "Unsorted" in (await anna.get("/")).text  # the cookie keeps the choice
        journal = await anna.get("/journal")
        assert "By a manager" in journal.text and "Journal" in journal.text


async def test_journal_filters_and_operator_scope(gateway: Gateway) -> None:
    mine = await gateway.lead("anna", name="Мой лид", phone="+79160007702")
    theirs = await gateway.lead("vera", name="Чужой лид", phone="+79160007703")
    async with gateway.client("vera") as vera:
        deal_id = (await vera.post(f"/api/v1/unsorted/{theirs['id']}/accept", json={})).json()["deal_id"]
    async with browser_like(gateway, "anna") as anna:
        page = (await anna.get("/journal")).text
        assert f'data-lead-id="{mine["id"]}"' in page and f'data-lead-id="{theirs["id"]}"' not in page
        assert (await anna.get(f"/leads/{theirs['id']}")).status_code == 403
        assert (await anna.get(f"/deals/{deal_id}")).status_code == 404
    async with browser_like(gateway, "vera") as vera_web:
        both = (await vera_web.get("/journal")).text
        accepted = (await vera_web.get("/journal?status=accepted&q=Чужой")).text
        deal = await vera_web.get(f"/deals/{deal_id}")
    assert f'data-lead-id="{mine["id"]}"' in both and f'data-lead-id="{theirs["id"]}"' in both
    assert f'data-lead-id="{theirs["id"]}"' in accepted and f'data-lead-id="{mine["id"]}"' not in accepted
    assert deal.status_code == 200 and f'data-lead-id="{theirs["id"]}"' in deal.text


async def test_forms_work_without_javascript(gateway: Gateway) -> None:
    lead = await gateway.lead("vera", name="Без скриптов", phone="+79160007704")
    async with browser_like(gateway, "anna") as anna:
        page = (await anna.get(f"/leads/{lead['id']}")).text
        token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        bad = await anna.post(f"/ui/leads/{lead['id']}/link", data={"csrf": token, "deal_id": "x"})
        assert bad.status_code == 303 and "error=" in bad.headers["location"]
        resp = await anna.post(f"/ui/leads/{lead['id']}/accept", data={"csrf": token, "pipeline": "Продажи"})
        assert resp.status_code == 303 and resp.headers["location"] == f"/leads/{lead['id']}"
        after = (await anna.get(resp.headers["location"])).text
    assert 'class="deal-link"' in after and "anna" in after


def test_login_backoff_grows_and_resets() -> None:
    now = [1000.0]
    throttle = LoginThrottle(lambda: now[0], free=3, max_wait=60)
    for _ in range(3):
        assert throttle.retry_after("Anna", "10.0.0.1") == 0
        throttle.failed("Anna", "10.0.0.1")
    assert throttle.retry_after("anna", "10.0.0.1") == 2  # names are compared case-blind
    assert throttle.retry_after("anna", "10.0.0.2") == 0  # per name and address
    now[0] += 2
    throttle.failed("anna", "10.0.0.1")
    assert throttle.retry_after("anna", "10.0.0.1") == 4
    for _ in range(10):
        throttle.failed("anna", "10.0.0.1")
    assert throttle.retry_after("anna", "10.0.0.1") == 60
    throttle.succeeded("anna", "10.0.0.1")
    assert throttle.retry_after("anna", "10.0.0.1") == 0


def test_login_backoff_counts_an_address_across_names() -> None:
    now = [1000.0]
    throttle = LoginThrottle(lambda: now[0], free=3, address_free=5, max_wait=60)
    for i in range(5):  # a spray: every name new, each within its own free failures
        assert throttle.retry_after(f"name{i}", "10.0.0.9") == 0
        throttle.failed(f"name{i}", "10.0.0.9")
    assert throttle.retry_after("never-tried", "10.0.0.9") == 2  # the address itself now waits
    assert throttle.retry_after("never-tried", "10.0.0.8") == 0  # another address does not
    now[0] += 2
    throttle.failed("name5", "10.0.0.9")
    assert throttle.retry_after("anna", "10.0.0.9") == 4
    throttle.succeeded("anna", "10.0.0.9")  # one name's success does not clear the address
    assert throttle.retry_after("anna", "10.0.0.9") == 4
    now[0] += 3601
    assert throttle.retry_after("anna", "10.0.0.9") == 0


def test_login_backoff_memory_is_bounded() -> None:
    throttle = LoginThrottle(lambda: 0.0, max_entries=100)
    for i in range(1000):
        throttle.failed(f"user{i}", f"10.0.{i // 250}.{i % 250}")
    assert len(throttle._seen) <= 100 and len(throttle._addresses) <= 100


async def test_each_kind_of_lead_has_its_card(gateway: Gateway) -> None:
    now = datetime.now(UTC)
    phone = [IdentityRef(kind=IdentityKind.PHONE, value="+79160008801")]
    call = pipeline_lead(gateway, Interaction(
        key="mango:main:call-1", channel=Channel.MANGO, kind=Kind.CALL, occurred_at=now, identities=phone,
        source="Яндекс.Директ", call=CallInfo(answered=True, result="answered", duration_s=125, ring_s=7,
                                              line="74951234567", complete=True),
        attachments=[AttachmentRef(name="call.mp3", size=1000, content_type="audio/mpeg", file_id="a" * 64,
                                   role="recording")]))
    chat = pipeline_lead(gateway, Interaction(
        key="telegram:bot:42", channel=Channel.TELEGRAM, kind=Kind.CHAT, occurred_at=now, name="Олег",
        identities=[IdentityRef(kind=IdentityKind.TELEGRAM, value="42")], conversation_key="telegram:bot:42",
        messages=[MessageRef(key="telegram:bot:42:1", at=now, author="Олег", text="Здравствуйте, есть доставка?")]))
    form = pipeline_lead(gateway, Interaction(
        key="forms:site:1", channel=Channel.FORMS, kind=Kind.FORM, occurred_at=now, name="Ирина",
        identities=[IdentityRef(kind=IdentityKind.EMAIL, value="irina@shop.example")], text="Нужен опт",
        utm={"utm_source": "yandex", "utm_campaign": "spring"}, custom={"page": "https://site.example/opt",
                                                                      "city": "Казань"}))
    async with browser_like(gateway, "anna") as anna:
        call_card = (await anna.get(f"/ui/leads/{call}/card")).text
        chat_card = (await anna.get(f"/ui/leads/{chat}/card")).text
        form_card = (await anna.get(f"/ui/leads/{form}/card")).text
    assert f'<audio controls preload="none" src="/api/v1/files/{"a" * 64}"' in call_card
    assert "2 мин 5 с" in call_card and "+7 495 123-45-67" in call_card and "Яндекс.Директ" in call_card
    assert "Здравствуйте, есть доставка?" in chat_card and f'data-api="/api/v1/leads/{chat}/reply"' in chat_card
    assert "<dt>utm_campaign</dt><dd class=\"wrap\">spring</dd>" in form_card
    assert "<dt>Город</dt><dd class=\"wrap\">Казань</dd>" in form_card
    assert "https://site.example/opt" in form_card and "Нужен опт" in form_card


async def test_technical_fields_are_for_administrators_behind_a_fold(gateway: Gateway) -> None:
    now = datetime.now(UTC)
    form = pipeline_lead(gateway, Interaction(
        key="forms:site:2", channel=Channel.FORMS, kind=Kind.FORM, occurred_at=now, name="Пётр", text="Нужен счёт",
        identities=[IdentityRef(kind=IdentityKind.EMAIL, value="petr@shop.example")],
        custom={"city": "Самара", "ip": "203.0.113.9", "user_agent": "Mozilla/5.0 Test", "submission": "f" * 32}))
    async with browser_like(gateway, "anna") as anna:
        operator = (await anna.get(f"/ui/leads/{form}/card")).text
    async with browser_like(gateway, "root") as root:
        admin = (await root.get(f"/ui/leads/{form}/card")).text
    for noise in ("203.0.113.9", "Mozilla/5.0 Test", "f" * 32, "Подробности"):
        assert noise not in operator
    assert "Самара" in operator and "Самара" in admin
    fold = admin[admin.index('<details class="fold technical">'):]
    assert "203.0.113.9" in fold and "Mozilla/5.0 Test" in fold and "<summary>Подробности</summary>" in fold
    assert "203.0.113.9" not in admin[:admin.index('<details class="fold technical">')]
