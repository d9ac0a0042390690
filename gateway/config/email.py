"""Settings of company mailboxes (`[[email.mailboxes]]`)."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Folder = Literal["inbox", "sent"]
FOLDERS: tuple[Folder, ...] = ("inbox", "sent")


class MailboxSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    host: str = Field(min_length=1)
    port: int = Field(default=993, ge=1, le=65535)
    ssl: bool = True
    starttls: bool = False
    username: str = Field(min_length=1)
    password: str | None = None
    password_env: str | None = None  # name of an environment variable holding the password
    folders: list[Folder] = Field(default_factory=lambda: list(FOLDERS))
    poll_seconds: float = Field(default=60, gt=0)
    first_sync_days: int = Field(default=30, ge=0)
    source: str | None = None
    max_attachment_mb: float = Field(default=25, gt=0)
    max_message_mb: float = Field(default=50, gt=0)
    sent_folder: str | None = None  # the Sent folder's name when the server marks none and the usual names miss
    batch_size: int = Field(default=200, ge=1, le=5000)  # messages per FETCH of sizes; bodies go by batch_mb
    batch_mb: float = Field(default=8, gt=0)  # bodies fetched (and events stored) per round trip
    timeout_seconds: float = Field(default=60, gt=0)  # socket timeout for every IMAP read and write
    # replies from the page go out by SMTP; the login defaults to the IMAP one
    smtp_host: str | None = None  # unset: this mailbox cannot send replies
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_username: str | None = None
    smtp_password: str | None = None
    address: str | None = None  # the From of replies; default: the username when it is an address
    reply_max_attachment_mb: float = Field(default=10, gt=0)  # all files of one reply together

    @model_validator(mode="after")
    def _one_password(self) -> MailboxSettings:
        if self.password is None and self.password_env is None:
            raise ValueError("give password or password_env")
        return self

    @property
    def from_address(self) -> str | None:
        return self.address or (self.username if "@" in self.username else None)

    def smtp_login(self) -> tuple[str, str] | None:
        """(user, password) for SMTP AUTH; the IMAP login unless SMTP has its own; None for no AUTH."""
        if self.smtp_username is not None:
            return self.smtp_username, self.smtp_password or ""
        return self.username, self.resolve_password()

    def resolve_password(self) -> str:
        if self.password is not None:
            return self.password
        value = os.environ.get(self.password_env or "")
        if value is None:
            raise ValueError(f"environment variable {self.password_env} is not set")
        return value


class EmailSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mailboxes: list[MailboxSettings] = Field(default_factory=list)
    company_domains: list[str] = Field(default_factory=list)
    company_addresses: list[str] = Field(default_factory=list)
