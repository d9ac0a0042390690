"""Settings of one site form (`[[forms]]`)."""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["LEAD_FIELDS", "FormSettings", "SourceRule", "source_by_rules"]

# what a form field may be mapped to (`fields = {"f_12" = "phone"}`); "ignore" drops a field
LEAD_FIELDS = frozenset({"name", "first_name", "last_name", "phone", "email", "text", "message", "company",
                         "position", "budget", "subject", "page", "referrer", "ignore"})


class SourceRule(BaseModel):
    """Chooses a source from the UTM tags; patterns are case-insensitive globs (`yandex*`)."""

    model_config = ConfigDict(extra="forbid")

    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    source: str = Field(min_length=1)

    def matches(self, utm: Mapping[str, str]) -> bool:
        """A rule with at least one pattern whose every pattern matches its tag."""
        tags = (("utm_source", self.utm_source), ("utm_medium", self.utm_medium), ("utm_campaign", self.utm_campaign))
        return any(pattern for _, pattern in tags) and all(
            pattern is None or _glob(utm.get(tag), pattern) for tag, pattern in tags)


def _glob(value: str | None, pattern: str) -> bool:
    return value is not None and fnmatch.fnmatchcase(value.casefold(), pattern.casefold())


def source_by_rules(rules: Sequence[SourceRule], utm: Mapping[str, str]) -> str | None:
    """The first matching rule's source (None when none matches)."""
    return next((rule.source for rule in rules if rule.matches(utm)), None)


class FormSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str | None = None
    secret: str | None = None
    pipeline: str | None = None
    stage: str | None = None
    source: str | None = None  # the source when no `source_rules` entry matches (default: name, then id)
    source_rules: list[SourceRule] = Field(default_factory=list)  # first match wins
    max_upload_mb: float = Field(default=20, gt=0)
    max_files: int = Field(default=10, ge=0)
    allowed_types: list[str] = Field(
        default_factory=lambda: ["image/*", "application/pdf", "text/plain", "application/zip",
                                 "application/msword", "application/vnd.openxmlformats-officedocument.*",
                                 "application/vnd.ms-excel", "application/vnd.oasis.opendocument.*"]
    )
    allowed_origins: list[str] = Field(default_factory=list)
    thank_you_url: str | None = None
    fields: dict[str, str] = Field(default_factory=dict)  # form field -> lead field
    honeypot_field: str = "_hp"
    timestamp_field: str = "_ts"
    min_fill_seconds: float = 3
    rate_limit_per_minute: int = 30
    dedupe_minutes: float = 5

    @field_validator("fields")
    @classmethod
    def _known_lead_fields(cls, fields: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(fields.values()) - LEAD_FIELDS)
        if unknown:
            raise ValueError(f"unknown lead field {unknown[0]!r}; use one of {', '.join(sorted(LEAD_FIELDS))}")
        return fields

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * (1 << 20))
