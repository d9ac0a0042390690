"""Settings of one Bitrix24 portal (`[[sinks.bitrix24]]`), reached through an incoming webhook."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from gateway.sinks.settings import SinkSettings

__all__ = ["DEFAULT_SOURCES", "Bitrix24Settings"]

# Our channel -> Bitrix24's default SOURCE_ID values (crm.status.list, ENTITY_ID=SOURCE)
DEFAULT_SOURCES = {"mango": "CALL", "imap": "EMAIL", "forms": "WEB", "telegram": "OTHER", "vk": "OTHER",
                   "whatsapp": "OTHER", "manual": "OTHER"}


class Bitrix24Settings(SinkSettings):
    webhook_url: str = Field(pattern=r"^https?://.+/$")  # https://portal.bitrix24.ru/rest/1/abc123def/
    known_contact: Literal["lead", "comment"] = "lead"  # a known person: a lead on their contact, or a comment
    sources: dict[str, str] = Field(default_factory=dict)  # our channel -> SOURCE_ID, over DEFAULT_SOURCES
    assigned_by_id: int | None = None  # the responsible user of new leads (default: the webhook's user)
    responsible: dict[str, int] = Field(default_factory=dict)  # our user name -> Bitrix24 user id
    rate_per_second: float | None = Field(default=2, gt=0)  # the cloud's leaky bucket drains 2 a second

    @field_validator("webhook_url")
    @classmethod
    def _no_method(cls, url: str) -> str:
        if url.rstrip("/").endswith(".json"):
            raise ValueError("give the webhook's address without a method, ending in /")
        return url

    def source_id(self, channel: str) -> str:
        return self.sources.get(channel) or DEFAULT_SOURCES.get(channel, "OTHER")

    def portal(self) -> str:
        """https://portal.bitrix24.ru, for links to records."""
        head, _, _ = self.webhook_url.partition("/rest/")
        return head.rstrip("/")
