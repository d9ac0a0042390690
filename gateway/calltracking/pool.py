"""Giving numbers from a site's pool to visitors, keeping them while the page is alive, and taking them back.

A number is held by at most one visit at a time: a visit claims a free row of `ct_numbers` with a guarded
UPDATE (and, on PostgreSQL, `FOR UPDATE SKIP LOCKED`, so concurrent requests take different rows instead of
queueing on one). The free number given is the one released longest ago, so that a number changes hands as
late as possible and a call is rarely ambiguous.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from gateway.config.calltracking import SiteSettings
from gateway.store.schema import ct_matches, ct_numbers, ct_pool_hours, ct_sessions

__all__ = ["Given", "Visit", "count", "give_number", "keep_alive", "kept_until", "prune", "sync_pool"]

MAX_PAGES = 50
MAX_SLACK = timedelta(minutes=1)
CLAIM_TRIES = 5


@dataclass(frozen=True, slots=True)
class Visit:
    """What the page says about itself (no personal data: a random visitor id, addresses of pages)."""

    visitor: str
    page: str | None = None
    referrer: str | None = None
    utm: dict[str, str] = field(default_factory=dict)
    click_ids: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Given:
    session_id: str
    number: str | None  # None: show the default number
    held_until: datetime
    outcome: str  # number | exhausted


def sync_pool(conn: Connection, site: SiteSettings) -> None:
    """Make `ct_numbers` hold exactly the site's pool (numbers added to the settings become free)."""
    have = set(conn.execute(select(ct_numbers.c.number).where(ct_numbers.c.site == site.id)).scalars())
    for number in sorted(set(site.pool) - have):
        conn.execute(_insert(conn).values(site=site.id, number=number).on_conflict_do_nothing())
    gone = sorted(have - set(site.pool))
    if gone:
        conn.execute(delete(ct_numbers).where(ct_numbers.c.site == site.id, ct_numbers.c.number.in_(gone)))


def _insert(conn: Connection) -> Any:
    mod = postgresql if conn.dialect.name == "postgresql" else sqlite
    return mod.insert(ct_numbers)


def kept_until(site: SiteSettings, now: datetime) -> datetime:
    """Until when a number given or kept now is held: `hold_minutes`, and 5 % more (at most a minute), so that a
    visitor's reloads and tabs within that slack are answered without writing again (see `edge`)."""
    hold = timedelta(minutes=site.hold_minutes)
    return now + hold + min(hold / 20, MAX_SLACK)


def _pages(pages: list[str] | None, page: str | None) -> list[str]:
    out = list(pages or [])
    if page and (not out or out[-1] != page):
        out.append(page[:2000])
    return out[-MAX_PAGES:]


def _claim(conn: Connection, site: str, session_id: str, until: datetime, now: datetime) -> str | None:
    free = or_(ct_numbers.c.held_until.is_(None), ct_numbers.c.held_until < now)
    for _ in range(CLAIM_TRIES):
        number = conn.execute(
            select(ct_numbers.c.number).where(ct_numbers.c.site == site, free)
            .order_by(ct_numbers.c.held_until.asc().nulls_first(), ct_numbers.c.number).limit(1)
            .with_for_update(skip_locked=True)
        ).scalar()
        if number is None:
            return None
        taken = conn.execute(update(ct_numbers).where(ct_numbers.c.site == site, ct_numbers.c.number == number, free)
                             .values(session_id=session_id, held_until=until))
        if taken.rowcount == 1:
            return str(number)
    return None


# Built once: a request that keeps a number runs these three with new values, and nothing else.
_s, _n = ct_sessions.c, ct_numbers.c
_LIVE = (select(_s.id, _s.number, _s.pages)
         .where(_s.site == bindparam("b_site"), _s.visitor == bindparam("b_visitor"),
                _s.held_until >= bindparam("b_now"))
         .order_by(_s.started_at.desc()).limit(1))
_KEEP_NUMBER = (update(ct_numbers)
                .where(_n.site == bindparam("b_site"), _n.number == bindparam("b_number"),
                       _n.session_id == bindparam("b_session"), _n.held_until >= bindparam("b_now"))
                .values(held_until=bindparam("b_until")))
_KEEP_SESSION = (update(ct_sessions).where(_s.id == bindparam("b_session"))
                 .values(seen_at=bindparam("b_now"), held_until=bindparam("b_until")))
_KEEP_SESSION_PAGES = (update(ct_sessions).where(_s.id == bindparam("b_session"))
                       .values(seen_at=bindparam("b_now"), held_until=bindparam("b_until"), pages=bindparam("b_pages")))
_SESSION = select(_s.id, _s.number, _s.pages, _s.held_until, _s.outcome).where(
    _s.id == bindparam("b_session"), _s.site == bindparam("b_site"))


def _keep(conn: Connection, site: str, session_id: str, number: str, pages: list[str] | None, page: str | None,
          now: datetime, until: datetime) -> bool:
    """Hold the visit's number until `until`; False when it is no longer the visit's."""
    kept = conn.execute(_KEEP_NUMBER, {"b_site": site, "b_number": number, "b_session": session_id, "b_now": now,
                                       "b_until": until})
    if kept.rowcount != 1:
        return False
    grown = _pages(pages, page)
    if grown != (pages or []):
        conn.execute(_KEEP_SESSION_PAGES, {"b_session": session_id, "b_now": now, "b_until": until, "b_pages": grown})
    else:
        conn.execute(_KEEP_SESSION, {"b_session": session_id, "b_now": now, "b_until": until})
    return True


def give_number(conn: Connection, site: SiteSettings, visit: Visit, now: datetime) -> Given:
    """The visitor's number: the one they hold (kept for another `hold_minutes`), else a free one, else none."""
    until = kept_until(site, now)
    live = conn.execute(_LIVE, {"b_site": site.id, "b_visitor": visit.visitor, "b_now": now}).first()
    if live is not None and live.number is not None and \
            _keep(conn, site.id, live.id, live.number, live.pages, visit.page, now, until):
        return Given(live.id, live.number, until, "number")
    s = ct_sessions.c
    first = conn.execute(select(ct_sessions).where(s.id == live.id)).mappings().first() if live else None
    session_id = secrets.token_hex(16)
    number = _claim(conn, site.id, session_id, until, now)
    if number is None:
        count(conn, site.id, now, exhausted=1)
        if first is not None and first["number"] is None:
            conn.execute(update(ct_sessions).where(s.id == first["id"])
                         .values(seen_at=now, held_until=until, pages=_pages(first["pages"], visit.page)))
            return Given(first["id"], None, until, "exhausted")
    elif first is not None and first["number"] is None:  # it waited for a number and got one: that wait is over
        conn.execute(update(ct_sessions).where(s.id == first["id"]).values(held_until=now))
    conn.execute(ct_sessions.insert().values(
        id=session_id, site=site.id, visitor=visit.visitor, number=number,
        outcome="number" if number else "exhausted", started_at=now, seen_at=now, held_until=until,
        landing=(first["landing"] if first else None) or (visit.page[:2000] if visit.page else None),
        referrer=(first["referrer"] if first else None) or (visit.referrer[:2000] if visit.referrer else None),
        utm=(first["utm"] if first and first["utm"] else None) or visit.utm,
        click_ids=(first["click_ids"] if first and first["click_ids"] else None) or visit.click_ids,
        pages=_pages(first["pages"] if first else None, visit.page)))
    return Given(session_id, number, until, "number" if number else "exhausted")


def keep_alive(conn: Connection, site: SiteSettings, session_id: str, page: str | None,
               now: datetime) -> Given | None:
    """The heartbeat: the visit keeps its number another `hold_minutes`; None when the visit has lapsed."""
    row = conn.execute(_SESSION, {"b_session": session_id, "b_site": site.id}).first()
    if row is None or row.held_until < now or row.number is None:
        return None  # lapsed, or waiting for a number: the page asks again
    until = kept_until(site, now)
    if not _keep(conn, site.id, session_id, row.number, row.pages, page, now, until):
        return None
    return Given(session_id, row.number, until, row.outcome)


def count(conn: Connection, site: str, now: datetime, *, exhausted: int = 0, bots: int = 0) -> None:
    """Add to this hour's figures (rare events only: the pool was empty, a bot asked)."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    mod = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = mod.insert(ct_pool_hours).values(site=site, hour=hour, exhausted=exhausted, bots=bots)
    conn.execute(stmt.on_conflict_do_update(
        index_elements=["site", "hour"],
        set_={"exhausted": ct_pool_hours.c.exhausted + stmt.excluded.exhausted,
              "bots": ct_pool_hours.c.bots + stmt.excluded.bots}))


def prune(conn: Connection, before: datetime) -> int:
    """Delete visits (and hourly figures, and call verdicts) that ended before `before`; how many visits."""
    gone = conn.execute(delete(ct_sessions).where(ct_sessions.c.held_until < before)).rowcount
    conn.execute(delete(ct_pool_hours).where(ct_pool_hours.c.hour < before))
    conn.execute(delete(ct_matches).where(ct_matches.c.called_at < before))
    return int(gone or 0)
