"""The session routes over a real socket: one number per visitor, kept on reload, CORS, bots, limits, bad input."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from gateway.http.keys import DB
from gateway.store.schema import ct_numbers, ct_pool_hours, ct_sessions
from tests.calltracking.conftest import DEFAULT, ORIGIN, POOL, SITE, ask, client, tracked_settings, visitor
from tests.conftest import Server, start_server


async def test_two_visitors_get_different_numbers_and_a_reload_keeps_each(tracked: Server) -> None:
    async with client(tracked) as c:
        a = await ask(c, visitor(1), page="https://example.ru/?utm_source=yandex", utm={"utm_source": "yandex"})
        b = await ask(c, visitor(2), page="https://example.ru/price", click_ids={"gclid": "g-1"})
        again = await ask(c, visitor(1), page="https://example.ru/contacts")
    assert a.status_code == b.status_code == again.status_code == 200
    assert a.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert {a.json()["number"], b.json()["number"]} == {POOL[0], POOL[1]}
    assert again.json()["number"] == a.json()["number"] and again.json()["session"] == a.json()["session"]
    with tracked.app[DB].engine.connect() as conn:
        row = conn.execute(select(ct_sessions).where(ct_sessions.c.id == a.json()["session"])).mappings().one()
        held = dict(conn.execute(select(ct_numbers.c.number, ct_numbers.c.session_id)).all())
    assert row["utm"] == {"utm_source": "yandex"} and row["pages"] == ["https://example.ru/?utm_source=yandex",
                                                                       "https://example.ru/contacts"]
    assert held[a.json()["number"]] == a.json()["session"] and held[b.json()["number"]] == b.json()["session"]


async def test_an_exhausted_pool_gives_the_default_number_and_counts_it(tracked: Server) -> None:
    async with client(tracked) as c:
        numbers = [(await ask(c, visitor(n))).json() for n in range(1, 6)]
    assert [n["number"] for n in numbers[:3]] == POOL[:3]
    assert [(n["number"], n["default"], n["reason"]) for n in numbers[3:]] == [(DEFAULT, True, "exhausted")] * 2
    with tracked.app[DB].engine.connect() as conn:
        assert conn.execute(select(ct_pool_hours.c.exhausted)).scalar() == 2


async def test_only_the_sites_domains_may_ask(tracked: Server) -> None:
    async with client(tracked, origin="https://evil.example") as c:
        refused = await ask(c, visitor(1))
        preflight = await c.options(f"/ct/{SITE}/sessions")
    async with client(tracked) as c:
        allowed = await c.options(f"/ct/{SITE}/sessions")
        unknown = await c.post("/ct/nope/sessions", json={"visitor": visitor(1)})
    assert refused.status_code == 403 and preflight.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused.headers
    assert allowed.status_code == 204 and allowed.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert unknown.status_code == 404
    with tracked.app[DB].engine.connect() as conn:
        assert conn.execute(select(ct_sessions)).all() == []


async def test_a_bot_gets_the_default_number_without_taking_one(tracked: Server) -> None:
    async with client(tracked, user_agent="Mozilla/5.0 (compatible; YandexBot/3.0)") as c:
        bot = await ask(c, visitor(9))
    assert bot.status_code == 200 and bot.json()["number"] == DEFAULT and bot.json()["reason"] == "bot"
    with tracked.app[DB].engine.connect() as conn:
        assert conn.execute(select(ct_numbers.c.session_id).where(ct_numbers.c.session_id.is_not(None))).all() == []
        assert conn.execute(select(ct_pool_hours.c.bots)).scalar() == 1


async def test_one_visitor_asking_too_often_is_limited(tmp_path: Path) -> None:
    runner, srv = await start_server(tracked_settings(
        tmp_path, calltracking={"sites": [{"id": SITE, "domains": ["example.ru"], "default_number": DEFAULT,
                                           "pool": POOL[:3]}], "visitor_per_minute": 3}))
    try:
        async with client(srv) as c:
            codes = [(await ask(c, visitor(1))).status_code for _ in range(5)]
            other = await ask(c, visitor(2))
            last = await ask(c, visitor(1))
    finally:
        await runner.cleanup()
    assert codes == [200, 200, 200, 429, 429] and other.status_code == 200
    assert last.json()["number"] == DEFAULT and last.json()["reason"] == "rate_limited"


async def test_bad_input_is_refused_with_a_reason(tracked: Server) -> None:
    async with client(tracked) as c:
        no_visitor = await c.post(f"/ct/{SITE}/sessions", json={"page": "x"})
        not_json = await c.post(f"/ct/{SITE}/sessions", content=b"{oops")
        too_big = await c.post(f"/ct/{SITE}/sessions", content=b"{" + b" " * 20000 + b"}")
        lapsed = await c.post(f"/ct/{SITE}/sessions/{'0' * 32}/alive", json={})
    assert no_visitor.status_code == 400 and "visitor" in no_visitor.text
    assert not_json.status_code == 400 and too_big.status_code == 413
    assert lapsed.status_code == 410
    with tracked.app[DB].engine.connect() as conn:
        assert conn.execute(select(ct_sessions)).all() == []


async def test_a_heartbeat_keeps_the_number(tracked: Server) -> None:
    async with client(tracked) as c:
        first = (await ask(c, visitor(1), page="https://example.ru/")).json()
        beat = await c.post(f"/ct/{SITE}/sessions/{first['session']}/alive", json={"page": "https://example.ru/b"})
    assert beat.status_code == 200 and beat.json()["number"] == first["number"]
    assert beat.json()["expires_at"] >= first["expires_at"]
    with tracked.app[DB].engine.connect() as conn:
        assert conn.execute(select(ct_sessions.c.pages)).scalar() == ["https://example.ru/", "https://example.ru/b"]


async def test_a_reload_within_the_holds_slack_is_answered_without_a_write(tracked: Server) -> None:
    async with client(tracked) as c:
        first = (await ask(c, visitor(1), page="https://example.ru/")).json()
        with tracked.app[DB].engine.connect() as conn:
            seen = conn.execute(select(ct_sessions.c.seen_at)).scalar()
        reload = (await ask(c, visitor(1), page="https://example.ru/")).json()
        with tracked.app[DB].engine.connect() as conn:
            unchanged = conn.execute(select(ct_sessions.c.seen_at)).scalar()
        other_page = (await ask(c, visitor(1), page="https://example.ru/b")).json()
    with tracked.app[DB].engine.connect() as conn:
        row = conn.execute(select(ct_sessions.c.seen_at, ct_sessions.c.pages)).one()
    assert reload == first and unchanged == seen  # the stored hold already reaches 20 minutes from now
    assert other_page["number"] == first["number"] and other_page["expires_at"] > first["expires_at"]
    assert row.seen_at > seen and row.pages == ["https://example.ru/", "https://example.ru/b"]
