"""Answering a lead through its own channel, decided in a transaction: a mail reply is an outbox job.

`queue_mail_reply` builds the reply (threaded under the lead's mails), records it in the lead's
thread as outgoing, and queues the `mail.reply` job that sends it; pipeline triggers ("send a
message through the lead's channel") call it the same way the operators' API does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from gateway.config import Settings
from gateway.connectors.email.keys import mail_key
from gateway.connectors.email.reply import build_reply, thread_ids
from gateway.connectors.email.sending import KIND
from gateway.core.errors import Conflict
from gateway.core.models import Direction, MessageRef
from gateway.store import outbox
from gateway.store.crm import CrmRepo
from gateway.store.schema import messages

__all__ = ["queue_mail_reply"]


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
