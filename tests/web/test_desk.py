"""What the page asks of the API and shows over real sockets: the queue's size, link candidates, undoing a decline,
repeating every failed event, the reports page by role, a user's time zone, Russian days in the journal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from gateway.http.keys import FILES
from gateway.store.schema import audit_log, blocklist
from tests.api.conftest import Gateway
from tests.web.dataset import seed_day
from tests.web.test_pages import browser_like, csrf_of


async def test_the_queue_count_is_the_whole_queue(gateway: Gateway) -> None:
    for i in range(3):
        await gateway.lead("vera", name=f"Ждёт {i}", phone=f"+7916000770{i}")
    async with gateway.client("anna") as anna:
        assert (await anna.get("/api/v1/unsorted/count")).json() == {"count": 3}
        assert (await anna.get("/api/v1/unsorted/count", params={"q": "Ждёт 1"})).json() == {"count": 1}
        assert (await anna.get("/api/v1/unsorted/count", params={"channel": "mango"})).json() == {"count": 0}


async def test_undo_brings_a_fresh_decline_back_as_it_was(gateway: Gateway) -> None:
    lead = await gateway.lead("vera", name="Передумали", phone="+79160007711", email="undo@shop.example")
    other = await gateway.lead("vera", name="Поздно", phone="+79160007712")
    async with gateway.client("anna") as anna, gateway.client("boris") as boris:
        body = {"reason": "Спам", "block": True}
        assert (await anna.post(f"/api/v1/unsorted/{lead['id']}/decline", json=body)).status_code == 200
        with gateway.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(blocklist)).scalar_one() == 2
        assert (await boris.post(f"/api/v1/unsorted/{lead['id']}/undo")).status_code == 409  # not boris's
        resp = await anna.post(f"/api/v1/unsorted/{lead['id']}/undo")
        assert resp.status_code == 200 and resp.json()["status"] == "unsorted"
        back = (await anna.get(f"/api/v1/leads/{lead['id']}")).json()
        assert (back["status"], back["quality"], back["decline_reason"], back["manager"]) == \
            ("unsorted", lead["quality"], None, lead["manager"])
        with gateway.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(blocklist)).scalar_one() == 0
        assert (await anna.post(f"/api/v1/unsorted/{lead['id']}/undo")).status_code == 409  # nothing to undo now
        assert (await anna.post(f"/api/v1/unsorted/{other['id']}/decline", json={})).status_code == 200
        with gateway.engine.begin() as conn:
            conn.execute(update(audit_log).where(audit_log.c.lead_id == other["id"]).values(
                at=datetime.now(UTC) - timedelta(minutes=5)))
        late = await anna.post(f"/api/v1/unsorted/{other['id']}/undo")
        assert late.status_code == 409 and late.json()["kind"] == "Conflict"


async def test_link_candidates_say_how_they_were_found(gateway: Gateway) -> None:
    known = await gateway.lead("vera", name="Ирина Соколова", phone="+79160007721", email="irina@zavod.example")
    async with gateway.client("vera") as vera:
        deal_id = (await vera.post(f"/api/v1/unsorted/{known['id']}/accept", json={})).json()["deal_id"]
    stranger = await gateway.lead("vera", name="Незнакомец", phone="+79160007722", text="Звонила с работы")
    hinted = await gateway.lead("vera", name="Секретарь", phone="+79160007723", text="Её мобильный 8 916 000-77-21")
    same_phone = await gateway.lead("vera", name="Ира", phone="+79160007721")
    async with gateway.client("anna") as anna:
        def found(lead_id: int, q: str):  # type: ignore[no-untyped-def]
            return anna.get(f"/api/v1/unsorted/{lead_id}/candidates", params={"q": q})

        resp = await found(stranger["id"], str(deal_id))
        assert resp.status_code == 200, resp.text
        by_number = resp.json()["items"]
        assert by_number[0]["found_by"] == ["number"] and by_number[0]["reasons"] == []
        assert by_number[0]["deals"][0]["id"] == deal_id and by_number[0]["strength"] == "none"
        by_name = (await found(stranger["id"], "соколова")).json()["items"]
        assert by_name[0]["contact"]["name"] == "Ирина Соколова" and "name" in by_name[0]["found_by"]
        by_mail = (await found(stranger["id"], "irina@zavod.example")).json()["items"]
        assert by_mail[0]["found_by"] == ["email"]
        hint = (await found(hinted["id"], str(deal_id))).json()["items"]
        assert hint[0]["reasons"] == ["same phone"] and hint[0]["strength"] == "strong"
        assert (await found(stranger["id"], "нет такого")).json()["items"] == []
    async with gateway.client("vera") as vera:  # the same person's new lead joined their history: a manager's
        by_phone = (await vera.get(f"/api/v1/unsorted/{same_phone['id']}/candidates",
                                   params={"q": "8 916 000-77-21"})).json()["items"]
    assert by_phone[0]["found_by"] == ["phone"] and by_phone[0]["deals"][0]["id"] == deal_id


async def test_every_failed_event_is_repeated_at_once_and_the_log_has_pages(gateway: Gateway) -> None:
    seed_day(gateway.engine, gateway.app[FILES], unsorted=0, known=0, events_failed=90)
    async with browser_like(gateway, "root") as root:
        first = await root.get("/admin/events?status=failed")
        assert first.status_code == 200 and "cursor=" in first.text and first.text.count('class="event"') == 50
        visible = first.text.split("<main", 1)[1]
        for raw in ("TransientUpstreamError:", "ConfigError:", "Traceback"):
            assert raw not in visible.split("<pre>")[0]  # only inside the administrators' fold
        assert "Запись разговора ещё не готова на АТС" in visible and "Шлюз повторит сам." in visible
        assert "Повторить все упавшие" in visible
        resp = await root.post("/api/v1/events/replay", json={"status": "failed"},
                               headers={"X-CSRF-Token": csrf_of(first.text)})
        assert resp.status_code == 200 and resp.json()["requeued"] == 60
        health = (await root.get("/admin/health")).text
        assert "Error:" not in health.split("<pre>")[0].split("<main", 1)[1]


async def test_reports_live_in_the_page_for_managers_and_refuse_operators_plainly(gateway: Gateway) -> None:
    await gateway.lead("vera", name="Для отчёта", phone="+79160007731")
    async with browser_like(gateway, "vera") as vera:
        page = await vera.get("/reports?group_by=channel")
        assert page.status_code == 200 and 'class="app-bar"' in page.text and "<svg" in page.text
        assert 'href="/reports" aria-current="page"' in page.text and "Итого" in page.text
        assert "/static/app.css" in page.text and "Менеджером" in page.text
    async with browser_like(gateway, "anna") as anna:
        refused = await anna.get("/reports")
        assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
        assert "Отчёты доступны руководителям и администраторам." in refused.text and 'class="app-bar"' in refused.text
        assert 'href="/reports"' not in (await anna.get("/")).text


async def test_a_user_sets_their_time_zone_and_times_follow_it(gateway: Gateway) -> None:
    await gateway.lead("vera", name="По часам", phone="+79160007741")
    async with browser_like(gateway, "anna") as anna:
        page = await anna.get("/settings")
        assert "Москва (UTC+3)" in page.text
        saved = await anna.post("/settings", data={"csrf": csrf_of(page.text), "full_name": "Анна Смирнова",
                                                   "timezone": "Asia/Yekaterinburg"})
        assert saved.status_code == 303
        queue = (await anna.get("/")).text
        assert "Анна Смирнова" in queue and "Екатеринбург (UTC+5)" in queue
        now = datetime.now(UTC) + timedelta(hours=5)
        assert f"сегодня {now:%H}:" in queue or f"сегодня {(now - timedelta(minutes=1)):%H}:" in queue
        bad = await anna.post("/settings", data={"csrf": csrf_of(queue), "timezone": "Mars/Olympus"})
        assert bad.status_code == 400


async def test_the_journal_takes_russian_days_and_says_when_one_is_wrong(gateway: Gateway) -> None:
    lead = await gateway.lead("vera", name="Сегодняшний", phone="+79160007751")
    today = datetime.now(UTC) + timedelta(hours=3)
    async with browser_like(gateway, "vera") as vera:
        page = (await vera.get("/journal", params={"from": f"{today:%d.%m.%Y}", "to": f"{today:%d.%m.%Y}"})).text
        assert f'data-lead-id="{lead["id"]}"' in page and f'value="{today:%d.%m.%Y}"' in page
        empty = (await vera.get("/journal", params={"to": "01.01.2020"})).text
        assert f'data-lead-id="{lead["id"]}"' not in empty
        wrong = (await vera.get("/journal", params={"from": "32.13.2024"})).text
        assert 'aria-invalid="true"' in wrong and "Введите дату как дд.мм.гггг" in wrong
