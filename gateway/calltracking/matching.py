"""A call to a pool number becomes the visit's call; a form sent from a tracked visit joins its visitor.

A call is matched to the visit that held the dialled number when the call began. With exactly one such visit
(and no other visit that let the number go less than `ambiguous_seconds` before the call), the lead gets that
visit's UTM tags, pages, referrer, click ids and visitor, and its source by the site's source rules. Otherwise
the line's source stays and the lead says why. The first verdict on a call is stored and kept: the later events
of the same call (and replays) give the same answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, RowMapping, select
from sqlalchemy.dialects import postgresql, sqlite

from gateway.config.calltracking import CallTrackingSettings, SiteSettings
from gateway.config.forms import source_by_rules
from gateway.core.models import Channel, Direction, Interaction, Kind
from gateway.store.schema import ct_matches, ct_sessions

__all__ = ["Verdict", "choose_source", "decide", "decide_only", "enrich", "interaction_hook"]

CANDIDATES = 10
PBX_SECONDS = timedelta(seconds=1)  # the PBX stamps a call in whole seconds: a visit of the same second counts
_VISITOR = frozenset("0123456789abcdefABCDEFghijklmnopqrstuvwxyzGHIJKLMNOPQRSTUVWXYZ_-")


@dataclass(frozen=True, slots=True)
class Verdict:
    verdict: str  # matched | no_session | ambiguous | form
    session_id: str | None
    visitor: str | None
    reason: str | None


def choose_source(utm: Mapping[str, str], site: SiteSettings) -> str | None:
    """The first matching rule's source, else the site's `source` (None: keep the line's)."""
    return source_by_rules(site.source_rules, utm) or site.source


def _insert(conn: Connection) -> Any:
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(ct_matches)


def _judge(conn: Connection, site: SiteSettings, number: str, at: datetime, margin: timedelta) -> Verdict:
    s = ct_sessions.c
    rows = conn.execute(select(s.id, s.visitor, s.held_until).where(
        s.site == site.id, s.number == number, s.started_at < at + PBX_SECONDS).order_by(s.started_at.desc())
        .limit(CANDIDATES)).all()
    # holdings of one number follow each other: stop at the first that ended before the window
    near = []
    for row in rows:
        if row.held_until < at - margin:
            break
        near.append(row)
    if not near:
        return Verdict("no_session", None, None,
                       "в момент звонка этот номер не был выдан ни одному посетителю сайта")
    if len(near) > 1:
        return Verdict("ambiguous", None, None,
                       f"незадолго до звонка номер показывали {len(near)} посетителям: кому он принадлежал, неясно")
    return Verdict("matched", near[0].id, near[0].visitor, None)


def decide_only(conn: Connection, site: SiteSettings, number: str, called_at: datetime,
                margin: timedelta) -> Verdict:
    """The verdict the visits on file give now (nothing stored: the benchmark's measure of the query)."""
    return _judge(conn, site, number, called_at, margin)


def decide(conn: Connection, key: str, site: SiteSettings, number: str, called_at: datetime, margin: timedelta,
           now: datetime) -> Verdict:
    """The call's verdict: the stored one if the call was judged before, else judged now and stored."""
    m = ct_matches.c
    known = conn.execute(select(m.verdict, m.session_id, m.visitor, m.reason)
                         .where(m.interaction_key == key)).first()
    if known is None:
        verdict = _judge(conn, site, number, called_at, margin)
        conn.execute(_insert(conn).values(
            interaction_key=key, site=site.id, number=number, called_at=called_at, verdict=verdict.verdict,
            session_id=verdict.session_id, visitor=verdict.visitor, reason=verdict.reason, decided_at=now,
        ).on_conflict_do_nothing())
        known = conn.execute(select(m.verdict, m.session_id, m.visitor, m.reason)
                             .where(m.interaction_key == key)).first()
    assert known is not None
    return Verdict(known.verdict, known.session_id, known.visitor, known.reason)


def _visit(conn: Connection, session_id: str) -> RowMapping | None:
    return conn.execute(select(ct_sessions).where(ct_sessions.c.id == session_id)).mappings().first()


def _visit_fields(visit: RowMapping) -> dict[str, Any]:
    pages = list(visit["pages"] or [])
    return {"visitor": visit["visitor"], "page": pages[-1] if pages else visit["landing"],
            "landing": visit["landing"], "referrer": visit["referrer"], "click_ids": dict(visit["click_ids"] or {}),
            "pages": pages}


def _call(conn: Connection, ct: CallTrackingSettings, ix: Interaction, now: datetime) -> Interaction:
    assert ix.call is not None and ix.call.line is not None
    site = ct.site_of_number(ix.call.line)
    if site is None:
        return ix
    number = "".join(ch for ch in ix.call.line if ch.isdigit())
    verdict = decide(conn, ix.key, site, number, ix.occurred_at, timedelta(seconds=ct.ambiguous_seconds), now)
    tracking: dict[str, Any] = {"site": site.id, "number": number, "verdict": verdict.verdict}
    visit = _visit(conn, verdict.session_id) if verdict.session_id else None
    if verdict.verdict != "matched" or visit is None:
        tracking["reason"] = verdict.reason or "визит удалён по сроку хранения"
        return ix.model_copy(update={"custom": {**ix.custom, "calltracking": tracking}})
    utm = {k: str(v) for k, v in dict(visit["utm"] or {}).items()}
    tracking["session"] = visit["id"]
    source = choose_source(utm, site) or ix.source
    return ix.model_copy(update={"utm": utm, "source": source, "source_advertising": None,
                                 "custom": {**ix.custom, **_visit_fields(visit), "calltracking": tracking}})


def _form(conn: Connection, ix: Interaction, visitor: str, now: datetime) -> Interaction:
    s = ct_sessions.c
    visit = conn.execute(select(ct_sessions).where(s.visitor == visitor, s.started_at <= ix.occurred_at)
                         .order_by(s.started_at.desc()).limit(1)).mappings().first()
    if visit is None:
        return ix.model_copy(update={"custom": {**ix.custom, "visitor": visitor}})
    conn.execute(_insert(conn).values(
        interaction_key=ix.key, site=visit["site"], number=visit["number"], called_at=ix.occurred_at,
        verdict="form", session_id=visit["id"], visitor=visitor, reason=None, decided_at=now,
    ).on_conflict_do_nothing())
    fields = _visit_fields(visit)
    fields["page"] = ix.custom.get("page") or fields["page"]
    fields["referrer"] = ix.custom.get("referrer") or fields["referrer"]
    utm = ix.utm or {k: str(v) for k, v in dict(visit["utm"] or {}).items()}
    return ix.model_copy(update={"utm": utm, "custom": {**ix.custom, **fields,
                                                        "calltracking": {"site": visit["site"], "verdict": "form",
                                                                         "session": visit["id"]}}})


def enrich(conn: Connection, ct: CallTrackingSettings, ix: Interaction, now: datetime) -> Interaction:
    """The interaction with its visit attached (a call to a pool number, a form from a tracked page)."""
    if ix.channel is Channel.MANGO and ix.kind is Kind.CALL and ix.direction is Direction.IN \
            and ix.call is not None and ix.call.line:
        return _call(conn, ct, ix, now)
    visitor = ix.custom.get("ct_visitor")
    if ix.kind is Kind.FORM and isinstance(visitor, str) and 16 <= len(visitor) <= 64 and set(visitor) <= _VISITOR:
        return _form(conn, ix, visitor, now)
    return ix


def interaction_hook(ct: CallTrackingSettings,
                     clock: Callable[[], datetime] = lambda: datetime.now(UTC)
                     ) -> Callable[[Connection, Interaction], Interaction]:
    def hook(conn: Connection, ix: Interaction) -> Interaction:
        return enrich(conn, ct, ix, clock())

    return hook
