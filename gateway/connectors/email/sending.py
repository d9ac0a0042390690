"""The performer of `mail.reply` jobs: send by SMTP, put a copy in the Sent folder, record it as ours.

Each step is remembered in the job's state, so a retry never sends twice what went out, and the
copy is appended only when the Sent folder does not hold that Message-ID yet. The sent message is
then stored as the mailbox's own `sent` event under its Message-ID: the pipeline records it as
outgoing in the lead's thread, and the poller's later find of the same copy is a duplicate.
"""

from __future__ import annotations

import asyncio
import imaplib
import smtplib
import ssl
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from gateway.config.email import MailboxSettings
from gateway.connectors.base import NewEvent
from gateway.connectors.email.folders import choose_folders
from gateway.connectors.email.session import open_session
from gateway.core.errors import GatewayError, PermanentUpstreamError, TransientUpstreamError
from gateway.core.jobs import Dead, Done, Job, JobOutcome, Retry

__all__ = ["KIND", "MailReplyPerformer", "append_to_sent", "send_smtp"]

KIND = "mail.reply"
DELAYS = (30.0, 120.0, 600.0, 1800.0, 3600.0)
Record = Callable[[NewEvent], Awaitable[None]]


def send_smtp(box: MailboxSettings, sender: str, to: str, raw: bytes) -> None:
    """One SMTP transaction; 4xx and dropped connections are transient, 5xx a refusal."""
    context = ssl.create_default_context()
    try:
        cls = smtplib.SMTP_SSL if box.smtp_security == "tls" else smtplib.SMTP
        kwargs: dict[str, Any] = {"context": context} if box.smtp_security == "tls" else {}
        with cls(box.smtp_host or "", box.smtp_port, timeout=box.timeout_seconds, **kwargs) as smtp:
            if box.smtp_security == "starttls":
                smtp.starttls(context=context)
            login = box.smtp_login() if box.smtp_security != "none" or box.smtp_username else None
            if login is not None:
                smtp.login(*login)
            smtp.sendmail(sender, [to], raw)
    except smtplib.SMTPResponseException as exc:
        words = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        error = f"почтовый сервер ответил {exc.smtp_code}: {words}"
        raise (TransientUpstreamError if exc.smtp_code < 500 else PermanentUpstreamError)(error) from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise PermanentUpstreamError(f"почтовый сервер не принял адрес получателя ({len(exc.recipients)})") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise TransientUpstreamError(f"почтовый сервер недоступен: {type(exc).__name__}") from None


def append_to_sent(box: MailboxSettings, message_id: str, raw: bytes) -> str | None:
    """Append the copy to the Sent folder unless it is there already; the folder, or None when there is none."""
    with open_session(box) as session:
        chosen = dict(choose_folders(session.folders(), ["sent"], box.sent_folder))
        folder = chosen.get("sent")
        if folder is None:
            return None
        try:
            session.client.select_folder(folder)
            if session.client.search(["HEADER", "Message-ID", f"<{message_id}>"]):
                return folder
            session.client.append(folder, raw, flags=[b"\\Seen"], msg_time=datetime.now(UTC))
        except (OSError, EOFError, imaplib.IMAP4.error) as exc:
            raise TransientUpstreamError(f"IMAP: копию в «Отправленные» положить не удалось ({exc})") from None
        return folder


class MailReplyPerformer:
    """`mail.reply` jobs: the target is the mailbox; the payload the ready message."""

    kind = KIND

    def __init__(self, mailboxes: Mapping[str, MailboxSettings], record: Record, concurrency: int = 2) -> None:
        self.mailboxes, self.record = mailboxes, record
        self.concurrency, self.delays = concurrency, DELAYS

    async def perform(self, job: Job) -> JobOutcome:
        box = self.mailboxes.get(job.target)
        if box is None or not box.smtp_host:
            return Dead(f"ящик {job.target!r} не настроен на отправку (нет smtp_host)")
        p, state = job.payload, dict(job.state)
        raw = str(p["raw"]).encode("utf-8", "surrogateescape")
        try:
            if not state.get("sent"):
                await asyncio.to_thread(send_smtp, box, str(p["from"]), str(p["to"]), raw)
                state["sent"] = True
            if not state.get("copied"):
                state["folder"] = await asyncio.to_thread(append_to_sent, box, str(p["message_id"]), raw)
                state["copied"] = True
            await self.record(NewEvent(connector="imap", account=box.name, key=str(p["message_id"]), body=raw,
                                       name="sent", received_at=datetime.now(UTC),
                                       headers={"role": "sent", "folder": state.get("folder") or ""}))
        except TransientUpstreamError as exc:
            return Retry(exc.message, state=state)
        except GatewayError as exc:
            return Dead(exc.message, state=state)
        return Done(result={"message_id": p["message_id"], "folder": state.get("folder")})
