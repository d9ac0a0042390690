"""Repository of the core CRM store, used by the pipeline inside one transaction."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, Connection, bindparam, func, insert, or_, select, text, update

from gateway.core.models import AttachmentRef, MessageRef
from gateway.core.repository import Ident
from gateway.store.bulk import write_rows
from gateway.store.companies import company_for, join_company
from gateway.store.dialect import insert_ignore, insert_ignore_once
from gateway.store.schema import (
    attachments,
    blocklist,
    contacts,
    deals,
    files,
    identities,
    leads,
    messages,
    pipelines,
    sources,
    stages,
    users,
)
from gateway.store.tasks import complete_callbacks

__all__ = ["CrmRepo", "LeadKeyTaken", "Lookups"]


class LeadKeyTaken(Exception):
    """A deferred lead's key, or a deferred contact's identity, was inserted by another worker meanwhile: redo
    the batch without deferring."""


# Statements are built once with bound parameters, so SQLAlchemy compiles each shape once.
_DIALECTS = ("sqlite", "postgresql")


def _one_of(column: Any, name: str, dialect: str) -> Any:
    """`column IN (the list bound as name)`; on PostgreSQL `IN (SELECT unnest(array))`: one statement whatever
    the list's length (an expanding IN is rendered again, a parameter per item, at each execution: a twelfth
    of a PostgreSQL worker's time with batches of 500), planned as a join. `= ANY(array)` compared each row
    with each item when the table was scanned (a prepared statement's array is not hashed): before the first
    ANALYZE of a new store, 67 ms for 500 phones among 6,000 identities."""
    if dialect == "postgresql":
        return column.in_(select(func.unnest(bindparam(name, type_=ARRAY(column.type)))).scalar_subquery())
    return column.in_(bindparam(name, expanding=True))


_CONTACTS_BY_VALUE = {d: (
    select(identities.c.kind, identities.c.value, contacts.c.id, contacts.c.merged_into,
           contacts.c.name.is_not(None), contacts.c.position.is_not(None))
    .join(contacts, identities.c.contact_id == contacts.c.id)
    .where(_one_of(identities.c.value, "values", d))
    .order_by(contacts.c.id)
) for d in _DIALECTS}
_BLOCKED_BY_VALUE = {d: select(blocklist.c.kind, blocklist.c.value).where(_one_of(blocklist.c.value, "values", d))
                     for d in _DIALECTS}
_ANY_BLOCKED = select(blocklist.c.id).limit(1)
_LEAD_BY_KEY = select(leads).where(leads.c.key == bindparam("k"))
_LEAD_BY_ID = select(leads).where(leads.c.id == bindparam("i"))
_LEADS_BY_KEYS = {d: select(leads).where(_one_of(leads.c.key, "keys", d)).order_by(leads.c.id) for d in _DIALECTS}
_LEADS_BY_KEYS["postgresql"] = _LEADS_BY_KEYS["postgresql"].with_for_update()  # the batch's leads are its own
_UPDATE_LEAD = update(leads).where(leads.c.id == bindparam("_lead_id"))
_INSERT_CONTACT = insert(contacts).returning(contacts.c.id)
_OPEN_DEAL = (select(deals.c.id).where(deals.c.contact_id == bindparam("c"), deals.c.status == "open")
              .order_by(deals.c.updated_at.desc(), deals.c.id.desc()).limit(1))
_OPEN_DEALS = {d: (select(deals.c.id, deals.c.contact_id)
                   .where(_one_of(deals.c.contact_id, "ids", d), deals.c.status == "open")
                   .order_by(deals.c.updated_at.desc(), deals.c.id.desc())) for d in _DIALECTS}
_MISSED_FROM = select(leads.c.id, leads.c.received_at).where(
    leads.c.needs_callback.is_(True), leads.c.phone == bindparam("phone"), leads.c.id != bindparam("exclude"))
_PG_CONTACT_WITH_IDENTITY = text(
    "WITH c AS (INSERT INTO contacts (name, created_at, updated_at) VALUES (:name, :now, :now) RETURNING id), "
    "i AS (INSERT INTO identities (contact_id, kind, value, created_at) SELECT id, :kind, :value, :now FROM c "
    "ON CONFLICT (value, kind) DO NOTHING RETURNING contact_id) "
    "SELECT (SELECT id FROM c), (SELECT contact_id FROM i)"
)
_PG_IDS = {table: text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) FROM generate_series(1, :n)")
           for table in ("leads", "contacts")}
# A batch's lead keys and identities, as advisory locks taken in one order before any row: two workers whose
# batches share a call or a person wait for each other instead of deadlocking (found after a second) or
# creating the same lead twice (and redoing the batch event by event).
_PG_LOCK_KEYS = text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k")
_CONTACT_IDS_BLOCK = 64  # contact ids taken at a time (most leads of a batch come from people already known)


class Lookups:
    """Small caches that live as long as one batch: pipelines, stages, sources, users."""

    def __init__(self) -> None:
        self.forget()

    def forget(self) -> None:
        """Empty every cache (after a rollback: what the transaction made is gone)."""
        self.stage: dict[tuple[str, str | None], tuple[int, int]] = {}
        self.source: dict[str, tuple[int, bool]] = {}
        self.user: dict[tuple[str, str], int | None] = {}
        self.company: dict[tuple[int, str | None, str | None], int | None] = {}
        self.any_blocked: bool | None = None


def lock_keys(lead_keys: Iterable[str], values: Iterable[str]) -> list[int]:
    """Advisory lock numbers for lead keys and identity values, sorted: the order every worker takes them in."""
    named = {f"lead:{k}" for k in lead_keys} | {f"identity:{v}" for v in values}
    return sorted({int.from_bytes(hashlib.blake2b(n.encode(), digest_size=8).digest(), "big", signed=True)
                   for n in named})


class CrmRepo:
    """With `defer_leads`, new contacts (with their identities) and new leads get their ids at once and are
    written together, a statement per table, when something reads or references them, or at `flush()`; a lead
    key or an identity another worker inserted meanwhile raises LeadKeyTaken there (the caller redoes the work
    without deferring)."""

    def __init__(self, conn: Connection, now: datetime, lookups: Lookups | None = None, *,
                 defer_leads: bool = False) -> None:
        self.conn = conn
        self.now = now
        self.cache = lookups or Lookups()
        self._defer = defer_leads
        self._pending: dict[str, dict[str, Any]] = {}  # deferred leads by key
        self._ids: list[int] = []  # lead ids taken for deferred leads, not used yet
        self._contact_ids: list[int] = []  # the same for contacts
        self._new_contacts: dict[int, dict[str, Any]] = {}  # deferred contacts by id
        self._new_identities: dict[tuple[int, str, str], dict[str, Any]] = {}  # their identities
        self._expected = 1  # how many leads the batch may create (ids are taken in one go)
        self._leads: dict[str, dict[str, Any] | None] = {}  # prefetched leads by key (None: no such lead)
        self._owners: dict[Ident, int] = {}  # identity -> contact, for prefetched and created identities
        self._looked_up: set[str] = set()  # identity values whose owners are all in _owners
        self._deals: dict[int, int | None] = {}  # prefetched open deal per contact
        self._has: dict[int, set[str]] = {}  # what a contact looked up or created has already: name, position

    def prefetch(self, keys: Sequence[str], values: Sequence[str]) -> None:
        """Load in two queries the leads and identities a batch will ask for (PostgreSQL: lock the leads)."""
        keys = list(dict.fromkeys(keys))
        self._expected = max(1, len(keys))
        if self.conn.dialect.name == "postgresql" and (keys or values):
            self.conn.execute(_PG_LOCK_KEYS, {"keys": lock_keys(keys, values)})
        if keys:
            self._leads = dict.fromkeys(keys)
            for row in self.conn.execute(_LEADS_BY_KEYS[self.conn.dialect.name], {"keys": keys}).mappings():
                self._leads[row["key"]] = dict(row)
        values = list(dict.fromkeys(values))
        if values:
            for kind, value, cid, merged, named, placed in self.conn.execute(_CONTACTS_BY_VALUE[self.conn.dialect.name],
                                                                             {"values": values}):
                self._owners.setdefault((kind, value), int(merged or cid))
                self._seen(cid, merged, named, placed)
            self._looked_up.update(values)
        contact_ids = sorted(set(self._owners.values()))
        if contact_ids:
            self._deals = dict.fromkeys(contact_ids)
            for deal_id, contact_id in self.conn.execute(_OPEN_DEALS[self.conn.dialect.name], {"ids": contact_ids}):
                if self._deals.get(contact_id) is None:
                    self._deals[contact_id] = int(deal_id)

    # --- pipelines, stages, sources, users ---------------------------------------------
    def stage_ids(self, pipeline: str, stage: str | None) -> tuple[int, int]:
        """(pipeline id, stage id); stage None means the pipeline's Unsorted stage."""
        key = (pipeline, stage)
        if key not in self.cache.stage:
            q = select(pipelines.c.id, stages.c.id).join(stages, stages.c.pipeline_id == pipelines.c.id) \
                .where(pipelines.c.name == pipeline)
            q = q.where(stages.c.name == stage) if stage else q.where(stages.c.kind == "unsorted")
            row = self.conn.execute(q).first()
            if row is None:
                raise LookupError(f"no stage {stage!r} in pipeline {pipeline!r}")
            self.cache.stage[key] = (int(row[0]), int(row[1]))
        return self.cache.stage[key]

    def source(self, name: str, channel: str | None) -> tuple[int, bool]:
        """(id, advertising) of a source, created on first sight (advertising by default)."""
        if name not in self.cache.source:
            q = select(sources.c.id, sources.c.advertising).where(sources.c.name == name[:255])
            row = self.conn.execute(q).first()
            if row is None:
                new = insert_ignore(self.conn, sources, ["name"]).values(
                    name=name[:255], advertising=True, channel=channel, created_at=self.now)
                if self.conn.dialect.name == "postgresql":
                    # committed at once on a connection of its own: a batch holding a new source's row lock while
                    # another batch made the sources in the other order was a deadlock (1 s to be detected)
                    with self.conn.engine.begin() as own:
                        own.execute(new)
                else:  # SQLite: this transaction is the only writer
                    self.conn.execute(new)
                row = self.conn.execute(q).one()
            self.cache.source[name] = (int(row[0]), bool(row[1]))
        return self.cache.source[name]

    def user_id(self, *, name: str | None = None, extension: str | None = None) -> int | None:
        key = ("name", name) if name else ("ext", extension or "")
        if key not in self.cache.user:
            col = users.c.name if name else users.c.extension
            value = name or extension
            self.cache.user[key] = None if not value else self.conn.execute(
                select(users.c.id).where(col == value).order_by(users.c.disabled, users.c.id).limit(1)
            ).scalar()
        return self.cache.user[key]

    # --- contacts and identities --------------------------------------------------------
    def find_contacts(self, idents: Sequence[Ident]) -> list[int]:
        """Contacts owning any of the identities, oldest first, merged contacts resolved."""
        if not idents:
            return []
        if all(v in self._looked_up for _, v in idents):
            return sorted({self._owners[i] for i in idents if i in self._owners})
        self._flush_contacts()
        wanted = set(idents)
        out: list[int] = []
        for kind, value, cid, merged, named, placed in self.conn.execute(
                _CONTACTS_BY_VALUE[self.conn.dialect.name], {"values": [v for _, v in idents]}):
            self._seen(cid, merged, named, placed)
            target = int(merged or cid)
            if (kind, value) in wanted and target not in out:
                out.append(target)
        return out

    def create_contact(self, name: str | None, idents: Sequence[Ident]) -> tuple[int, bool]:
        """Create a contact owning `idents`; if another worker got there first, return theirs (id, created)."""
        if self._defer:
            cid = self._take_id("contacts", self._contact_ids, min(self._expected, _CONTACT_IDS_BLOCK))
            self._new_contacts[cid] = {"id": cid, "name": name, "position": None, "created_at": self.now,
                                       "updated_at": self.now}
            self._owners[idents[0]] = cid
            self._has[cid] = {"name"} if name else set()
            self._deals[cid] = None
            self.add_identities(cid, idents)
            return cid, True
        first_kind, first_value = idents[0]
        if self.conn.dialect.name == "postgresql":  # one round trip for both rows
            cid, owner = self.conn.execute(_PG_CONTACT_WITH_IDENTITY, {
                "name": name, "now": self.now, "kind": first_kind, "value": first_value}).one()
            won = owner is not None
        else:
            cid = int(self.conn.execute(
                _INSERT_CONTACT, {"name": name, "created_at": self.now, "updated_at": self.now}).scalar_one())
            stmt = insert_ignore_once(self.conn, identities, ["kind", "value"], identities.c.id)
            won = self.conn.execute(stmt, {"contact_id": cid, "kind": first_kind, "value": first_value,
                                           "created_at": self.now}).first() is not None
        if not won:
            self.conn.execute(contacts.delete().where(contacts.c.id == cid))
            self._looked_up.discard(first_value)
            existing = self.find_contacts([idents[0]])
            self._owners[idents[0]] = existing[0]
            return existing[0], False
        self._owners[idents[0]] = cid
        self._has[cid] = {"name"} if name else set()
        self.add_identities(cid, idents[1:])
        return cid, True

    def add_identities(self, contact_id: int, idents: Iterable[Ident]) -> None:
        new = [i for i in idents if i not in self._owners or (contact_id in self._new_contacts
                                                               and self._owners[i] == contact_id)]
        if new and contact_id in self._new_contacts:
            for kind, value in new:
                self._new_identities.setdefault((contact_id, kind, value), {
                    "contact_id": contact_id, "kind": kind, "value": value, "created_at": self.now})
                self._owners[(kind, value)] = contact_id
        elif new:
            rows = [{"contact_id": contact_id, "kind": k, "value": v, "created_at": self.now} for k, v in new]
            self.conn.execute(insert_ignore_once(self.conn, identities, ["kind", "value"]), rows)
            for ident in new:
                self._owners[ident] = contact_id

    def _seen(self, contact_id: int, merged: int | None, named: Any, placed: Any) -> None:
        if merged is None:
            self._has[contact_id] = {f for f, has in (("name", named), ("position", placed)) if has}

    def fill_contact(self, contact_id: int, *, name: str | None, position: str | None) -> None:
        """Enrich a contact: a name or a position it lacks is taken from the lead (what it has is kept)."""
        given = {"name": (name or "")[:512], "position": (position or "")[:255]}
        has = self._has.setdefault(contact_id, set())
        wanted = [column for column, value in given.items() if value and column not in has]
        has.update(wanted)
        if wanted and contact_id in self._new_contacts:
            self._new_contacts[contact_id].update({c: given[c] for c in wanted})
        elif wanted:
            self.conn.execute(update(contacts).where(
                contacts.c.id == contact_id, or_(*(contacts.c[c].is_(None) for c in wanted)),
            ).values(updated_at=self.now, **{c: func.coalesce(contacts.c[c], given[c]) for c in wanted}))

    def company_of(self, contact_id: int, name: str | None, inn: str | None) -> int | None:
        """The contact's company: the one it belongs to, or the one these name and INN find or create."""
        key = (contact_id, name, inn)
        if key not in self.cache.company:
            self._flush_contacts()
            found = self.conn.execute(select(contacts.c.company_id).where(contacts.c.id == contact_id)).scalar()
            if found is None and (name or inn):
                found = company_for(self.conn, name, inn, self.now)
                if found is not None:
                    join_company(self.conn, contact_id, found)
            self.cache.company[key] = found
        return self.cache.company[key]

    def is_blocked(self, idents: Sequence[Ident]) -> bool:
        if not idents:
            return False
        if self.cache.any_blocked is None:
            self.cache.any_blocked = self.conn.execute(_ANY_BLOCKED).first() is not None
        if not self.cache.any_blocked:
            return False
        rows = self.conn.execute(_BLOCKED_BY_VALUE[self.conn.dialect.name], {"values": [v for _, v in idents]}).all()
        return bool({(k, v) for k, v in rows} & set(idents))

    def open_deal(self, contact_id: int) -> int | None:
        if contact_id in self._deals:
            return self._deals[contact_id]
        return self.conn.execute(_OPEN_DEAL, {"c": contact_id}).scalar()

    def create_deal(self, *, name: str, contact_id: int | None, pipeline_id: int, stage_id: int,
                    responsible_id: int | None, budget: float | None, company_id: int | None = None) -> int:
        self._flush_contacts()
        deal_id = int(self.conn.execute(insert(deals).values(
            name=name[:512], contact_id=contact_id, pipeline_id=pipeline_id, stage_id=stage_id,
            responsible_id=responsible_id, budget=budget, status="open", tags=[], company_id=company_id, version=1,
            created_at=self.now, updated_at=self.now,
        ).returning(deals.c.id)).scalar_one())
        if contact_id is not None:
            self._deals[contact_id] = deal_id
        return deal_id

    # --- leads ----------------------------------------------------------------------------
    def lead_by_key(self, key: str, *, lock: bool = False) -> dict[str, Any] | None:
        if key in self._pending:
            self.flush()
        if key in self._leads:
            cached = self._leads[key]
            return dict(cached) if cached is not None else None
        q = _LEAD_BY_KEY.with_for_update() if lock and self.conn.dialect.name == "postgresql" else _LEAD_BY_KEY
        row = self.conn.execute(q, {"k": key}).mappings().first()
        return dict(row) if row else None

    def lead_by_id(self, lead_id: int) -> dict[str, Any] | None:
        self.flush()
        row = self.conn.execute(_LEAD_BY_ID, {"i": lead_id}).mappings().first()
        return dict(row) if row else None

    def insert_lead(self, values: dict[str, Any]) -> int | None:
        """Insert a lead; None when a lead with the same key appeared meanwhile."""
        stmt = insert_ignore_once(self.conn, leads, ["key"], leads.c.id)
        self._leads.pop(values["key"], None)
        if self._defer:
            lead_id = self._take_id("leads", self._ids, self._expected)
            self._pending[values["key"]] = {**values, "id": lead_id, "created_at": self.now, "updated_at": self.now}
            return lead_id
        row = self.conn.execute(stmt, {**values, "created_at": self.now, "updated_at": self.now}).first()
        return None if row is None else int(row[0])

    def _take_id(self, table: str, free: list[int], n: int) -> int:
        """An id for a deferred row of `table` from `free`, which is refilled with `n` ids when empty."""
        if not free:
            if self.conn.dialect.name == "postgresql":  # the sequence gives n ids in one round trip
                free.extend(int(i) for i in self.conn.execute(_PG_IDS[table], {"n": n}).scalars())
            else:  # SQLite has one writer at a time (BEGIN IMMEDIATE): the ids after the largest are free
                column = leads.c.id if table == "leads" else contacts.c.id
                pending = self._pending.values() if table == "leads" else self._new_contacts.values()
                top = max([int(self.conn.execute(select(func.max(column))).scalar() or 0),
                           *(row["id"] for row in pending)])
                free.extend(range(top + 1, top + 1 + n))
            free.reverse()
        return free.pop()

    def _flush_contacts(self) -> None:
        """Write the deferred contacts and their identities; LeadKeyTaken when another worker owns an identity."""
        if not self._new_contacts:
            return
        rows, self._new_contacts = list(self._new_contacts.values()), {}
        idents, self._new_identities = list(self._new_identities.values()), {}
        write_rows(self.conn, contacts, rows)
        written = write_rows(self.conn, identities, idents, ["value", "kind"])
        if written != len(idents):
            raise LeadKeyTaken(f"{len(idents) - written} of {len(idents)} new identities were taken by another "
                               "worker")

    def flush(self) -> None:
        """Write the deferred contacts, then the deferred leads, a statement per table (gateway.store.bulk)."""
        self._flush_contacts()
        if not self._pending:
            return
        rows, self._pending = list(self._pending.values()), {}
        written = write_rows(self.conn, leads, rows, ["key"])
        if written != len(rows):
            raise LeadKeyTaken(f"{len(rows) - written} of {len(rows)} new leads were created by another worker")

    def update_lead(self, lead_id: int, values: dict[str, Any]) -> None:
        self.flush()
        if values:
            self._leads = {k: v for k, v in self._leads.items() if v is None or v["id"] != lead_id}
            self.conn.execute(_UPDATE_LEAD, {**values, "updated_at": self.now, "_lead_id": lead_id})

    def open_conversation(self, conversation_key: str) -> dict[str, Any] | None:
        self.flush()
        row = self.conn.execute(
            select(leads).where(leads.c.conversation_key == conversation_key, leads.c.closed.is_(False))
            .order_by(leads.c.id.desc()).limit(1)
        ).mappings().first()
        return dict(row) if row else None

    def lead_for_messages(self, keys: Sequence[str]) -> int | None:
        self.flush()
        if not keys:
            return None
        return self.conn.execute(
            select(messages.c.lead_id).where(messages.c.key.in_(list(keys)), messages.c.lead_id.is_not(None))
            .order_by(messages.c.id.desc()).limit(1)
        ).scalar()

    def recent_lead(self, *, contact_id: int, channel: str, account: str | None, since: datetime,
                    exclude_key: str) -> int | None:
        """The same person's lead from the same channel and account within a window (duplicate sends)."""
        self.flush()
        return self.conn.execute(
            select(leads.c.id).where(
                leads.c.contact_id == contact_id, leads.c.channel == channel, leads.c.account == account,
                leads.c.received_at >= since, leads.c.key != exclude_key,
            ).order_by(leads.c.id).limit(1)
        ).scalar()

    def close_callbacks(self, phone: str, at: datetime, exclude_lead: int) -> int:
        """Close the open missed calls from `phone` that happened before `at`; records time to callback."""
        self.flush()
        rows = self.conn.execute(_MISSED_FROM, {"phone": phone, "exclude": exclude_lead}).all()
        closed = []
        for lead_id, received in rows:
            if received > at:
                continue
            self.update_lead(lead_id, {
                "needs_callback": False, "callback_at": at,
                "time_to_callback_s": int((at - received).total_seconds()),
            })
            closed.append(int(lead_id))
        complete_callbacks(self.conn, closed, at)  # the "Перезвонить" tasks of those calls are done
        return len(closed)

    # --- conversation and files -------------------------------------------------------------
    def upsert_message(self, msg: MessageRef, *, lead_id: int | None, contact_id: int | None) -> int:
        self.flush()
        existing = self.conn.execute(select(messages.c.id, messages.c.lead_id).where(messages.c.key == msg.key)).first()
        values: dict[str, Any] = {
            "direction": msg.direction.value, "at": msg.at, "author": msg.author, "subject": msg.subject,
            "text": msg.text, "html": msg.html, "quoted": msg.quoted, "edited": msg.edited,
            "deleted": msg.deleted, "data": msg.data,
        }
        if existing is None:
            return int(self.conn.execute(insert(messages).values(
                key=msg.key, lead_id=lead_id, contact_id=contact_id, created_at=self.now, **values,
            ).returning(messages.c.id)).scalar_one())
        values = {k: v for k, v in values.items() if v is not None and v != {}}
        if existing.lead_id is None and lead_id is not None:
            values["lead_id"] = lead_id
        self.conn.execute(update(messages).where(messages.c.id == existing.id).values(**values))
        return int(existing.id)

    def link_attachments(self, refs: Sequence[AttachmentRef], *, lead_id: int | None,
                         message_id: int | None) -> None:
        if refs:
            self.flush()
        for ref in refs:
            if ref.file_id:
                self.conn.execute(insert_ignore(self.conn, files, ["id"]).values(
                    id=ref.file_id, size=ref.size, content_type=ref.content_type, created_at=self.now))
            exists = self.conn.execute(select(attachments.c.id).where(
                attachments.c.lead_id == lead_id, attachments.c.name == ref.name[:255], attachments.c.role == ref.role,
                attachments.c.file_id.is_(None) if ref.file_id is None else attachments.c.file_id == ref.file_id,
            ).limit(1)).first()
            if exists:
                continue
            self.conn.execute(insert(attachments).values(
                lead_id=lead_id, message_id=message_id, file_id=ref.file_id, name=ref.name[:255], size=ref.size,
                content_type=ref.content_type, role=ref.role, inline=ref.inline, omitted=ref.omitted,
                reason=ref.reason, created_at=self.now,
            ))

    def attachment_count(self, lead_id: int) -> int:
        self.flush()
        return len(self.conn.execute(select(attachments.c.id).where(
            attachments.c.lead_id == lead_id, attachments.c.role == "attachment")).all())
