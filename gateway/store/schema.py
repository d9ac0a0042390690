"""The core CRM store: one SQLAlchemy Core schema for SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator

__all__ = ["UtcDateTime", "metadata", "sqlite_time"]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite needs INTEGER for rowid aliasing


class UtcDateTime(TypeDecorator[datetime]):
    """A moment in time, always read back aware and in UTC.

    SQLite keeps no offset (its text is the UTC wall time) and PostgreSQL answers in the session's
    zone; both come back as UTC here. Aware values are written as UTC; naive ones are taken as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.astimezone(UTC)
        return value

    def bind_processor(self, dialect: Any) -> Any:
        """SQLite: a datetime straight to the text SQLAlchemy's DateTime stores (`sqlite_time`), in one call
        instead of two and a %-format, and the last few remembered (a batch's rows share its `now`: a worker
        binds five or six times an event); anything else as SQLAlchemy binds it."""
        composed = super().bind_processor(dialect)
        if dialect.name != "sqlite" or composed is None:
            return composed
        text_of = lru_cache(maxsize=64)(sqlite_time)  # equal moments have the same text, whatever their zone

        def process(value: Any) -> Any:
            return text_of(value) if value.__class__ is datetime else composed(value)

        return process

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


TS = UtcDateTime()


def sqlite_time(ts: datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime stores for `ts` (the UTC wall time, no offset, always six digits of
    seconds): its "%Y-%m-%d %H:%M:%S.%f", by isoformat in a third of the time."""
    ts = ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo else ts
    return ts.isoformat(" ", "microseconds")


def _id() -> Column[int]:
    return Column("id", Id, primary_key=True, autoincrement=True)


# --- the event log: queue of record -------------------------------------------------------
events = Table(
    "events", metadata,
    Column("id", String(32), primary_key=True),
    Column("connector", String(32), nullable=False),
    Column("account", String(128), nullable=False),
    Column("key", String(512), nullable=False),
    Column("name", String(128)),
    Column("group_key", String(512)),
    Column("received_at", TS, nullable=False),
    Column("headers", JSON, nullable=False, default=dict),
    Column("body", LargeBinary, nullable=False),
    Column("status", String(16), nullable=False, default="pending"),  # pending|processing|done|failed|dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", TS, nullable=False),
    Column("lease_until", TS),
    Column("claimed_by", String(128)),
    Column("processed_at", TS),
    Column("last_error", Text),
    Column("result", JSON),
    UniqueConstraint("connector", "account", "key"),
)
Index("ix_events_due", events.c.status, events.c.next_attempt_at)
Index("ix_events_group", events.c.connector, events.c.account, events.c.group_key, events.c.name)

# --- people --------------------------------------------------------------------------------
companies = Table(
    "companies", metadata, _id(),
    Column("name", String(512), nullable=False),
    Column("name_key", String(512)),  # the name without legal form, quotes and case: what deduplicates
    Column("inn", String(12)),  # the Russian tax number, when a form or a mail carried one
    Column("domain", String(255)),
    Column("created_at", TS, nullable=False),
)
Index("ix_companies_name_key", companies.c.name_key)
Index("uq_companies_inn", companies.c.inn, unique=True, sqlite_where=companies.c.inn.is_not(None),
      postgresql_where=companies.c.inn.is_not(None))

contacts = Table(
    "contacts", metadata, _id(),
    Column("name", String(512)),
    Column("company_id", ForeignKey("companies.id")),
    Column("position", String(255)),
    Column("merged_into", ForeignKey("contacts.id")),
    Column("merge_candidate_of", Id),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
)

identities = Table(
    "identities", metadata, _id(),
    Column("contact_id", ForeignKey("contacts.id"), nullable=False, index=True),
    Column("kind", String(16), nullable=False),  # phone|email|telegram|vk|whatsapp
    Column("value", String(320), nullable=False),
    Column("created_at", TS, nullable=False),
    UniqueConstraint("value", "kind"),  # value first: lookups ask by value
)

blocklist = Table(
    "blocklist", metadata, _id(),
    Column("kind", String(16), nullable=False),
    Column("value", String(320), nullable=False),
    Column("reason", Text),
    Column("created_by", Id),
    Column("created_at", TS, nullable=False),
    UniqueConstraint("value", "kind"),
)

users = Table(
    "users", metadata, _id(),
    Column("name", String(128), nullable=False, unique=True),
    Column("role", String(16), nullable=False),  # admin|manager|operator
    Column("extension", String(16)),
    Column("email", String(320)),
    Column("department", String(255)),
    Column("full_name", String(255)),  # shown instead of the login where people read
    Column("timezone", String(64)),  # the user's own zone for the page; the company's when empty
    Column("token_hash", String(64), unique=True),
    Column("password_hash", String(255)),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", TS, nullable=False),
)

# --- pipelines, sources, deals, leads ----------------------------------------------------
pipelines = Table(
    "pipelines", metadata, _id(),
    Column("name", String(255), nullable=False, unique=True),
    Column("position", Integer, nullable=False, default=0),
)

stages = Table(
    "stages", metadata, _id(),
    Column("pipeline_id", ForeignKey("pipelines.id"), nullable=False),
    Column("name", String(255), nullable=False),
    Column("position", Integer, nullable=False),
    Column("kind", String(16), nullable=False),  # unsorted|working|won|lost
    UniqueConstraint("pipeline_id", "name"),
)

sources = Table(
    "sources", metadata, _id(),
    Column("name", String(255), nullable=False, unique=True),
    Column("advertising", Boolean, nullable=False, default=True),
    Column("group_name", String(255)),
    Column("channel", String(32)),
    Column("created_at", TS, nullable=False),
)

deals = Table(
    "deals", metadata, _id(),
    Column("name", String(512), nullable=False),
    Column("contact_id", ForeignKey("contacts.id"), index=True),
    Column("company_id", ForeignKey("companies.id")),
    Column("pipeline_id", ForeignKey("pipelines.id"), nullable=False),
    Column("stage_id", ForeignKey("stages.id"), nullable=False),
    Column("responsible_id", ForeignKey("users.id")),
    Column("budget", Float),
    Column("status", String(16), nullable=False, default="open"),  # open|won|lost
    Column("tags", JSON, nullable=False, default=list),
    Column("version", Integer, nullable=False, default=1, server_default="1"),  # grows with every change
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
    Column("closed_at", TS),
)
Index("ix_deals_responsible", deals.c.responsible_id)
Index("ix_deals_stage", deals.c.stage_id, deals.c.id)  # a board column, newest first

leads = Table(
    "leads", metadata, _id(),
    Column("key", String(512), nullable=False, unique=True),
    Column("revision", Integer, nullable=False, default=0),
    Column("event_id", String(32)),
    Column("channel", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("direction", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("quality", String(16), nullable=False),
    Column("advertising", Boolean, nullable=False),
    Column("account", String(128)),
    Column("source_id", ForeignKey("sources.id")),
    Column("contact_id", ForeignKey("contacts.id")),
    Column("contact_was_new", Boolean, nullable=False, default=False),
    Column("deal_id", ForeignKey("deals.id")),
    Column("pipeline_id", ForeignKey("pipelines.id")),
    Column("stage_id", ForeignKey("stages.id")),
    Column("manager_id", ForeignKey("users.id")),
    Column("phone", String(32)),
    Column("email", String(320)),
    Column("name", String(512)),
    Column("company", String(512)),
    Column("inn", String(12)),
    Column("position", String(255)),
    Column("budget", Float),
    Column("subject", Text),
    Column("text", Text),
    Column("utm", JSON, nullable=False, default=dict),
    Column("custom", JSON, nullable=False, default=dict),
    Column("call", JSON),
    Column("duration_s", Integer),
    Column("result", String(32)),
    Column("recording_file_id", String(64)),
    Column("score", Integer, nullable=False, default=0),
    Column("score_details", JSON, nullable=False, default=list),
    Column("needs_callback", Boolean, nullable=False, default=False),
    Column("callback_at", TS),
    Column("time_to_callback_s", Integer),
    Column("non_target_reason", Text),
    Column("merge_candidates", JSON, nullable=False, default=list),
    Column("conversation_key", String(512)),
    Column("closed", Boolean, nullable=False, default=False),
    Column("recovered", Boolean, nullable=False, default=False),
    Column("history_only", Boolean, nullable=False, default=False),
    Column("tags", JSON, nullable=False, default=list),
    Column("received_at", TS, nullable=False),
    Column("taken_at", TS),
    Column("taken_by", ForeignKey("users.id")),
    Column("decline_reason", Text),
    Column("created_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
)
Index("ix_leads_journal", leads.c.received_at, leads.c.id)
Index("ix_leads_status_received", leads.c.status, leads.c.received_at, leads.c.id)
Index("ix_leads_contact", leads.c.contact_id, leads.c.received_at)
Index("ix_leads_deal", leads.c.deal_id)
Index("ix_leads_conversation", leads.c.conversation_key)
Index("ix_leads_callback", leads.c.needs_callback, leads.c.phone)
Index("ix_leads_channel_received", leads.c.channel, leads.c.received_at, leads.c.id)
Index("ix_leads_quality_received", leads.c.quality, leads.c.received_at, leads.c.id)
Index("ix_leads_source_received", leads.c.source_id, leads.c.received_at, leads.c.id)
Index("ix_leads_manager_received", leads.c.manager_id, leads.c.received_at, leads.c.id)
Index("ix_leads_updated", leads.c.updated_at)
Index("ix_leads_score", leads.c.score, leads.c.received_at, leads.c.id)
Index("ix_leads_taken", leads.c.taken_at, leads.c.id)
Index("ix_leads_phone", leads.c.phone, leads.c.received_at)
Index("ix_leads_email", leads.c.email)
Index("ix_leads_stage", leads.c.stage_id, leads.c.received_at, leads.c.id)
Index("ix_leads_callback_received", leads.c.needs_callback, leads.c.received_at, leads.c.id)
Index("ix_leads_advertising", leads.c.advertising, leads.c.received_at, leads.c.id)

messages = Table(
    "messages", metadata, _id(),
    Column("key", String(512), nullable=False, unique=True),
    Column("lead_id", ForeignKey("leads.id"), index=True),
    Column("contact_id", ForeignKey("contacts.id"), index=True),
    Column("direction", String(16), nullable=False),
    Column("at", TS, nullable=False),
    Column("author", String(512)),
    Column("subject", Text),
    Column("text", Text),
    Column("html", Text),
    Column("quoted", Text),
    Column("edited", Boolean, nullable=False, default=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("data", JSON, nullable=False, default=dict),
    Column("created_at", TS, nullable=False),
)

files = Table(
    "files", metadata,
    Column("id", String(64), primary_key=True),  # sha256 of the content
    Column("size", BigInteger, nullable=False),
    Column("content_type", String(255), nullable=False),
    Column("created_at", TS, nullable=False),
)

attachments = Table(
    "attachments", metadata, _id(),
    Column("lead_id", ForeignKey("leads.id"), index=True),
    Column("message_id", ForeignKey("messages.id")),
    Column("file_id", ForeignKey("files.id")),
    Column("name", String(255), nullable=False),
    Column("size", BigInteger, nullable=False, default=0),
    Column("content_type", String(255), nullable=False),
    Column("role", String(16), nullable=False, default="attachment"),
    Column("inline", Boolean, nullable=False, default=False),
    Column("omitted", Boolean, nullable=False, default=False),
    Column("reason", Text),
    Column("created_at", TS, nullable=False),
    UniqueConstraint("lead_id", "message_id", "file_id", "name", "role"),
)

# --- connectors' own state ---------------------------------------------------------------
mailbox_state = Table(
    "mailbox_state", metadata,
    Column("mailbox", String(128), primary_key=True),
    Column("folder", String(255), primary_key=True),
    Column("uidvalidity", BigInteger),
    Column("last_uid", BigInteger, nullable=False, default=0),
    Column("last_poll_at", TS),
    Column("last_ok_at", TS),
    Column("last_error", Text),
    Column("lock_owner", String(128)),
    Column("lock_until", TS),
)

# --- operators and outbound -----------------------------------------------------------------
audit_log = Table(
    "audit_log", metadata, _id(),
    Column("at", TS, nullable=False),
    Column("user_id", ForeignKey("users.id")),
    Column("action", String(64), nullable=False),
    Column("lead_id", Id),
    Column("deal_id", Id),
    Column("contact_id", Id),
    Column("data", JSON, nullable=False, default=dict),
)
Index("ix_audit_lead", audit_log.c.lead_id)
Index("ix_audit_deal", audit_log.c.deal_id)

# --- a manager's to-do list ------------------------------------------------------------------
tasks = Table(
    "tasks", metadata, _id(),
    Column("key", String(255), unique=True),  # who decided it, once: "callback:lead:12", "trigger:job_..."
    Column("kind", String(16), nullable=False, default="task"),  # task|callback
    Column("text", Text, nullable=False),
    Column("responsible_id", ForeignKey("users.id")),  # none: the operators' common queue
    Column("due_at", TS, nullable=False),
    Column("status", String(16), nullable=False, default="open"),  # open|done
    Column("result", Text),
    Column("deal_id", ForeignKey("deals.id")),
    Column("lead_id", ForeignKey("leads.id")),
    Column("created_by", String(160), nullable=False),  # a user's name, trigger:<name>, missed_call
    Column("created_at", TS, nullable=False),
    Column("completed_at", TS),
    Column("completed_by", String(160)),
)
Index("ix_tasks_responsible", tasks.c.status, tasks.c.responsible_id, tasks.c.due_at)
Index("ix_tasks_due", tasks.c.status, tasks.c.due_at, tasks.c.id)
Index("ix_tasks_deal", tasks.c.deal_id, tasks.c.status)
Index("ix_tasks_lead", tasks.c.lead_id, tasks.c.status)

# small named counters (a round-robin's turn)
counters = Table(
    "counters", metadata,
    Column("name", String(255), primary_key=True),
    Column("value", BigInteger, nullable=False, default=0),
)

outbox = Table(
    "outbox", metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(32), nullable=False, default="webhook"),  # the performer: webhook|sink|trigger|...
    Column("target", String(2048), nullable=False),  # within the kind: a URL, a sink's or a trigger's name
    Column("key", String(512)),  # idempotency key, unique per kind: a repeated decision adds nothing
    Column("event_type", String(64), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("lead_id", Id),
    Column("deal_id", Id),
    Column("status", String(16), nullable=False, default="pending"),  # pending|sending|done|dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", TS, nullable=False),  # while sending: the lease
    Column("last_error", Text),
    Column("last_status", Integer),
    Column("state", JSON),  # what earlier attempts left for the next one
    Column("result", JSON),  # what the work produced (a remote id, a link...)
    Column("created_at", TS, nullable=False),
    Column("attempted_at", TS),
    Column("delivered_at", TS),
    UniqueConstraint("kind", "key"),
)
Index("ix_outbox_due", outbox.c.status, outbox.c.next_attempt_at)
Index("ix_outbox_lead", outbox.c.lead_id)
Index("ix_outbox_deal", outbox.c.deal_id)

sink_tokens = Table(  # OAuth tokens a sink refreshed (the settings hold only the first refresh token)
    "sink_tokens", metadata,
    Column("sink", String(64), primary_key=True),
    Column("access_token", Text, nullable=False),
    Column("refresh_token", Text, nullable=False),
    Column("expires_at", TS, nullable=False),
    Column("updated_at", TS, nullable=False),
)

web_sessions = Table(
    "web_sessions", metadata,
    Column("id", String(64), primary_key=True),  # sha256 of the cookie value
    Column("user_id", ForeignKey("users.id"), nullable=False),
    Column("csrf", String(64), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("expires_at", TS, nullable=False),
)

# --- call tracking: the numbers of each site's pool, the visits that held them, the calls matched to them ---
ct_numbers = Table(  # one row per pool number: who holds it now, and until when
    "ct_numbers", metadata,
    Column("site", String(64), primary_key=True),
    Column("number", String(32), primary_key=True),
    Column("session_id", String(32)),  # the visit holding it (None: never given)
    Column("held_until", TS),  # free again after this
)
Index("ix_ct_numbers_free", ct_numbers.c.site, ct_numbers.c.held_until)

ct_sessions = Table(  # one visitor's holding of one number (or a visit that got the default number)
    "ct_sessions", metadata,
    Column("id", String(32), primary_key=True),  # random, handed to the page for its heartbeats
    Column("site", String(64), nullable=False),
    Column("visitor", String(64), nullable=False),  # the page's random first-party id
    Column("number", String(32)),  # None: the default number was shown
    Column("outcome", String(16), nullable=False),  # number | exhausted
    Column("started_at", TS, nullable=False),
    Column("seen_at", TS, nullable=False),
    Column("held_until", TS, nullable=False),
    Column("landing", Text),
    Column("referrer", Text),
    Column("utm", JSON, nullable=False, default=dict),
    Column("click_ids", JSON, nullable=False, default=dict),
    Column("pages", JSON, nullable=False, default=list),  # pages seen while holding it, oldest first
)
Index("ix_ct_sessions_number", ct_sessions.c.site, ct_sessions.c.number, ct_sessions.c.started_at)
Index("ix_ct_sessions_visitor", ct_sessions.c.site, ct_sessions.c.visitor, ct_sessions.c.held_until)
Index("ix_ct_sessions_started", ct_sessions.c.started_at)

ct_matches = Table(  # the first verdict on each call to a pool number (and each form sent from a tracked visit)
    "ct_matches", metadata,
    Column("interaction_key", String(255), primary_key=True),
    Column("site", String(64), nullable=False),
    Column("number", String(32)),
    Column("called_at", TS, nullable=False),
    Column("verdict", String(16), nullable=False),  # matched | no_session | ambiguous | form
    Column("session_id", String(32)),
    Column("visitor", String(64)),
    Column("reason", Text),
    Column("decided_at", TS, nullable=False),
)
Index("ix_ct_matches_visitor", ct_matches.c.visitor)

ct_pool_hours = Table(  # per site and hour: requests the pool could not serve, and bots' requests
    "ct_pool_hours", metadata,
    Column("site", String(64), primary_key=True),
    Column("hour", TS, primary_key=True),
    Column("exhausted", Integer, nullable=False, default=0),
    Column("bots", Integer, nullable=False, default=0),
)

server_default_now = text("CURRENT_TIMESTAMP")
