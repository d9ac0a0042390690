"""Answering a lead through its own channel: the one way operators and triggers write to a customer.

A chat lead is answered through its messenger, and the answer joins the lead's conversation. A mail
lead cannot be answered from here yet: that is said plainly (a `Conflict`), never taken for a success.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.config import Settings
from gateway.connectors.messengers.reply import reply
from gateway.core.errors import Conflict, NotFound
from gateway.egress import AsyncOutboundClient
from gateway.store.crm import CrmRepo
from gateway.store.database import Database

__all__ = ["MAIL_REPLIES_MISSING", "Replied", "lead_to_answer", "reply_to_lead"]

MAIL_REPLIES_MISSING = "mail replies are not available yet: answer this lead from the mailbox"


@dataclass(frozen=True, slots=True)
class Replied:
    """An answer sent and recorded in the lead's conversation."""

    message_id: int
    key: str
    at: datetime
    text: str
    author: str | None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.message_id, "key": self.key, "direction": "out", "at": self.at.isoformat(),
                "text": self.text, "author": self.author}


async def lead_to_answer(db: Database, lead_id: int) -> dict[str, Any]:
    lead = await db.read(lambda conn: CrmRepo(conn, datetime.now(UTC)).lead_by_id(lead_id))
    if lead is None:
        raise NotFound("no such lead")
    return lead


async def reply_to_lead(settings: Settings, db: Database, http: AsyncOutboundClient, lead: dict[str, Any],
                        text: str, *, author: str | None) -> Replied:
    """Send `text` to the lead's customer the way they wrote to us; raises Conflict when there is no way."""
    if not lead["conversation_key"]:
        if lead["kind"] == "mail":
            raise Conflict(MAIL_REPLIES_MISSING)
        raise Conflict(f"a {lead['kind']} lead has no conversation to answer through")
    sent = await reply(settings, lead["conversation_key"], text, http, author=author)

    def record(conn):  # type: ignore[no-untyped-def]
        return CrmRepo(conn, datetime.now(UTC)).upsert_message(sent, lead_id=lead["id"], contact_id=lead["contact_id"])

    message_id = await db.write(record)
    return Replied(message_id, sent.key, sent.at, text, author)
