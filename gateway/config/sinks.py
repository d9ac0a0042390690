"""The `[sinks]` section: the amoCRM accounts and Bitrix24 portals leads are handed on to, and links to our files."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["CHANNELS", "DEFAULT_SOURCES", "AmoCrmSettings", "Bitrix24Settings", "SinkSettings", "SinksSettings"]

CHANNELS = ("mango", "imap", "forms", "telegram", "vk", "whatsapp", "manual")


class SinkSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=24, pattern=r"^[A-Za-z0-9_.-]+$")
    channels: list[str] = Field(default_factory=lambda: list(CHANNELS))  # default: every channel
    pipelines: list[str] = Field(default_factory=list)  # our pipelines whose leads go there; empty: all
    directions: list[str] = Field(default_factory=lambda: ["in"])  # outgoing calls stay here unless named
    include_non_target: bool = False  # spam, auto-replies, short calls: not sent unless asked
    concurrency: int = Field(default=8, ge=1, le=256)  # deliveries in flight per process
    rate_per_second: float | None = Field(default=None, gt=0)  # requests a second per process; None: the sink's own
    delays: list[float] = Field(  # the wait after the 1st, 2nd... failed attempt; then the delivery is dead
        default_factory=lambda: [10.0, 60.0, 300.0, 1800.0, 3600.0, 7200.0, 21600.0, 43200.0])


class AmoCrmSettings(SinkSettings):
    base_url: str = Field(pattern=r"^https?://")  # the account's address, e.g. https://example.amocrm.ru
    token: str | None = None  # a long-lived token; or the OAuth integration below
    client_id: str | None = None
    client_secret: str | None = None
    redirect_uri: str | None = None
    refresh_token: str | None = None  # the first one; refreshed tokens are kept in the store
    pipeline_id: int | None = None  # the amoCRM pipeline for Unsorted items (default: the main one)
    stages: dict[str, int] = Field(default_factory=dict)  # our stage name -> amoCRM status_id, for leads/complex
    responsible: dict[str, int] = Field(default_factory=dict)  # our user name -> amoCRM user id
    source_name: str = "Lead Gateway"
    service_code: str = "lead_gateway"  # the `service_code` of call items
    rate_per_second: float | None = Field(default=7, gt=0)  # amoCRM allows 7 requests a second per account

    @model_validator(mode="after")
    def _one_way_in(self) -> AmoCrmSettings:
        oauth = (self.client_id, self.client_secret, self.redirect_uri, self.refresh_token)
        if self.token is None and not all(oauth):
            raise ValueError("give token, or client_id, client_secret, redirect_uri and refresh_token")
        return self

    @property
    def oauth(self) -> bool:
        return self.client_id is not None and self.refresh_token is not None

    def root(self) -> str:
        return self.base_url.rstrip("/")


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


class SinksSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amocrm: list[AmoCrmSettings] = Field(default_factory=list)
    bitrix24: list[Bitrix24Settings] = Field(default_factory=list)
    public_url: str | None = Field(default=None, pattern=r"^https?://")  # the gateway's address seen from outside
    link_secret: str | None = Field(default=None, min_length=16)  # signs the files' links sent to a sink
    link_days: float = Field(default=30, gt=0)  # how long such a link works

    @model_validator(mode="after")
    def _checks(self) -> SinksSettings:
        names = [s.name for s in (*self.amocrm, *self.bitrix24)]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"sinks: the name {name!r} appears twice")
        if self.public_url and not self.link_secret:
            raise ValueError("sinks.link_secret: needed with public_url (it signs the files' links)")
        return self

    @property
    def all(self) -> list[AmoCrmSettings | Bitrix24Settings]:
        return [*self.amocrm, *self.bitrix24]

    def named(self, name: str) -> AmoCrmSettings | Bitrix24Settings | None:
        return next((s for s in self.all if s.name == name), None)
