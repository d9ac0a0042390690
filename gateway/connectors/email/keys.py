"""Keys of a mail: the event key (its Message-ID, or a content hash) and the lead and message keys."""

from __future__ import annotations

import hashlib
import re

from gateway.connectors.email.headers import normalise_message_id

__all__ = ["event_key", "header_block", "mail_key", "raw_message_id"]

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_MESSAGE_ID = re.compile(rb"^message-id[ \t]*:(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)
_HEAD_LIMIT = 256 * 1024


def header_block(raw: bytes) -> bytes:
    """The header part of a raw message (up to the first empty line, at most 256 KiB)."""
    head = raw[:_HEAD_LIMIT]
    m = _HEADER_END.search(head)
    return head[: m.start()] if m else head


def raw_message_id(raw: bytes) -> str | None:
    """The Message-ID, read from the header block only (the poller never parses whole messages)."""
    m = _MESSAGE_ID.search(header_block(raw))
    if m is None:
        return None
    return normalise_message_id(m.group(1).decode("ascii", "surrogateescape"))


def event_key(raw: bytes) -> str:
    """Mailbox-scoped identity of a mail: its Message-ID, else `sha256:` of its content.

    Line endings are normalised before hashing, so a server that stores LF and serves CRLF
    gives the same key as one that keeps CRLF.
    """
    ident = raw_message_id(raw)
    if ident is not None:
        return ident
    return "sha256:" + hashlib.sha256(raw.replace(b"\r\n", b"\n")).hexdigest()


def mail_key(mailbox: str, ident: str) -> str:
    """The lead and message key of a mail: `imap:<mailbox>:<message-id or sha256:...>`."""
    return f"imap:{mailbox}:{ident}"
