"""Repository of the core CRM store, used by the pipeline inside one transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update

from gateway.core.models import AttachmentRef, MessageRef
from gateway.store.dialect import insert_ignore
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

__all__ = ["CrmRepo", "Lookups"]

Ident = tuple[str, str]  # (kind, normalised value)


class Lookups:
    """Small caches that live as long as one batch: pipelines, stages, sources, users."""

    def __init__(self) -> None:
        self.stage: dict[tuple[str, str | None], tuple[int, int]] = {}
        self.source: dict[str, tuple[int, bool]] = {}
        self.user: dict[tuple[str, str], int | None] = {}


class CrmRepo:
    def __init__(self, conn: Connection, now: datetime, lookups: Lookups | None = None) -> None:
        self.conn = conn
        self.now = now
        self.cache = lookups or Lookups()

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

    def first_working_stage(self, pipeline_id: int) -> int:
        return int(self.conn.execute(
            select(stages.c.id).where(stages.c.pipeline_id == pipeline_id, stages.c.kind == "working")
            .order_by(stages.c.position).limit(1)
        ).scalar_one())

    def source(self, name: str, channel: str | None) -> tuple[int, bool]:
        """(id, advertising) of a source, created on first sight (advertising by default)."""
        if name not in self.cache.source:
            q = select(sources.c.id, sources.c.advertising).where(sources.c.name == name[:255])
            row = self.conn.execute(q).first()
            if row is None:
                self.conn.execute(insert_ignore(self.conn, sources, ["name"]).values(
                    name=name[:255], advertising=True, channel=channel, created_at=self.now))
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
        cond = or_(*(and_(identities.c.kind == k, identities.c.value == v) for k, v in idents))
        rows = self.conn.execute(
            select(contacts.c.id, contacts.c.merged_into).join(identities, identities.c.contact_id == contacts.c.id)
            .where(cond).order_by(contacts.c.id)
        ).all()
        out: list[int] = []
        for cid, merged in rows:
            target = int(merged or cid)
            if target not in out:
                out.append(target)
        return out

    def create_contact(self, name: str | None, idents: Sequence[Ident]) -> tuple[int, bool]:
        """Create a contact owning `idents`; if another worker got there first, return theirs (id, created)."""
        cid = int(self.conn.execute(
            insert(contacts).values(name=name, created_at=self.now, updated_at=self.now).returning(contacts.c.id)
        ).scalar_one())
        first_kind, first_value = idents[0]
        won = self.conn.execute(insert_ignore(self.conn, identities, ["kind", "value"]).values(
            contact_id=cid, kind=first_kind, value=first_value, created_at=self.now).returning(identities.c.id)
        ).first() is not None
        if not won:
            self.conn.execute(contacts.delete().where(contacts.c.id == cid))
            existing = self.find_contacts([idents[0]])
            return existing[0], False
        self.add_identities(cid, idents[1:])
        return cid, True

    def add_identities(self, contact_id: int, idents: Iterable[Ident]) -> None:
        for kind, value in idents:
            self.conn.execute(insert_ignore(self.conn, identities, ["kind", "value"]).values(
                contact_id=contact_id, kind=kind, value=value, created_at=self.now))

    def fill_contact(self, contact_id: int, *, name: str | None, position: str | None) -> None:
        values: dict[str, Any] = {}
        if name:
            values["name"] = name
        if position:
            values["position"] = position
        if values:
            cond = [contacts.c.id == contact_id, contacts.c.name.is_(None)]
            self.conn.execute(update(contacts).where(*cond).values(**values, updated_at=self.now))

    def is_blocked(self, idents: Sequence[Ident]) -> bool:
        if not idents:
            return False
        cond = or_(*(and_(blocklist.c.kind == k, blocklist.c.value == v) for k, v in idents))
        return self.conn.execute(select(blocklist.c.id).where(cond).limit(1)).first() is not None

    def open_deal(self, contact_id: int) -> int | None:
        return self.conn.execute(
            select(deals.c.id).where(deals.c.contact_id == contact_id, deals.c.status == "open")
            .order_by(deals.c.updated_at.desc(), deals.c.id.desc()).limit(1)
        ).scalar()

    def create_deal(self, *, name: str, contact_id: int | None, pipeline_id: int, stage_id: int,
                    responsible_id: int | None, budget: float | None) -> int:
        return int(self.conn.execute(insert(deals).values(
            name=name[:512], contact_id=contact_id, pipeline_id=pipeline_id, stage_id=stage_id,
            responsible_id=responsible_id, budget=budget, status="open", tags=[],
            created_at=self.now, updated_at=self.now,
        ).returning(deals.c.id)).scalar_one())

    # --- leads ----------------------------------------------------------------------------
    def lead_by_key(self, key: str, *, lock: bool = False) -> dict[str, Any] | None:
        q = select(leads).where(leads.c.key == key)
        if lock and self.conn.dialect.name == "postgresql":
            q = q.with_for_update()
        row = self.conn.execute(q).mappings().first()
        return dict(row) if row else None

    def lead_by_id(self, lead_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(select(leads).where(leads.c.id == lead_id)).mappings().first()
        return dict(row) if row else None

    def insert_lead(self, values: dict[str, Any]) -> int | None:
        """Insert a lead; None when a lead with the same key appeared meanwhile."""
        row = self.conn.execute(
            insert_ignore(self.conn, leads, ["key"]).values(**values, created_at=self.now, updated_at=self.now)
            .returning(leads.c.id)
        ).first()
        return None if row is None else int(row[0])

    def update_lead(self, lead_id: int, values: dict[str, Any]) -> None:
        if values:
            self.conn.execute(update(leads).where(leads.c.id == lead_id).values(**values, updated_at=self.now))

    def open_conversation(self, conversation_key: str) -> dict[str, Any] | None:
        row = self.conn.execute(
            select(leads).where(leads.c.conversation_key == conversation_key, leads.c.closed.is_(False))
            .order_by(leads.c.id.desc()).limit(1)
        ).mappings().first()
        return dict(row) if row else None

    def lead_for_messages(self, keys: Sequence[str]) -> int | None:
        if not keys:
            return None
        return self.conn.execute(
            select(messages.c.lead_id).where(messages.c.key.in_(list(keys)), messages.c.lead_id.is_not(None))
            .order_by(messages.c.id.desc()).limit(1)
        ).scalar()

    def recent_lead(self, *, contact_id: int, channel: str, account: str | None, since: datetime,
                    exclude_key: str) -> int | None:
        """The same person's lead from the same channel and account within a window (duplicate sends)."""
        return self.conn.execute(
            select(leads.c.id).where(
                leads.c.contact_id == contact_id, leads.c.channel == channel, leads.c.account == account,
                leads.c.received_at >= since, leads.c.key != exclude_key,
            ).order_by(leads.c.id).limit(1)
        ).scalar()

    def close_callbacks(self, phone: str, at: datetime, exclude_lead: int) -> int:
        """Close the open missed calls from `phone` that happened before `at`; records time to callback."""
        rows = self.conn.execute(
            select(leads.c.id, leads.c.received_at).where(
                leads.c.needs_callback.is_(True), leads.c.phone == phone, leads.c.id != exclude_lead)
        ).all()
        closed = 0
        for lead_id, received in rows:
            received = received if received.tzinfo else received.replace(tzinfo=at.tzinfo)
            if received > at:
                continue
            self.update_lead(lead_id, {
                "needs_callback": False, "callback_at": at,
                "time_to_callback_s": int((at - received).total_seconds()),
            })
            closed += 1
        return closed

    # --- conversation and files -------------------------------------------------------------
    def upsert_message(self, msg: MessageRef, *, lead_id: int | None, contact_id: int | None) -> int:
        existing = self.conn.execute(select(messages.c.id, messages.c.lead_id).where(messages.c.key == msg.key)).first()
        values = {
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
        return len(self.conn.execute(select(attachments.c.id).where(
            attachments.c.lead_id == lead_id, attachments.c.role == "attachment")).all())
