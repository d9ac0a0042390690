"""Deals that move: stage, responsible, budget, name and tags changed under optimistic concurrency.

Every change raises the deal's `version` by one and is checked against the version the caller saw:
of two operators moving the same deal at once, one wins and the other gets `Conflict` with the deal as
it now is. Each change is written to the audit log (the deal's history); entering a won or lost stage
closes the deal, leaving it reopens it; a stage change queues the pipeline's triggers in the same
transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import Connection, insert, select, update

from gateway.config import Settings
from gateway.core.errors import Conflict, NotFound, PayloadError, PermissionDenied
from gateway.store import automation
from gateway.store.deal_list import deal_card
from gateway.store.schema import audit_log, deals, pipelines, stages, users

__all__ = ["Cause", "DealChange", "change_deal", "clean_tags", "deal_for_update", "record", "user_id_of"]

MAX_TAGS = 50


def clean_tags(tags: list[str]) -> list[str]:
    """Tags as stored: trimmed, without empties and repeats, in the order given."""
    out = list(dict.fromkeys(t.strip() for t in tags if t and t.strip()))
    if len(out) > MAX_TAGS or any(len(t) > 100 for t in out):
        raise PayloadError(f"tags: at most {MAX_TAGS}, each under 100 characters")
    return out


class DealChange(BaseModel):
    """What `PATCH /api/v1/deals/{id}` may change; `version` is the one the caller saw."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    stage: str | None = Field(default=None, min_length=1, max_length=255)
    pipeline: str | None = Field(default=None, min_length=1, max_length=255)
    responsible: str | None = Field(default=None, min_length=1, max_length=128)
    budget: float | None = Field(default=None, ge=0, le=1e15)
    name: str | None = Field(default=None, min_length=1, max_length=512)
    tags: list[str] | None = Field(default=None, max_length=MAX_TAGS)
    version: int | None = Field(default=None, ge=1)

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: list[str] | None) -> list[str] | None:
        return None if tags is None else clean_tags(tags)


@dataclass(frozen=True, slots=True)
class Cause:
    """Who changes a deal: a user, or a trigger (`chain`: the triggers whose actions led here, in order)."""

    by: str  # a user's name, or "trigger:<name>"
    user_id: int | None = None
    chain: tuple[str, ...] = ()
    own_only: bool = False  # an operator: changes only the deals they are responsible for


def record(conn: Connection, cause: Cause, action: str, now: datetime, *, deal_id: int | None = None,
           lead_id: int | None = None, **data: Any) -> None:
    """One line of the audit log (a deal's history is its lines)."""
    conn.execute(insert(audit_log).values(at=now, user_id=cause.user_id, action=action, deal_id=deal_id,
                                          lead_id=lead_id, data={"by": cause.by, **data}))


def deal_for_update(conn: Connection, deal_id: int) -> dict[str, Any]:
    q = select(deals).where(deals.c.id == deal_id)
    row = conn.execute(q.with_for_update() if conn.dialect.name == "postgresql" else q).mappings().first()
    if row is None:
        raise NotFound("no such deal")
    return dict(row)


def user_id_of(conn: Connection, name: str, what: str = "responsible") -> int:
    found = conn.execute(select(users.c.id).where(users.c.name == name, users.c.disabled.is_(False))).scalar()
    if found is None:
        raise PayloadError(f"{what}: no active user {name!r}")
    return int(found)


def _stage(conn: Connection, row: dict[str, Any], change: DealChange) -> dict[str, Any] | None:
    """The stage asked for (in the pipeline asked for, or the deal's own); None when nothing moves."""
    if change.stage is None and change.pipeline is None:
        return None
    before = select(stages.c.name).where(stages.c.id == row["stage_id"]).scalar_subquery()
    q = select(stages.c.id, stages.c.name, stages.c.kind, stages.c.pipeline_id, pipelines.c.name.label("pipeline"),
               before.label("before")).join(pipelines, pipelines.c.id == stages.c.pipeline_id)
    q = q.where(pipelines.c.name == change.pipeline) if change.pipeline else q.where(
        stages.c.pipeline_id == row["pipeline_id"])
    q = q.where(stages.c.name == change.stage) if change.stage else q.where(stages.c.kind == "working")
    found = conn.execute(q.order_by(stages.c.position).limit(1)).mappings().first()
    if found is None:
        raise PayloadError(f"stage: no stage {change.stage!r} in that pipeline" if change.stage
                           else f"pipeline: no pipeline {change.pipeline!r} with a working stage")
    if found["kind"] == "unsorted":
        raise PayloadError("stage: a deal cannot go back to Unsorted")
    return dict(found) if found["id"] != row["stage_id"] else None


def _stage_values(row: dict[str, Any], stage: dict[str, Any], now: datetime) -> dict[str, Any]:
    status = {"won": "won", "lost": "lost"}.get(stage["kind"], "open")
    closed = row["closed_at"] if status != "open" and row["status"] == status else now if status != "open" else None
    return {"stage_id": stage["id"], "pipeline_id": stage["pipeline_id"], "status": status, "closed_at": closed}


def _name(conn: Connection, table: Any, row_id: int | None) -> str | None:
    return None if row_id is None else conn.execute(select(table.c.name).where(table.c.id == row_id)).scalar()


def _changes(conn: Connection, row: dict[str, Any], change: DealChange,
             now: datetime) -> tuple[dict[str, Any], list[tuple[str, Any, Any]], dict[str, Any] | None]:
    """(new column values, history lines (what, from, to), the stage entered)."""
    values: dict[str, Any] = {}
    lines: list[tuple[str, Any, Any]] = []
    stage = _stage(conn, row, change)
    if stage is not None:
        values.update(_stage_values(row, stage, now))
        lines.append(("stage", stage["before"], stage["name"]))
        if stage["pipeline_id"] != row["pipeline_id"]:
            lines.append(("pipeline", _name(conn, pipelines, row["pipeline_id"]), stage["pipeline"]))
    if change.responsible is not None:
        user_id = user_id_of(conn, change.responsible)
        if user_id != row["responsible_id"]:
            values["responsible_id"] = user_id
            lines.append(("responsible", _name(conn, users, row["responsible_id"]), change.responsible))
    fields = change.model_fields_set
    for key in ("budget", "name", "tags"):
        new = getattr(change, key)
        if key in fields and new != row[key] and (new is not None or key == "budget"):
            values[key] = new
            lines.append((key, row[key], new))
    return values, lines, stage


def change_deal(conn: Connection, deal_id: int, change: DealChange, cause: Cause, *, now: datetime,
                settings: Settings | None) -> dict[str, Any]:
    """Apply `change`; the deal as the list shows it now. `Conflict` (carrying that) when the version is stale."""
    row = deal_for_update(conn, deal_id)
    if cause.own_only and row["responsible_id"] != cause.user_id:
        raise PermissionDenied("operators change their own deals only")
    if change.version is not None and change.version != row["version"]:
        raise Conflict(f"the deal was changed meanwhile (now version {row['version']}); look again and retry",
                       deal=deal_card(conn, deal_id))
    values, lines, stage = _changes(conn, row, change, now)
    if values:
        version = row["version"] + 1
        done = conn.execute(update(deals).where(deals.c.id == deal_id, deals.c.version == row["version"])
                            .values(**values, version=version, updated_at=now))
        if done.rowcount != 1:  # cannot happen under the row lock; kept as the last line of defence
            raise Conflict("the deal was changed meanwhile; look again and retry", deal=deal_card(conn, deal_id))
        for what, before, after in lines:
            record(conn, cause, f"deal.{what}", now, deal_id=deal_id, before=before, after=after, version=version)
        if stage is not None and settings is not None:
            automation.stage_entered(conn, settings, deal_id, stage_id=stage["id"], version=version, now=now,
                                     chain=cause.chain, where=(stage["pipeline"], stage["name"]))
    return deal_card(conn, deal_id)
