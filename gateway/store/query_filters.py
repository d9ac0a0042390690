"""What the journal's and the deal list's filters share: reading query parameters, sane values, a time zone."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, tzinfo
from typing import Any, Self
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError, field_validator

from gateway.core.errors import PayloadError

__all__ = ["QueryFilters"]


class QueryFilters(BaseModel):
    """Filters from query parameters: list fields take repeated or comma-separated values."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    _tz: tzinfo = PrivateAttr(default=UTC)

    @field_validator("from_", "to", check_fields=False)
    @classmethod
    def _sane_date(cls, value: date | datetime | None) -> date | datetime | None:
        if value is not None and not 1900 <= value.year <= 9000:
            raise ValueError("a date between the years 1900 and 9000 is expected")
        return value

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(t, str) and ("\x00" in t or len(t) > 500) for t in texts):
            raise ValueError("a text without NUL characters, under 500 characters, is expected")
        return value

    @classmethod
    def query_data(cls, query: Mapping[str, str] | Any) -> dict[str, Any]:
        """The parameters as field values (lists split on commas, single values the last one given)."""
        multi = {n for n, f in cls.model_fields.items() if f.annotation == list[str]}
        data: dict[str, Any] = {}
        for key in set(query.keys()):
            values = query.getall(key) if hasattr(query, "getall") else [query[key]]
            data[key] = [v.strip() for raw in values for v in str(raw).split(",") if v.strip()] if key in multi \
                else values[-1]
        return data

    @classmethod
    def validated(cls, data: dict[str, Any], settings: Any = None) -> Self:
        """The filters, or PayloadError naming the bad one; the settings give the company's time zone."""
        try:
            f = cls.model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"])
            raise PayloadError(f"bad filter {where}: {err['msg'].removeprefix('Value error, ')}") from None
        if settings is not None:
            f._tz = ZoneInfo(settings.timezone)
        return f

    @property
    def tz(self) -> tzinfo:
        return self._tz
