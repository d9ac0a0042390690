"""The journal's filters as SQL terms.

A term that looks at two places (the lead's own manager or its deal's responsible; the lead's own
stage or its deal's) is a list of disjoint alternatives. The page query runs each alternative as
its own ordered, limited branch and merges them (UNION ALL): every branch can then walk an index in
order, where one OR across tables would make both databases collect and sort every match.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any

from sqlalchemy import Connection, Select, String, and_, cast, not_, or_, select

from gateway.core.normalise import normalise_email, normalise_phone
from gateway.store.journal_filters import JournalFilters
from gateway.store.journal_search import has_search_index, search_terms
from gateway.store.schema import deals, leads, pipelines, sources, stages, users

__all__ = ["PROBE", "Probed", "Terms", "json_list_has", "period_bound", "plain", "terms"]


PROBE = 2000  # SQLite: a term matching fewer rows goes through its index; more, and the page walks the sort's index


@dataclass(frozen=True, slots=True)
class Probed:
    """A condition with an index of its own: used when its branch matches few rows, else checked in order."""

    indexed: Any
    scan: Any
    sample: Select[Any] | None = None  # rows `indexed` matches, when counting them another way is faster


def _in(col: Any, values: Any) -> Probed:
    return Probed(col.in_(values), (col + 0).in_(values))


def _none(col: Any) -> Probed:
    """`col IS NULL`: most leads have no deal or no manager, so a walk in order usually beats the index."""
    return Probed(col.is_(None), (col + 0).is_(None))


def plain(cond: Any) -> Any:
    """The condition as one expression (through the index); a list is a conjunction."""
    if isinstance(cond, list):
        return and_(*(plain(c) for c in cond))
    return cond.indexed if isinstance(cond, Probed) else cond


@dataclass(slots=True)
class Terms:
    """Conditions all rows meet, and at most a few lists of disjoint alternatives."""

    common: list[Any] = field(default_factory=list)
    either: list[list[Any]] = field(default_factory=list)

    def combined(self) -> list[Any]:
        return [*(plain(c) for c in self.common), *(or_(*(plain(a) for a in alts)) for alts in self.either)]

    def branches(self) -> list[list[Any]]:
        """One condition list per alternative of the first split term (the rest stay as ORs)."""
        if not self.either:
            return [self.common]
        first, *others = self.either
        rest = [or_(*(plain(a) for a in alts)) for alts in others]
        return [[*self.common, *rest, *(alt if isinstance(alt, list) else [alt])] for alt in first]


def period_bound(value: date | datetime, tz: tzinfo, end: bool) -> datetime:
    """A period bound in UTC: dates are whole days in the company's time zone, `to` inclusive."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=tz)).astimezone(UTC)
    day = value + timedelta(days=1) if end else value
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def _ids(conn: Connection, q: Select[Any]) -> list[int]:
    """A small lookup (users, sources, stages) resolved first: planners estimate literal values far better."""
    return sorted(conn.execute(q).scalars())


def _people(f: JournalFilters) -> Select[Any]:
    """The users a manager/department filter names (the dismissed ones only on request)."""
    q = select(users.c.id)
    if f.manager:
        q = q.where(users.c.name.in_(f.manager))
    if f.department:
        q = q.where(users.c.department.in_(f.department))
    if not f.include_dismissed:
        q = q.where(users.c.disabled.is_(False))
    return q


def _shown_manager_in(people: list[int], mode: str) -> list[Any]:
    """The manager the journal shows is one of `people` (taken: who took it, else the deal's responsible)."""
    responsible_deals = select(deals.c.id).where(deals.c.responsible_id.in_(people))
    if mode == "taken":
        return [_in(leads.c.manager_id, people),
                [_none(leads.c.manager_id), _in(leads.c.deal_id, responsible_deals)]]
    ownerless_deals = select(deals.c.id).where(deals.c.responsible_id.is_(None))
    return [_in(leads.c.deal_id, responsible_deals),
            [_none(leads.c.deal_id), _in(leads.c.manager_id, people)],
            [leads.c.deal_id.in_(ownerless_deals), _in(leads.c.manager_id, people)]]


def _in_stages(f: JournalFilters, conn: Connection) -> list[Any]:
    """The stage the journal shows (the deal's, else the lead's own) is among the named ones."""
    q = select(stages.c.id)
    if f.pipeline:
        q = q.where(stages.c.pipeline_id.in_(select(pipelines.c.id).where(pipelines.c.name.in_(f.pipeline))))
    if f.stage:
        q = q.where(stages.c.name.in_(f.stage))
    chosen = _ids(conn, q)
    return [[_none(leads.c.deal_id), _in(leads.c.stage_id, chosen)],
            _in(leads.c.deal_id, select(deals.c.id).where(deals.c.stage_id.in_(chosen)))]


def json_list_has(col: Any, value: str) -> Any:
    """A JSON list column holds `value` (matched on its serialised form, on both databases)."""
    needle = json.dumps(value).replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return cast(col, String).like(f"%{needle}%", escape="!")


def _tagged(tags: list[str]) -> list[Any]:
    own = or_(*(json_list_has(leads.c.tags, t) for t in tags))
    tagged_deals = select(deals.c.id).where(or_(*(json_list_has(deals.c.tags, t) for t in tags)))
    return [own, and_(not_(own), leads.c.deal_id.in_(tagged_deals))]


def _visible_to(user_id: int) -> list[Any]:
    """An operator's scope as disjoint alternatives: Unsorted, else leads they took or handle."""
    decided = leads.c.status != "unsorted"
    return [leads.c.status == "unsorted", [decided, _in(leads.c.manager_id, [user_id])],
            [decided, leads.c.taken_by == user_id, or_(leads.c.manager_id.is_(None), leads.c.manager_id != user_id)]]


def _text_search(q: str, dialect: str, search_index: bool) -> Any:
    """Free text: a whole phone number or e-mail by equality (indexed); otherwise a substring anywhere."""
    q = q.strip()
    if not q:
        return None
    phone = normalise_phone(q) if sum(ch.isdigit() for ch in q) >= 10 and "@" not in q else None
    if phone:
        return leads.c.phone == phone
    email = normalise_email(q) if "@" in q else None
    if email and "." in email.rsplit("@", 1)[-1]:
        return leads.c.email == email
    indexed, scan, sample = search_terms(q, dialect, search_index, leads)
    if indexed is scan:
        return indexed
    return Probed(indexed, scan, sample)


def _plain(f: JournalFilters, conn: Connection, search_index: bool) -> list[Any]:
    conds: list[Any] = []
    period = leads.c.received_at if f.by == "received" else leads.c.taken_at
    if f.from_ is not None:
        conds.append(period >= period_bound(f.from_, f.tz, end=False))
    if f.to is not None:
        conds.append(period < period_bound(f.to, f.tz, end=True))
        if f.by == "taken":  # a lead is taken after it arrives: this bound lets the journal's index skip ahead
            conds.append(leads.c.received_at < period_bound(f.to, f.tz, end=True))
    for col, values in ((leads.c.channel, f.channel), (leads.c.kind, f.kind), (leads.c.status, f.status),
                        (leads.c.direction, f.direction)):
        if values:
            conds.append(col.in_(values))
    if f.quality:  # "unsorted" among the qualities means the leads still waiting in Unsorted
        plain = [v for v in f.quality if v != "unsorted"]
        conds.append(or_(leads.c.quality.in_(plain), leads.c.status == "unsorted") if "unsorted" in f.quality
                     else leads.c.quality.in_(plain))
    if f.source:
        conds.append(_in(leads.c.source_id, _ids(conn, select(sources.c.id).where(sources.c.name.in_(f.source)))))
    if f.source_group:
        group = select(sources.c.id).where(sources.c.group_name.in_(f.source_group))
        conds.append(_in(leads.c.source_id, _ids(conn, group)))
    if f.advertising is not None:
        conds.append(leads.c.advertising.is_(f.advertising))
    if f.needs_callback is not None:
        conds.append(leads.c.needs_callback.is_(f.needs_callback))
    if f.contact_id is not None:
        conds.append(leads.c.contact_id == f.contact_id)
    if f.q and (text_cond := _text_search(f.q, conn.dialect.name, search_index)) is not None:
        conds.append(text_cond)
    return conds


def terms(f: JournalFilters, conn: Connection) -> Terms:
    """Every condition of the filter; the two-place ones as disjoint alternatives."""
    t = Terms(common=_plain(f, conn, bool(f.q) and has_search_index(conn)))
    if f.visible_to is not None:
        t.either.append(_visible_to(f.visible_to))
    if f.manager or f.department:
        t.either.append(_shown_manager_in(_ids(conn, _people(f)), f.manager_mode))
    if f.pipeline or f.stage:
        t.either.append(_in_stages(f, conn))
    if f.tag:
        t.either.append(_tagged(f.tag))
    return t
