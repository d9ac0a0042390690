"""What operators mark by hand on leads and deals: tags, and a lead that turned out non-target."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Connection, select, update

from gateway.config import Settings
from gateway.store.deals import Cause, DealChange, change_deal, clean_tags, deal_for_update, record
from gateway.store.schema import leads
from gateway.store.triage import lead_row

__all__ = ["NonTargetRequest", "TagChange", "mark_non_target", "retag", "tag_deal", "tag_lead"]


class TagChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    add: list[str] = Field(default_factory=list, max_length=50)
    remove: list[str] = Field(default_factory=list, max_length=50)

    @field_validator("add", "remove")
    @classmethod
    def _clean(cls, tags: list[str]) -> list[str]:
        return clean_tags(tags)


class NonTargetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str | None = Field(default=None, max_length=1000)


def retag(current: list[str] | None, change: TagChange) -> list[str]:
    """The tags after adding and removing (a tag both added and removed is removed)."""
    removed = set(change.remove)
    return clean_tags([t for t in [*(current or []), *change.add] if t not in removed])


def tag_lead(conn: Connection, lead_id: int, change: TagChange, cause: Cause, *, now: datetime) -> list[str]:
    lead = lead_row(conn, lead_id)
    tags = retag(lead["tags"], change)
    if tags != (lead["tags"] or []):
        conn.execute(update(leads).where(leads.c.id == lead_id).values(tags=tags, updated_at=now))
        record(conn, cause, "lead.tags", now, lead_id=lead_id, before=lead["tags"] or [], after=tags)
    return tags


def tag_deal(conn: Connection, deal_id: int, change: TagChange, cause: Cause, *, now: datetime,
             settings: Settings | None) -> dict[str, Any]:
    row = deal_for_update(conn, deal_id)
    return change_deal(conn, deal_id, DealChange(tags=retag(row["tags"], change)), cause, now=now, settings=settings)


def mark_non_target(conn: Connection, lead_id: int, req: NonTargetRequest, cause: Cause, *,
                    now: datetime) -> dict[str, Any]:
    """Any lead (one already in a deal too) becomes non-target by hand; it leaves the statistics of targets."""
    lead = lead_row(conn, lead_id)
    reason = req.reason or "marked by hand"
    if lead["quality"] != "non_target" or lead["non_target_reason"] != reason:
        conn.execute(update(leads).where(leads.c.id == lead_id).values(
            quality="non_target", non_target_reason=reason, updated_at=now))
        record(conn, cause, "lead.non_target", now, lead_id=lead_id, deal_id=lead["deal_id"],
               before=lead["quality"], reason=reason)
    return dict(conn.execute(select(leads.c.id, leads.c.quality, leads.c.non_target_reason)
                             .where(leads.c.id == lead_id)).mappings().one())
