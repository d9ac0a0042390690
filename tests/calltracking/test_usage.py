"""The pool's use, the reports' UTM groupings for calls and forms, and old visits deleted after the retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select

from gateway.calltracking import pool
from gateway.calltracking.usage import peak_visits
from gateway.config.calltracking import SiteSettings
from gateway.store.bootstrap import migrate
from gateway.store.db import make_engine
from gateway.store.schema import ct_sessions
from tests.calltracking.conftest import DEFAULT, POOL, SITE, ask, client, lead_of, send_call, site, visitor
from tests.conftest import Server

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


async def test_the_pool_page_api_shows_use_exhaustion_and_the_size_that_would_have_sufficed(tracked: Server) -> None:
    async with client(tracked) as c:
        answers = [(await ask(c, visitor(n))).json()["number"] for n in range(5)]
    async with httpx.AsyncClient(base_url=tracked.url, timeout=30) as c:
        usage = (await c.get(f"/api/v1/calltracking/{SITE}/pool", headers=tracked.headers())).json()
        refused = await c.get(f"/api/v1/calltracking/{SITE}/pool", headers=tracked.headers("operator"))
        unknown = await c.get("/api/v1/calltracking/nope/pool", headers=tracked.headers())
    assert answers.count(DEFAULT) == 2
    assert (usage["pool_size"], usage["in_use"], usage["exhausted_total"]) == (3, 3, 2)
    assert [n["number"] for n in usage["numbers"]] == POOL[:3] and all(n["held_until"] for n in usage["numbers"])
    assert [h["exhausted"] for h in usage["exhausted_per_hour"]] == [2]
    assert usage["would_have_sufficed"] == 5  # five visitors at once wanted a number
    assert refused.status_code == 403 and unknown.status_code == 404


def test_the_peak_counts_visits_that_overlap() -> None:
    m = [T0 + timedelta(minutes=k) for k in range(10)]
    assert peak_visits([(m[0], m[3]), (m[1], m[2]), (m[2], m[5]), (m[4], m[6]), (m[3], m[4])]) == 2
    assert peak_visits([(m[0], m[9]), (m[1], m[8]), (m[2], m[7])]) == 3 and peak_visits([]) == 0


async def test_reports_group_calls_and_forms_by_campaign_source_medium_and_keyword(tracked_with_form: Server) -> None:
    tracked = tracked_with_form
    utm = {"utm_source": "yandex", "utm_medium": "cpc", "utm_campaign": "okna", "utm_term": "окна пвх"}
    async with client(tracked) as c:
        given = (await ask(c, visitor(1), page="https://example.ru/", utm=utm)).json()
    await send_call(tracked, "entry-r", given["number"], "79161112233")
    await lead_of(tracked, "mango")
    async with httpx.AsyncClient(base_url=tracked.url, timeout=30, headers=tracked.headers()) as c:
        made = await c.post("/hooks/forms/site-form", data={"name": "Пётр", "phone": "+79165556677",
                                                             "utm_source": "yandex", "utm_medium": "cpc",
                                                             "utm_campaign": "okna"})
        await lead_of(tracked, "forms")
        groups = {g: (await c.get(f"/api/v1/reports/leads?group_by={g}&advertising=all")).json()
                  for g in ("utm_campaign", "utm_source_medium", "utm_term")}
    assert made.status_code == 303, made.text  # stored, then the thank-you page
    by = {g: {i["label"]: i["total"] for i in r["items"]} for g, r in groups.items()}
    assert by["utm_campaign"] == {"okna": 2}
    assert by["utm_source_medium"] == {"yandex / cpc": 2}
    assert by["utm_term"] == {"окна пвх": 1, "—": 1}


def test_visits_older_than_the_retention_are_deleted(database_url: str) -> None:
    conf = SiteSettings.model_validate(site(pool=POOL[:2], hold_minutes=10))
    engine = make_engine(database_url)
    try:
        migrate(engine)
        with engine.begin() as conn:
            pool.sync_pool(conn, conf)
            pool.give_number(conn, conf, pool.Visit(visitor(1)), T0 - timedelta(days=100))
            pool.give_number(conn, conf, pool.Visit(visitor(2)), T0 - timedelta(days=1))
            gone = pool.prune(conn, T0 - timedelta(days=90))
            left = conn.execute(select(ct_sessions.c.visitor)).scalars().all()
            assert conn.execute(select(func.count()).select_from(ct_sessions)).scalar() == 1
    finally:
        engine.dispose()
    assert gone == 1 and left == [visitor(2)]
