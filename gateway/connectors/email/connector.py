"""The mail connector: a stored raw message becomes one Interaction (a lead, or contact history)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from gateway.config.email import MailboxSettings
from gateway.connectors.base import Outcome, ParseContext, Route, ServiceContext, StoredEvent
from gateway.connectors.email.attachments import store_files, store_original
from gateway.connectors.email.keys import mail_key
from gateway.connectors.email.mime import ParsedMail, parse_message
from gateway.connectors.email.quoting import SplitText, split_reply
from gateway.connectors.email.rules import Company, Party, non_target_reason, party
from gateway.core.models import (
    AttachmentRef,
    Channel,
    Direction,
    IdentityKind,
    IdentityRef,
    Interaction,
    Kind,
    MessageRef,
)
from gateway.core.normalise import find_phones

if TYPE_CHECKING:
    import asyncio

    from gateway.config import Settings

__all__ = ["ImapConnector"]

_MB = 1 << 20
_MAX_REPLY_TO = 20


def _when(event: StoredEvent, mail: ParsedMail) -> datetime:
    """When the mail arrived: the server's INTERNALDATE, else its Date header, else when we stored it."""
    stamp = event.headers.get("internaldate")
    if stamp:
        try:
            return datetime.fromisoformat(stamp)
        except ValueError:
            pass
    return mail.date or event.received_at


def _reply_keys(mailbox: str, mail: ParsedMail, own: str) -> list[str]:
    ids = [*mail.in_reply_to, *reversed(mail.references)]
    keys = [mail_key(mailbox, i) for i in dict.fromkeys(ids) if i != own]
    return keys[:_MAX_REPLY_TO]


class ImapConnector:
    """Company mailboxes over IMAP: a poller service at the edge, `process` behind it."""

    channel = Channel.IMAP.value

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._mailboxes = {m.name: m for m in settings.email.mailboxes}

    def routes(self) -> list[Route]:
        return []

    def services(self) -> list[Callable[[ServiceContext, asyncio.Event], Awaitable[None]]]:
        """The poller loop: `await service(ctx, stop_event)`."""
        from gateway.connectors.email.service import run_pollers

        return [partial(run_pollers, self.settings)] if self._mailboxes else []

    def _company(self, mailbox: MailboxSettings | None) -> Company:
        email = self.settings.email
        return Company.of(email.company_domains, email.company_addresses, mailbox.username if mailbox else None)

    def process(self, event: StoredEvent, ctx: ParseContext) -> Outcome:
        """Parse the raw message (PayloadError when it is not one) and build its interaction."""
        mail = parse_message(event.body)
        mailbox = self._mailboxes.get(event.account)
        sent = (event.headers.get("role") or event.name) == "sent"
        who = party(mail, self._company(mailbox), sent=sent)
        split = split_reply(mail.text)
        reason = None if sent else non_target_reason(mail)
        files = self._files(event, mail, ctx, mailbox)
        interaction = self._interaction(event, mail, mailbox, who, split, reason, files)
        return Outcome(interactions=[interaction], result={
            "message_id": mail.message_id, "direction": who.direction.value, "non_target_reason": reason,
            "files": len(files),
        })

    def _files(self, event: StoredEvent, mail: ParsedMail, ctx: ParseContext,
               mailbox: MailboxSettings | None) -> list[AttachmentRef]:
        attachment_limit = int((mailbox.max_attachment_mb if mailbox else 25) * _MB)
        message_limit = int((mailbox.max_message_mb if mailbox else 50) * _MB)
        truncated = int(event.headers.get("size", "0") or 0) if event.headers.get("truncated") else None
        refs = store_files(mail, ctx.files, limit=attachment_limit)
        refs.append(store_original(event.body, ctx.files, truncated_size=truncated, limit=message_limit))
        return refs

    def _identities(self, who: Party, split: SplitText, reason: str | None) -> list[IdentityRef]:
        found = [IdentityRef(kind=IdentityKind.EMAIL, value=a.email) for a in who.people]
        if who.direction is Direction.IN and reason is None and who.people:
            text = f"{split.new}\n{split.signature}"
            region = self.settings.default_region
            found += [IdentityRef(kind=IdentityKind.PHONE, value=p) for p in find_phones(text, region)]
        return found

    def _interaction(self, event: StoredEvent, mail: ParsedMail, mailbox: MailboxSettings | None, who: Party,
                     split: SplitText, reason: str | None, files: list[AttachmentRef]) -> Interaction:
        key = mail_key(event.account, event.key)
        at = _when(event, mail)
        sender = mail.from_address
        custom: dict[str, Any] = {
            "message_id": mail.message_id, "folder": event.headers.get("folder"),
            "from": sender.email if sender else None, "to": [a.email for a in mail.to],
            "cc": [a.email for a in mail.cc],
        }
        message = MessageRef(
            key=key, direction=who.direction, at=at, author=(sender.name or sender.email) if sender else None,
            subject=mail.subject or None, text=split.new or None, html=mail.html, quoted=split.quoted or None,
            attachments=files, data={k: v for k, v in custom.items() if v},
        )
        return Interaction(
            key=key, channel=Channel.IMAP, kind=Kind.MAIL, direction=who.direction, occurred_at=at,
            account=event.account, name=who.name, identities=self._identities(who, split, reason),
            subject=mail.subject or None, text=split.new or None,
            source=(mailbox.source or mailbox.name) if mailbox else event.account,
            custom={k: v for k, v in custom.items() if v}, messages=[message],
            reply_to=_reply_keys(event.account, mail, event.key), non_target_reason=reason,
            history_only=who.direction is Direction.OUT or event.name == "import",
        )
