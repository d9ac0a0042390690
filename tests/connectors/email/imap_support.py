"""Helpers for the mail tests: settings for a test mailbox, appending messages, the corpus."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from imap_dovecot import Account
from imapclient import IMAPClient

from gateway.config import Settings
from gateway.config.email import MailboxSettings

FIXTURES = Path(__file__).parents[2] / "fixtures" / "email"
NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def mailbox_settings(account: Account, **overrides: Any) -> MailboxSettings:
    values: dict[str, Any] = {
        "name": "sales", "host": account.host, "port": account.port, "ssl": False, "username": account.username,
        "password": account.password, "poll_seconds": 1, "first_sync_days": 30, "timeout_seconds": 10,
    }
    values.update(overrides)
    return MailboxSettings(**values)


def gateway_settings(*mailboxes: MailboxSettings, **email: Any) -> Settings:
    return Settings(config=Path("/nonexistent.toml"), email={"mailboxes": mailboxes, **email})


def appender(client: IMAPClient) -> Callable[..., int]:
    def append(raw: bytes, folder: str = "INBOX", when: datetime | None = None) -> int:
        response = client.append(folder, raw, flags=(), msg_time=when)
        return int(response.split(b"]")[0].split()[-1])  # [APPENDUID <validity> <uid>]
    return append


def corpus(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def message(n: int, *, sender: str = "client@customer.example", to: str = "sales@company.example",
            subject: str | None = None, body: str | None = None, message_id: str | None = "auto",
            date: str = "Thu, 29 Feb 2024 10:00:00 +0300") -> bytes:
    """A small plain-text mail; `message_id=None` leaves the header out."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject or f"Заявка {n}"
    msg["Date"] = date
    if message_id:
        msg["Message-ID"] = f"<msg-{n}@customer.example>" if message_id == "auto" else message_id
    msg.set_content(body or f"Здравствуйте! Письмо номер {n}.\n")
    return msg.as_bytes()


def large_message(payload: bytes, name: str = "каталог.bin", message_id: str = "large@client-company.ru") -> bytes:
    """A mail carrying `payload` as a base64 attachment (the 25 MB case is made at test time)."""
    encoded = base64.encodebytes(payload).replace(b"\n", b"\r\n")
    filename = "".join(f"%{b:02X}" for b in name.encode())
    return (
        b"From: anna@client-company.ru\r\nTo: sales@company.example\r\nSubject: Big file\r\n"
        b"Date: Mon, 26 Feb 2024 10:15:00 +0300\r\nMessage-ID: <" + message_id.encode() + b">\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b-large\"\r\n\r\n"
        b"--b-large\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nCatalogue attached.\r\n"
        b"--b-large\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
        b"Content-Disposition: attachment; filename*=utf-8''" + filename.encode() + b"\r\n\r\n"
        + encoded + b"--b-large--\r\n"
    )
