"""One IMAP connection (imapclient), read-only: folders are EXAMINEd and bodies fetched with BODY.PEEK[].

Library and socket errors are translated here, once: a dropped or timed-out connection is
`MailConnectionLost` (worth reconnecting), a refused login or command an upstream error.
"""

from __future__ import annotations

import functools
import imaplib
import io
import socket
import ssl
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime

from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from gateway.config.email import MailboxSettings
from gateway.connectors.email.folders import FolderEntry
from gateway.core.errors import ConfigError, PermanentUpstreamError, TransientUpstreamError

__all__ = ["FolderStatus", "ImapSession", "MailConnectionLost", "MessageMeta", "open_session"]

PARTIAL_CHUNK = 1 << 20
_TRANSIENT_CODES = (b"[UNAVAILABLE]", b"[INUSE]", b"[LIMIT]", b"[SERVERBUG]")


class MailConnectionLost(TransientUpstreamError):
    """The connection dropped, timed out or was refused: reconnect and go on from the cursor."""


@dataclass(frozen=True, slots=True)
class FolderStatus:
    uidvalidity: int
    uidnext: int | None
    exists: int


@dataclass(frozen=True, slots=True)
class MessageMeta:
    size: int
    internaldate: datetime | None


@contextmanager
def _translated(what: str) -> Iterator[None]:
    try:
        yield
    except LoginError as exc:
        raise PermanentUpstreamError(f"IMAP login refused: {_text(exc)}") from None
    except imaplib.IMAP4.abort as exc:
        raise MailConnectionLost(f"IMAP connection lost during {what}: {_text(exc)}") from None
    except imaplib.IMAP4.error as exc:
        message = _text(exc)
        if any(code.decode() in message for code in _TRANSIENT_CODES):
            raise TransientUpstreamError(f"IMAP {what} failed: {message}") from None
        raise PermanentUpstreamError(f"IMAP {what} failed: {message}") from None
    except (OSError, EOFError) as exc:  # sockets, TLS, timeouts, refused connections
        raise MailConnectionLost(f"IMAP connection lost during {what}: {type(exc).__name__}: {exc}") from None


def _text(exc: BaseException) -> str:
    text = str(exc)
    return text[:300]


class ImapSession:
    """A logged-in connection to one mailbox."""

    def __init__(self, client: IMAPClient) -> None:
        self.client = client

    def folders(self) -> list[FolderEntry]:
        with _translated("LIST"):
            return [FolderEntry.of(item) for item in self.client.list_folders()]

    def examine(self, folder: str) -> FolderStatus:
        """Select read-only, so that nothing we do can set \\Seen."""
        with _translated(f"EXAMINE {folder}"):
            info = self.client.select_folder(folder, readonly=True)
        uidnext = info.get(b"UIDNEXT")
        return FolderStatus(int(info[b"UIDVALIDITY"]), int(uidnext) if uidnext is not None else None,
                            int(info.get(b"EXISTS", 0)))

    def uids_since(self, day: date) -> list[int]:
        with _translated("SEARCH SINCE"):
            return sorted(int(u) for u in self.client.search(["SINCE", day]))

    def uids_between(self, since: date, before: date | None) -> list[int]:
        criteria: list[object] = ["SINCE", since]
        if before is not None:
            criteria += ["BEFORE", before]
        with _translated("SEARCH"):
            return sorted(int(u) for u in self.client.search(criteria))

    def uids_after(self, last_uid: int) -> list[int]:
        with _translated("UID SEARCH"):
            found = self.client.search(["UID", f"{last_uid + 1}:*"])
        return sorted(int(u) for u in found if int(u) > last_uid)  # "n:*" also matches the highest UID

    def metas(self, uids: Sequence[int]) -> dict[int, MessageMeta]:
        with _translated("FETCH sizes"):
            data = self.client.fetch(list(uids), ["RFC822.SIZE", "INTERNALDATE"])
        return {int(uid): MessageMeta(int(d.get(b"RFC822.SIZE", 0)), d.get(b"INTERNALDATE")) for uid, d in data.items()}

    def bodies(self, uids: Sequence[int]) -> dict[int, bytes]:
        with _translated("FETCH bodies"):
            data = self.client.fetch(list(uids), ["BODY.PEEK[]"])
        return {int(uid): d[b"BODY[]"] for uid, d in data.items() if isinstance(d.get(b"BODY[]"), bytes)}

    def header(self, uid: int) -> bytes | None:
        with _translated("FETCH header"):
            data = self.client.fetch([uid], ["BODY.PEEK[HEADER]"])
        value = data.get(uid, {}).get(b"BODY[HEADER]")
        return value if isinstance(value, bytes) else None

    def body_in_parts(self, uid: int, chunk: int = PARTIAL_CHUNK,
                      heartbeat: Callable[[], None] | None = None) -> bytes | None:
        """A large message fetched a chunk at a time into one buffer (no list of pieces, no join)."""
        buf = io.BytesIO()
        offset = 0
        while True:
            if heartbeat is not None:
                heartbeat()
            with _translated("FETCH partial"):
                data = self.client.fetch([uid], [f"BODY.PEEK[]<{offset}.{chunk}>"])
            if uid not in data:
                return None  # expunged meanwhile
            piece = data[uid].get(f"BODY[]<{offset}>".encode())
            size = len(piece) if isinstance(piece, bytes) else 0
            if size:
                buf.write(piece)
            offset += size
            del data, piece
            if size < chunk:
                break
        return buf.getvalue()

    def close(self) -> None:
        try:
            self.client.logout()
        except (imaplib.IMAP4.error, OSError, EOFError):
            try:
                self.client.shutdown()
            except (OSError, EOFError):
                pass


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """Made once per process: loading the CA bundle costs tens of milliseconds."""
    return ssl.create_default_context()


def _connect(mailbox: MailboxSettings) -> IMAPClient:
    context = _tls_context() if mailbox.ssl or mailbox.starttls else None
    client = IMAPClient(mailbox.host, port=mailbox.port, ssl=mailbox.ssl, ssl_context=context if mailbox.ssl else None,
                        timeout=mailbox.timeout_seconds)
    client.normalise_times = False  # INTERNALDATE as an aware datetime
    if mailbox.starttls and not mailbox.ssl:
        client.starttls(context)
    return client


@contextmanager
def open_session(mailbox: MailboxSettings) -> Iterator[ImapSession]:
    """Connect and log in; the connection is closed on the way out, whatever happens."""
    with _translated("connect"):
        try:
            client = _connect(mailbox)
        except socket.gaierror as exc:
            raise MailConnectionLost(f"cannot resolve {mailbox.host}: {exc}") from None
    session = ImapSession(client)
    try:
        try:
            password = mailbox.resolve_password()
        except ValueError as exc:
            raise ConfigError(f"mailbox {mailbox.name}: {exc}") from None
        with _translated("LOGIN"):
            client.login(mailbox.username, password)
        yield session
    finally:
        session.close()
