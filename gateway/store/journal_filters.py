"""The journal's filters: query parameters of `GET /api/v1/leads` (and of the export and the reports)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Literal

from pydantic import Field, field_validator

from gateway.core.models import Channel, Direction, Kind, LeadStatus, Quality
from gateway.store.query_filters import QueryFilters

__all__ = ["JournalFilters"]

_KNOWN: dict[str, set[str]] = {
    "channel": {c.value for c in Channel}, "kind": {k.value for k in Kind},
    "direction": {d.value for d in Direction}, "status": {s.value for s in LeadStatus},
    "quality": {q.value for q in Quality} | {"unsorted"},
}


class JournalFilters(QueryFilters):
    """Query parameters of `GET /api/v1/leads` (and of the export and the reports)."""

    from_: date | datetime | None = Field(default=None, alias="from")
    to: date | datetime | None = None
    by: Literal["received", "taken"] = "received"  # which day the period means
    channel: list[str] = Field(default_factory=list)
    kind: list[str] = Field(default_factory=list)
    quality: list[str] = Field(default_factory=list)
    status: list[str] = Field(default_factory=list)
    source: list[str] = Field(default_factory=list)
    source_group: list[str] = Field(default_factory=list)
    manager: list[str] = Field(default_factory=list)
    department: list[str] = Field(default_factory=list)
    include_dismissed: bool = False
    direction: list[str] = Field(default_factory=list)
    pipeline: list[str] = Field(default_factory=list)
    stage: list[str] = Field(default_factory=list)
    tag: list[str] = Field(default_factory=list)
    advertising: bool | None = None
    needs_callback: bool | None = None
    contact_id: int | None = None
    visible_to: int | None = Field(default=None, exclude=True)  # an operator's id: Unsorted and their own leads
    q: str | None = Field(default=None, max_length=200)
    sort: Literal["received", "score"] = "received"
    manager_mode: Literal["taken", "responsible"] = "taken"

    @field_validator("channel", "kind", "quality", "status", "direction")
    @classmethod
    def _known(cls, values: list[str], info: Any) -> list[str]:
        unknown = sorted(set(values) - _KNOWN[info.field_name])
        if unknown:
            raise ValueError(f"{info.field_name}: unknown value {unknown[0]!r}")
        return values

    @classmethod
    def from_query(cls, query: Mapping[str, str] | Any, settings: Any = None) -> JournalFilters:
        """Filters from query parameters (repeated or comma-separated); settings give defaults and the time zone."""
        data = cls.query_data(query)
        if not data.get("manager_mode"):
            data.pop("manager_mode", None)
            if settings is not None:
                data["manager_mode"] = settings.access.journal_manager
        return cls.validated(data, settings)
