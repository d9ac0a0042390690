"""An operator's reply to a mail lead (pure): the message, threaded so the customer's client shows it in place.

`In-Reply-To` names the mail answered (the thread's newest), `References` the thread so far
(RFC 5322 §3.6.4); the subject keeps one "Re: ". The Message-ID is made here, so that the copy
the poller later finds in the Sent folder has the key this reply is already stored under.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

__all__ = ["build_reply", "reply_subject", "thread_ids"]

_RE = re.compile(r"^\s*((re|fwd?|ответ|отв)\s*(\[\d+\])?\s*:\s*)+", re.IGNORECASE)
MAX_REFERENCES = 20


def reply_subject(subject: str | None) -> str:
    base = _RE.sub("", subject or "").strip()
    return f"Re: {base}" if base else "Re:"


def thread_ids(message_keys: Sequence[str], mailbox: str) -> list[str]:
    """The Message-IDs of a lead's mails, oldest first, from their keys (`imap:<mailbox>:<message-id>`)."""
    prefix = f"imap:{mailbox}:"
    return [k.removeprefix(prefix) for k in message_keys
            if k.startswith(prefix) and not k.startswith(prefix + "sha256:")]


def build_reply(*, sender: str, to: str, subject: str | None, text: str, thread: Sequence[str],
                now: datetime, files: Sequence[tuple[str, str, bytes]] = ()) -> tuple[str, bytes]:
    """(Message-ID without brackets, the raw message) of a reply; `files` are (name, content type, bytes)."""
    domain = sender.rsplit("@", 1)[-1] if "@" in sender else "lead-gateway.local"
    message_id = f"{now.strftime('%Y%m%d%H%M%S')}.{secrets.token_hex(8)}@{domain}"
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = reply_subject(subject)
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = f"<{message_id}>"
    if thread:
        msg["In-Reply-To"] = f"<{thread[-1]}>"
        msg["References"] = " ".join(f"<{i}>" for i in thread[-MAX_REFERENCES:])
    msg.set_content(text)
    for name, ctype, data in files:
        main, _, sub = ctype.partition("/")
        msg.add_attachment(data, maintype=main or "application", subtype=sub or "octet-stream", filename=name)
    return message_id, msg.as_bytes()
