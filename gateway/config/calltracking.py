"""Settings of dynamic call tracking (`[calltracking]`, `[[calltracking.sites]]`)."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gateway.config.forms import SourceRule

__all__ = ["CallTrackingSettings", "SiteSettings"]

_DIGITS = re.compile(r"\D")


def _number(value: str) -> str:
    digits = _DIGITS.sub("", value)
    if len(digits) < 5:
        raise ValueError(f"{value!r} is not a phone number; write it as digits, 74951110001")
    return digits


class SiteSettings(BaseModel):
    """One site whose visitors are shown numbers from its pool."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    domains: list[str] = Field(min_length=1)  # the hosts whose pages may ask for a number (CORS)
    default_number: str  # shown when the pool is exhausted, to bots, and when the script cannot reach us
    pool: list[str] = Field(min_length=1)  # Mango lines reserved for this site
    hold_minutes: float = Field(default=20, gt=0)  # a number stays with a visitor this long after their last sign
    selector: str = ".phone"  # where the page shows the number
    heartbeat_seconds: float = Field(default=60, gt=0)  # how often an open, visible page says it is still there
    source: str | None = None  # a matched call's source when no `source_rules` entry matches (default: the line's)
    source_rules: list[SourceRule] = Field(default_factory=list)  # as a form's; the first match wins

    @field_validator("domains")
    @classmethod
    def _hosts(cls, domains: list[str]) -> list[str]:
        return [d.strip().lower().rstrip(".") for d in domains if d.strip()]

    @field_validator("default_number")
    @classmethod
    def _default(cls, value: str) -> str:
        return _number(value)

    @field_validator("pool")
    @classmethod
    def _pool(cls, pool: list[str]) -> list[str]:
        numbers = [_number(n) for n in pool]
        if len(set(numbers)) != len(numbers):
            raise ValueError("a number appears twice in the pool")
        return numbers

    @model_validator(mode="after")
    def _hold_outlasts_heartbeat(self) -> SiteSettings:
        if self.hold_minutes * 60 <= self.heartbeat_seconds:
            raise ValueError("hold_minutes must be longer than heartbeat_seconds, or an open page loses its number")
        return self


class CallTrackingSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sites: list[SiteSettings] = Field(default_factory=list)
    retention_days: float = Field(default=90, gt=0)  # visits older than this are deleted
    visitor_per_minute: int = Field(default=30, ge=1)  # session requests and heartbeats one visitor may make
    address_per_minute: int = Field(default=300, ge=1)  # ...and one IP address (an office shares one)
    ambiguous_seconds: float = Field(default=60, ge=0)  # a number that changed hands this soon before a call

    @model_validator(mode="after")
    def _distinct(self) -> CallTrackingSettings:
        ids = [s.id for s in self.sites]
        if len(set(ids)) != len(ids):
            raise ValueError("sites: an id appears twice")
        numbers = [n for s in self.sites for n in s.pool]
        if len(set(numbers)) != len(numbers):
            raise ValueError("sites: a pool number belongs to two sites")
        return self

    def site(self, site_id: str) -> SiteSettings | None:
        return next((s for s in self.sites if s.id == site_id), None)

    def site_of_number(self, number: str) -> SiteSettings | None:
        digits = _DIGITS.sub("", number)
        return next((s for s in self.sites if digits in s.pool), None)
