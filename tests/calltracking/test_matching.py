"""Calls matched to visits: 200 visitors and 50 calls over a 20-number pool, judged concurrently, on both stores."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from gateway.calltracking import matching, pool
from gateway.config.calltracking import CallTrackingSettings
from gateway.core.models import CallInfo, Channel, Direction, Interaction, Kind
from gateway.store.bootstrap import migrate
from gateway.store.db import make_engine
from gateway.store.schema import ct_matches, ct_sessions
from tests.calltracking.conftest import POOL, site, visitor

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
HOLD = 5  # minutes
KEPT = HOLD * 1.05  # a number is held `hold_minutes` after the last sign of life, and 5 % more
MARGIN = 60  # seconds: `ambiguous_seconds`
WAVES = 10


def minutes(m: float) -> timedelta:
    return timedelta(minutes=m)


@dataclass
class Holding:
    visitor: str
    number: str
    start: datetime
    end: datetime
    utm: dict[str, str]


def settings() -> CallTrackingSettings:
    return CallTrackingSettings.model_validate({"sites": [site(pool=POOL, hold_minutes=HOLD)],
                                                "ambiguous_seconds": MARGIN})


def _give(engine: Engine, conf: CallTrackingSettings, who: str, at: datetime, utm: dict[str, str]) -> pool.Given:
    with engine.begin() as conn:
        return pool.give_number(conn, conf.sites[0], pool.Visit(who, "https://example.ru/", None, utm), at)


def _beat(engine: Engine, conf: CallTrackingSettings, session: str, at: datetime) -> pool.Given | None:
    with engine.begin() as conn:
        return pool.keep_alive(conn, conf.sites[0], session, None, at)


def simulate(engine: Engine, conf: CallTrackingSettings) -> tuple[list[Holding], list[tuple[str, str, datetime]]]:
    """Ten waves of 20 visitors (18 at the wave's start, all at once; 2 latecomers 5.5 minutes in, who stay into the
    next wave); 5 calls a wave. The pool is tight: latecomers take numbers just let go, or find none."""
    holdings: list[Holding] = []
    calls: list[tuple[str, str, datetime]] = []
    latecomers: list[pool.Given] = []
    latecomers: list[pool.Given] = []
    with ThreadPoolExecutor(max_workers=18) as threads:
        for w in range(WAVES):
            start = T0 + minutes(10 * w)
            early = [(visitor(w * 20 + j), {"utm_source": "yandex", "utm_campaign": f"wave{w}-v{j}"})
                     for j in range(18)]
            given = list(threads.map(lambda v, at=start: _give(engine, conf, v[0], at, v[1]), early))
            assert all(g.number for g in given)
            for (who, utm), g in zip(early, given, strict=True):
                holdings.append(Holding(who, str(g.number), start, start + minutes(KEPT), utm))
            for late in latecomers:
                if late.number:
                    assert _beat(engine, conf, late.session_id, start + minutes(0.25)) is not None
                    held = next(h for h in reversed(holdings) if h.number == late.number and h.start < start)
                    held.end = start + minutes(0.25 + KEPT)
            for j in range(1, 18):  # everyone but the first keeps the page open two minutes in
                assert _beat(engine, conf, given[j].session_id, start + minutes(2)) is not None
                holdings[-18 + j].end = start + minutes(2 + KEPT)
            late_at = start + minutes(5.5)
            late_visitors = [(visitor(w * 20 + 18), {"utm_source": "google"}), (visitor(w * 20 + 19), {})]
            latecomers = list(threads.map(lambda v, at=late_at: _give(engine, conf, v[0], at, v[1]),
                                         late_visitors))
            for (who, utm), g in zip(late_visitors, latecomers, strict=True):
                if g.number:  # still on the page a quarter minute into the next wave: held into it
                    holdings.append(Holding(who, g.number, late_at, late_at + minutes(KEPT), utm))
            number = {h.visitor: h.number for h in holdings if h.start == start}
            calls += [(f"w{w}-c1", number[visitor(w * 20 + 1)], start + minutes(3)),
                      (f"w{w}-c2", number[visitor(w * 20 + 2)], start + minutes(7.5)),
                      (f"w{w}-c3", number[visitor(w * 20)], start + minutes(6)),
                      (f"w{w}-c4", number[visitor(w * 20 + 3)], start + minutes(9)),
                      (f"w{w}-c5", latecomers[0].number or POOL[0], start + minutes(8))]
    return holdings, calls


def expected(holdings: list[Holding], number: str, at: datetime) -> tuple[str, str | None]:
    """The rule, stated on the scenario: who held the number at the call, or let it go less than a minute before."""
    near = [h for h in holdings if h.number == number and h.start <= at and h.end >= at - timedelta(seconds=MARGIN)]
    if not near:
        return "no_session", None
    if len(near) > 1:
        return "ambiguous", None
    return "matched", near[0].visitor


def call(key: str, number: str, at: datetime) -> Interaction:
    return Interaction(key=f"mango:office:{key}", channel=Channel.MANGO, kind=Kind.CALL, direction=Direction.IN,
                       occurred_at=at, source="Сайт (звонки)", call=CallInfo(line=number, complete=True))


def judge(engine: Engine, conf: CallTrackingSettings, ix: Interaction) -> Interaction:
    with engine.begin() as conn:
        return matching.enrich(conn, conf, ix, T0 + minutes(200))


def test_200_visitors_and_50_calls_over_20_numbers_are_attributed_exactly(database_url: str) -> None:
    conf = settings()
    engine = make_engine(database_url, pool_size=20)
    try:
        migrate(engine)
        with engine.begin() as conn:
            pool.sync_pool(conn, conf.sites[0])
        holdings, calls = simulate(engine, conf)
        # each call judged twice at once (a provider's retry): one verdict, the same both times
        jobs = [call(key, number, at) for key, number, at in calls for _ in range(2)]
        with ThreadPoolExecutor(max_workers=16) as threads:
            judged = list(threads.map(lambda ix: judge(engine, conf, ix), jobs))
        with engine.connect() as conn:
            stored = {r.interaction_key: (r.verdict, r.visitor) for r in conn.execute(select(ct_matches))}
            visitors = conn.execute(select(ct_sessions.c.visitor).distinct()).scalars().all()
    finally:
        engine.dispose()
    assert len(visitors) == 200 and len(calls) == 50
    want = {f"mango:office:{key}": expected(holdings, number, at) for key, number, at in calls}
    assert stored == want
    kinds = Counter(v for v, _ in want.values())
    # the scenario meets every verdict many times; how many of each varies a little with the order in which the
    # concurrent threads were given their numbers (31, 9 and 10 alone; 29 matched in a full suite on a slow machine)
    assert kinds["matched"] >= 25 and kinds["ambiguous"] >= 5 and kinds["no_session"] >= 5
    by_visitor = {h.visitor: h for h in holdings}
    for ix in judged:
        verdict, who = want[ix.key]
        assert ix.custom["calltracking"]["verdict"] == verdict
        if verdict == "matched":
            assert who is not None
            assert (ix.custom["visitor"], ix.utm) == (who, by_visitor[who].utm)
            assert ix.source == {"yandex": "Яндекс.Директ", "google": "Google Ads"}.get(
                by_visitor[who].utm.get("utm_source", ""), "Сайт (звонки)")
        else:
            assert ix.utm == {} and ix.source == "Сайт (звонки)" and ix.custom["calltracking"]["reason"]


def test_a_later_event_of_the_same_call_keeps_the_first_verdict(database_url: str) -> None:
    conf = settings()
    engine = make_engine(database_url)
    try:
        migrate(engine)
        with engine.begin() as conn:
            pool.sync_pool(conn, conf.sites[0])
            given = pool.give_number(conn, conf.sites[0], pool.Visit(visitor(1), utm={"utm_source": "yandex"}), T0)
        assert given.number is not None
        first = judge(engine, conf, call("e1", given.number, T0 + minutes(1)))
        with engine.begin() as conn:  # another visit appears to hold the number then (a clock moved, say)
            conn.execute(ct_sessions.insert().values(
                id="f" * 32, site=conf.sites[0].id, visitor=visitor(2), number=given.number, outcome="number",
                started_at=T0, seen_at=T0, held_until=T0 + minutes(30), utm={}, click_ids={}, pages=[]))
        later = judge(engine, conf, call("e1", given.number, T0 + minutes(1)))
        fresh = judge(engine, conf, call("e2", given.number, T0 + minutes(1)))
    finally:
        engine.dispose()
    assert first.custom["calltracking"]["verdict"] == later.custom["calltracking"]["verdict"] == "matched"
    assert later.custom["visitor"] == visitor(1) and later.source == "Яндекс.Директ"
    assert fresh.custom["calltracking"]["verdict"] == "ambiguous"


def test_a_call_to_a_line_outside_every_pool_is_left_alone() -> None:
    ix = call("x", "74951234567", T0)
    assert matching.enrich(None, settings(), ix, T0) is ix  # type: ignore[arg-type]
