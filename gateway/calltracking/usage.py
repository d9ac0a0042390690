"""How a site's pool is used: numbers held now, the hours it ran out, the size that would have served everyone."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from gateway.config.calltracking import SiteSettings
from gateway.store.schema import ct_matches, ct_numbers, ct_pool_hours, ct_sessions, leads

__all__ = ["peak_visits", "pool_usage", "visitor_path"]


def peak_visits(intervals: list[tuple[datetime, datetime]]) -> int:
    """The most visits that wanted a number at one moment (a visit ends when its hold does)."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals],
                   key=lambda e: (e[0], e[1]))  # at the same moment, one ends before another starts
    peak = current = 0
    for _, step in edges:
        current += step
        peak = max(peak, current)
    return peak


def pool_usage(conn: Connection, site: SiteSettings, now: datetime, days: int = 7) -> dict[str, Any]:
    since = now - timedelta(days=days)
    n, s, h = ct_numbers.c, ct_sessions.c, ct_pool_hours.c
    numbers = conn.execute(select(n.number, n.held_until).where(n.site == site.id).order_by(n.number)).all()
    held = {num: until for num, until in numbers if until is not None and until >= now}
    hours = conn.execute(select(h.hour, h.exhausted, h.bots).where(h.site == site.id, h.hour >= since)
                         .order_by(h.hour)).all()
    # visits that wanted a number (given one, or shown the default because none was free); bots never ask
    intervals = [(r.started_at, r.held_until) for r in conn.execute(
        select(s.started_at, s.held_until).where(s.site == site.id, s.held_until >= since))]
    peak = peak_visits(intervals)
    return {
        "site": site.id,
        "pool_size": len(site.pool),
        "in_use": len(held),
        "numbers": [{"number": num, "held_until": held[num].isoformat() if num in held else None}
                    for num, _ in numbers],
        "exhausted_per_hour": [{"hour": r.hour.isoformat(), "exhausted": r.exhausted, "bots": r.bots}
                               for r in hours if r.exhausted or r.bots],
        "exhausted_total": sum(r.exhausted for r in hours),
        "days": days,
        "peak_visits": peak,
        "would_have_sufficed": max(peak, 1),
    }


def visitor_path(conn: Connection, visitor: str) -> list[dict[str, Any]]:
    """What one visitor did, oldest first: the pages of each visit, and the calls and forms tied to them."""
    s, m = ct_sessions.c, ct_matches.c
    visits = [{"at": r.started_at, "pages": list(r.pages or []), "number": r.number} for r in conn.execute(
        select(s.started_at, s.pages, s.number).where(s.visitor == visitor).order_by(s.started_at).limit(50))]
    tied = conn.execute(select(leads.c.id, leads.c.kind, m.called_at)
                        .join(leads, leads.c.key == m.interaction_key)
                        .where(m.visitor == visitor).order_by(m.called_at).limit(50)).all()
    return sorted([*({"at": v["at"], "visit": v} for v in visits),
                   *({"at": r.called_at, "lead": {"id": r.id, "kind": r.kind}} for r in tied)],
                  key=lambda e: e["at"])
