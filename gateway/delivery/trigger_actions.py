"""One trigger run, decided and (for what stays in the store) done in one transaction.

Before acting, a run checks that its trigger is still configured, that it is not a loop, that a delayed
run's deal is still in the stage it entered, the trigger's conditions, and its working hours (outside
them it waits without using an attempt). Store actions (a task, tags, the responsible, the stage) are
applied in the same transaction that marks the run applied, so a run performed twice acts once; a webhook
becomes one `webhook` job keyed by the run, and so does a mail (`mail.reply`); a chat message is handed back to
the performer to send.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, desc, select, update

from gateway.config import Settings, TriggerSettings
from gateway.config.pipelines import CREATED
from gateway.core.automation import DealFacts, WorkingHours, next_in_turn, unmet_condition
from gateway.core.errors import Conflict, PayloadError
from gateway.core.jobs import Dead, Done, Job, JobOutcome, Retry
from gateway.delivery.replies import replied_in_store
from gateway.store.deals import Cause, DealChange, change_deal, user_id_of
from gateway.store.dialect import insert_ignore
from gateway.store.marks import TagChange, tag_deal
from gateway.store.outbox import enqueue_job
from gateway.store.schema import counters, deals, leads, outbox, sources, stages, users
from gateway.store.tasks import create_task
from gateway.store.views import deal_json

__all__ = ["SendMessage", "mark_applied", "run_trigger"]

Result = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SendMessage:
    """What a message run leaves to the performer: answer this lead through its own channel."""

    lead_id: int
    text: str
    author: str


def mark_applied(conn: Connection, job_id: str, state: dict[str, Any], result: Result) -> None:
    conn.execute(update(outbox).where(outbox.c.id == job_id).values(state={**state, "applied": result}))


def _facts(conn: Connection, deal: dict[str, Any]) -> DealFacts:
    first = conn.execute(select(sources.c.name, leads.c.channel).select_from(
        leads.outerjoin(sources, sources.c.id == leads.c.source_id)).where(leads.c.deal_id == deal["id"])
        .order_by(leads.c.received_at, leads.c.id).limit(1)).first()
    return DealFacts(source=first[0] if first else None, channel=first[1] if first else None,
                     tags=deal["tags"] or [], budget=deal["budget"])


def _not_now(conn: Connection, settings: Settings, trigger: TriggerSettings, job: Job, deal: dict[str, Any],
             now: datetime) -> JobOutcome | None:
    """Why this run does not act (a stop, a skip, a wait), or None when it acts now."""
    if loop := job.payload.get("loop"):
        return Dead("stopped: the triggers would move the deal in a circle: " + " → ".join(loop))
    if trigger.on != CREATED and trigger.delay_minutes:
        stage = conn.execute(select(stages.c.name).where(stages.c.id == deal["stage_id"])).scalar()
        if stage != job.payload.get("stage"):
            return Done({"skipped": "left_stage", "stage": stage})
    unmet = unmet_condition(trigger.when, _facts(conn, deal))
    if unmet is not None:
        return Done({"skipped": "condition", "condition": unmet[0], "found": unmet[1]})
    if trigger.when.working_hours:
        wait = WorkingHours.parse(trigger.when.working_hours).wait(now.astimezone(ZoneInfo(settings.timezone)))
        if wait > timedelta(0):
            return Retry(f"waiting for working hours ({trigger.when.working_hours})", after=wait.total_seconds(),
                         count=False)
    return None


def run_trigger(conn: Connection, job: Job, settings: Settings, now: datetime) -> JobOutcome | SendMessage:
    """Decide the run and do its store part; what the runner records, or a message left to send."""
    found = settings.trigger(job.target)
    if found is None:
        return Dead("the trigger is no longer in the settings")
    if "applied" in job.state:
        return Done(job.state["applied"])
    trigger = found[1]
    deal = conn.execute(select(deals).where(deals.c.id == job.deal_id)).mappings().first()
    if deal is None:
        return Dead("the deal no longer exists")
    held = _not_now(conn, settings, trigger, job, dict(deal), now)
    if held is not None:
        return held
    cause = Cause(by=f"trigger:{trigger.name}", chain=(*job.payload.get("chain", ()), trigger.name))
    done = ACTIONS[trigger.action](conn, settings, trigger, job, dict(deal), cause, now)
    if isinstance(done, dict):
        mark_applied(conn, job.id, dict(job.state), done)
        return Done(done)
    return done


# --- the actions ---------------------------------------------------------------------------------------
def _webhook(conn: Connection, settings: Settings, t: TriggerSettings, job: Job, deal: dict[str, Any],
             cause: Cause, now: datetime) -> Result:
    body = {"type": t.event_type, "timestamp": now.isoformat(), "trigger": t.name, "deal": deal_json(conn, deal["id"])}
    key = f"trigger-run:{job.id}"
    delivery = enqueue_job(conn, kind="webhook", target=t.url or "", key=key, event_type=t.event_type, payload=body,
                           deal_id=deal["id"], now=now) or conn.execute(
        select(outbox.c.id).where(outbox.c.kind == "webhook", outbox.c.key == key)).scalar()
    return {"action": "webhook", "delivery": delivery}


def _task(conn: Connection, settings: Settings, t: TriggerSettings, job: Job, deal: dict[str, Any],
          cause: Cause, now: datetime) -> Result | JobOutcome:
    try:
        responsible = user_id_of(conn, t.responsible) if t.responsible else deal["responsible_id"]
    except PayloadError as exc:  # the trigger names a user who left
        return Dead(exc.message)
    task_id = create_task(conn, key=f"trigger-run:{job.id}", text=t.text or "", created_by=cause.by, now=now,
                          due_at=now + timedelta(minutes=t.due_minutes), responsible_id=responsible,
                          deal_id=deal["id"])
    return {"action": "task", "task_id": task_id}


def _tag(conn: Connection, settings: Settings, t: TriggerSettings, job: Job, deal: dict[str, Any],
         cause: Cause, now: datetime) -> Result:
    after = tag_deal(conn, deal["id"], TagChange(add=t.add, remove=t.remove), cause, now=now, settings=settings)
    return {"action": "tag", "tags": after["tags"]}


def _turn(conn: Connection, name: str) -> int:
    """The next turn of a named round-robin (1, 2, 3...), counted in the store."""
    conn.execute(insert_ignore(conn, counters, ["name"]).values(name=name, value=0))
    return int(conn.execute(update(counters).where(counters.c.name == name).values(value=counters.c.value + 1)
                            .returning(counters.c.value)).scalar_one())


def _responsible(conn: Connection, settings: Settings, t: TriggerSettings, job: Job, deal: dict[str, Any],
                 cause: Cause, now: datetime) -> Result | JobOutcome:
    names = [t.user] if t.user else t.round_robin
    active: set[str] = set(conn.execute(select(users.c.name).where(users.c.name.in_(names),
                                                                   users.c.disabled.is_(False))).scalars())
    chosen = next_in_turn(names, _turn(conn, f"round_robin:{t.name}") if t.round_robin else 1, active)
    if chosen is None:
        return Dead(f"no active user among {', '.join(names)}")
    after = change_deal(conn, deal["id"], DealChange(responsible=chosen), cause, now=now, settings=settings)
    return {"action": "responsible", "responsible": after["responsible"]}


def _stage(conn: Connection, settings: Settings, t: TriggerSettings, job: Job, deal: dict[str, Any],
           cause: Cause, now: datetime) -> Result:
    after = change_deal(conn, deal["id"], DealChange(stage=t.to), cause, now=now, settings=settings)
    return {"action": "stage", "stage": after["stage"], "version": after["version"]}


def _message(conn: Connection, settings: Settings, t: TriggerSettings, job: Job, deal: dict[str, Any],
             cause: Cause, now: datetime) -> Result | SendMessage | JobOutcome:
    """To the deal's newest incoming lead with a channel to answer through: a mail queued in this transaction,
    a chat left to the performer to send."""
    lead = conn.execute(select(leads).where(
        leads.c.deal_id == deal["id"], leads.c.direction == "in",
        (leads.c.conversation_key.is_not(None)) | (leads.c.kind == "mail"),
    ).order_by(desc(leads.c.received_at), desc(leads.c.id)).limit(1)).mappings().first()
    if lead is None:
        return Dead("the deal has no chat or mail lead to answer through")
    try:
        queued = replied_in_store(conn, settings, dict(lead), t.text or "", now=now, author=cause.by)
    except Conflict as exc:  # a mailbox that cannot send
        return Dead(exc.message)
    if queued is None:
        return SendMessage(int(lead["id"]), t.text or "", cause.by)
    return {"action": "message", "lead_id": lead["id"], "message_id": queued["id"], "mail": queued["job"]}


Action = Callable[[Connection, Settings, TriggerSettings, Job, dict[str, Any], Cause, datetime],
                  Result | JobOutcome | SendMessage]
ACTIONS: dict[str, Action] = {"webhook": _webhook, "task": _task, "tag": _tag, "responsible": _responsible,
                              "stage": _stage, "message": _message}
