"""Trigger runs decided where the deal changed: one outbox job of kind `trigger` per trigger that applies.

A run's idempotency key names the trigger, the deal and the change ("hot-lead, deal 42, entered stage
7 at version 8"), so a replayed or repeated change adds nothing; a delay is the job's `not_before`. The
run carries the chain of triggers that led to it: one that would set itself off again is stored with
the circle it makes, and its performer stops it with that record instead of acting.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select

from gateway.config import Settings, TriggerSettings
from gateway.config.pipelines import CREATED
from gateway.core.automation import loop_of
from gateway.store.outbox import enqueue_job
from gateway.store.schema import deals, pipelines, stages

__all__ = ["TRIGGER", "deal_created", "stage_entered"]

TRIGGER = "trigger"


def _where(conn: Connection, deal_id: int, stage_id: int | None = None) -> tuple[str, str, int] | None:
    """(pipeline name, stage name, stage id) of the deal (or of `stage_id`)."""
    q = select(pipelines.c.name, stages.c.name, stages.c.id).join(stages, stages.c.pipeline_id == pipelines.c.id)
    q = q.where(stages.c.id == stage_id) if stage_id is not None else q.join(
        deals, deals.c.stage_id == stages.c.id).where(deals.c.id == deal_id)
    row = conn.execute(q).first()
    return None if row is None else (row[0], row[1], int(row[2]))


def _triggers(settings: Settings, pipeline: str, on: str) -> list[TriggerSettings]:
    return next((p.triggers_on(on) for p in settings.pipelines if p.name == pipeline), [])


def _enqueue(conn: Connection, trigger: TriggerSettings, deal_id: int, key: str, *, stage: str, now: datetime,
             chain: Sequence[str]) -> str | None:
    payload: dict[str, Any] = {"trigger": trigger.name, "on": trigger.on, "stage": stage, "chain": list(chain)}
    loop = loop_of(chain, trigger.name)
    if loop is not None:
        payload["loop"] = loop
    return enqueue_job(conn, kind=TRIGGER, target=trigger.name, key=key, event_type=trigger.event_type,
                       payload=payload, deal_id=deal_id, now=now,
                       not_before=now + timedelta(minutes=trigger.delay_minutes) if loop is None else now)


def stage_entered(conn: Connection, settings: Settings, deal_id: int, *, stage_id: int, version: int,
                  now: datetime, chain: Sequence[str] = (), where: tuple[str, str] | None = None) -> list[str]:
    """The deal entered a stage (moved there, or created there): the stage's triggers; their job ids.

    `where`: the (pipeline, stage) names when the caller knows them already."""
    if not settings.all_triggers():
        return []
    found = where or _where(conn, deal_id, stage_id)
    if found is None:
        return []
    pipeline, stage = found[0], found[1]
    return [job for t in _triggers(settings, pipeline, stage)
            if (job := _enqueue(conn, t, deal_id, f"{t.name}:deal:{deal_id}:stage:{stage_id}:v{version}",
                                stage=stage, now=now, chain=chain)) is not None]


def deal_created(conn: Connection, settings: Settings, deal_id: int, *, now: datetime) -> list[str]:
    """A deal was created: its pipeline's "created" triggers and those of the stage it was created in."""
    if not settings.all_triggers():
        return []
    where = _where(conn, deal_id)
    if where is None:
        return []
    pipeline, stage, stage_id = where
    created = [job for t in _triggers(settings, pipeline, CREATED)
               if (job := _enqueue(conn, t, deal_id, f"{t.name}:deal:{deal_id}:created", stage=stage, now=now,
                                   chain=())) is not None]
    return created + stage_entered(conn, settings, deal_id, stage_id=stage_id, version=1, now=now,
                                   where=(pipeline, stage))
