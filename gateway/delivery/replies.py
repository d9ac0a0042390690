"""Answering a lead through its own channel: the one way operators and triggers write to a customer.

A mail lead's answer is decided in a transaction (`replied_in_store`): built in the lead's thread, recorded as
outgoing and queued as a `mail.reply` job, so a trigger's run and its mail are one decision. A chat lead's
answer goes out through its messenger at once and joins the conversation (`send_chat_reply`). A lead with no
channel to answer through is told so plainly (`Conflict`), never taken for a success.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from gateway.config import Settings
from gateway.connectors.email.keys import mail_key
from gateway.connectors.email.reply import build_reply, thread_ids
from gateway.connectors.email.sending import KIND
from gateway.connectors.messengers.reply import reply
from gateway.core.errors import Conflict, NotFound, PayloadError
from gateway.core.models import Direction, MessageRef
from gateway.egress import AsyncOutboundClient
from gateway.store import outbox
from gateway.store.crm import CrmRepo
from gateway.store.database import Database
from gateway.store.schema import messages

__all__ = ["Replied", "lead_to_answer", "queue_mail_reply", "replied_in_store", "reply_to_lead", "send_chat_reply"]

CHAT_LIMIT = 4096  # the messengers' limit of one message


@dataclass(frozen=True, slots=True)
class Replied:
    """An answer recorded in the lead's conversation: sent already (a chat), or queued to be sent (a mail)."""

    message: dict[str, Any]
    queued: bool


async def lead_to_answer(db: Database, lead_id: int) -> dict[str, Any]:
    lead = await db.read(lambda conn: CrmRepo(conn, datetime.now(UTC)).lead_by_id(lead_id))
    if lead is None:
        raise NotFound("no such lead")
    return lead


def replied_in_store(conn: Connection, settings: Settings, lead: dict[str, Any], text: str, *, now: datetime,
                     author: str | None, subject: str | None = None) -> dict[str, Any] | None:
    """A mail lead's answer, queued in this transaction (the recorded message); None for a chat, which is sent
    now; `Conflict` for a lead with no channel to answer through."""
    if lead["kind"] == "mail":
        return queue_mail_reply(conn, settings, lead, text, now=now, subject=subject, author=author)
    if not lead["conversation_key"]:
        raise Conflict(f"a {lead['kind']} lead has no conversation to answer through")
    return None


async def send_chat_reply(settings: Settings, db: Database, http: AsyncOutboundClient, lead: dict[str, Any],
                          text: str, *, author: str | None) -> dict[str, Any]:
    """Send `text` to the lead's chat through its messenger; the recorded outgoing message."""
    if len(text) > CHAT_LIMIT:
        raise PayloadError(f"text: a chat message holds at most {CHAT_LIMIT} characters")
    sent = await reply(settings, lead["conversation_key"], text, http, author=author)

    def record(conn: Connection) -> int:
        return CrmRepo(conn, datetime.now(UTC)).upsert_message(sent, lead_id=lead["id"], contact_id=lead["contact_id"])

    message_id = await db.write(record)
    return {"id": message_id, "key": sent.key, "direction": "out", "at": sent.at.isoformat(), "text": sent.text,
            "author": sent.author}


async def reply_to_lead(settings: Settings, db: Database, http: AsyncOutboundClient, lead: dict[str, Any],
                        text: str, *, author: str | None, subject: str | None = None) -> Replied:
    """Answer the lead the way its customer wrote to us: a mail queued in its thread, a chat sent now."""
    queued = await db.write(replied_in_store, settings, lead, text, now=datetime.now(UTC), author=author,
                            subject=subject)
    if queued is not None:
        return Replied(queued, queued=True)
    return Replied(await send_chat_reply(settings, db, http, lead, text, author=author), queued=False)


def queue_mail_reply(conn: Connection, settings: Settings, lead: dict[str, Any], text: str, *, now: datetime,
                     subject: str | None = None, author: str | None = None,
                     files: tuple[tuple[str, str, bytes], ...] = ()) -> dict[str, Any]:
    """Queue a reply to a mail lead; the recorded outgoing message and its job."""
    box = next((m for m in settings.email.mailboxes if m.name == lead["account"]), None)
    if box is None or not box.smtp_host or not box.from_address:
        raise Conflict("Ответить нельзя: у ящика этого письма не настроена отправка (smtp_host и адрес в "
                       "[[email.mailboxes]])")
    if not lead["email"]:
        raise Conflict("Ответить некому: у лида нет адреса почты")
    keys = list(conn.execute(select(messages.c.key).where(messages.c.lead_id == lead["id"])
                             .order_by(messages.c.at, messages.c.id)).scalars())
    message_id, raw = build_reply(sender=box.from_address, to=lead["email"], subject=subject or lead["subject"],
                                  text=text, thread=thread_ids(keys, box.name), now=now, files=files)
    ref = MessageRef(key=mail_key(box.name, message_id), direction=Direction.OUT, at=now, author=author,
                     subject=subject or lead["subject"], text=text, data={"message_id": message_id})
    stored = CrmRepo(conn, now).upsert_message(ref, lead_id=lead["id"], contact_id=lead["contact_id"])
    job = outbox.enqueue_job(conn, kind=KIND, target=box.name, key=message_id, event_type="mail.reply",
                             lead_id=lead["id"], now=now,
                             payload={"message_id": message_id, "from": box.from_address, "to": lead["email"],
                                      "raw": raw.decode("utf-8", "surrogateescape")})
    return {"id": stored, "key": ref.key, "direction": "out", "at": now.isoformat(), "text": text,
            "author": author, "job": job, "message_id": message_id}
