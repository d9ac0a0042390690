"""The `[sinks]` section: every amoCRM account and Bitrix24 portal, and how remote CRMs reach our files."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway.sinks.amocrm.settings import AmoCrmSettings
from gateway.sinks.bitrix24.settings import Bitrix24Settings

__all__ = ["SinksSettings"]


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
