"""Operators' decisions on leads: accept, decline, link, merge contacts.

Each decision is one transaction. The first decision on a lead is taken by a conditional
`UPDATE ... WHERE status IN (...)`: of two operators acting at once one wins, the other gets
`Conflict` with who took it and when. Repeating one's own decision answers the same result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool
from sqlalchemy import Connection, insert, select, update

from gateway.core.errors import Conflict, NotFound, PayloadError, PermissionDenied
from gateway.core.ids import Id
from gateway.store import automation, outbox
from gateway.store.crm import CrmRepo
from gateway.store.dialect import insert_ignore
from gateway.store.schema import (
    audit_log,
    blocklist,
    contacts,
    deals,
    identities,
    leads,
    pipelines,
    sources,
    stages,
    users,
)
from gateway.store.views import iso, lead_json

__all__ = ["AcceptRequest", "Actor", "DeclineRequest", "LinkRequest", "accept", "audit", "check_operator", "decline",
           "emit", "lead_row", "link"]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AcceptRequest(_Body):
    pipeline: str | None = Field(default=None, max_length=255)
    stage: str | None = Field(default=None, max_length=255)
    responsible: str | None = Field(default=None, max_length=128)


class DeclineRequest(_Body):
    reason: str | None = Field(default=None, max_length=1000)
    block: StrictBool = False  # JSON true or false, as the document says (not 0 or "yes")


class LinkRequest(_Body):
    deal_id: Id


@dataclass(frozen=True, slots=True)
class Actor:
    id: int
    name: str
    role: str

    @classmethod
    def of(cls, user: dict[str, Any]) -> Actor:
        return cls(int(user["id"]), str(user["name"]), str(user["role"]))


def lead_row(conn: Connection, lead_id: int) -> dict[str, Any]:
    row = conn.execute(select(leads).where(leads.c.id == lead_id)).mappings().first()
    if row is None:
        raise NotFound("no such lead")
    return dict(row)


def _user_name(conn: Connection, user_id: int | None) -> str | None:
    if user_id is None:
        return None
    return conn.execute(select(users.c.name).where(users.c.id == user_id)).scalar()


def _claim(conn: Connection, lead_id: int, actor: Actor, status: str, now: datetime, *,
           from_statuses: tuple[str, ...] = ("unsorted",), same: Any = None) -> dict[str, Any] | None:
    """Take the lead for `status`; None when it is the actor's own earlier identical decision."""
    res = conn.execute(
        update(leads).where(leads.c.id == lead_id, leads.c.status.in_(from_statuses))
        .values(status=status, taken_by=actor.id, taken_at=now, updated_at=now)
    )
    if res.rowcount == 1:
        return lead_row(conn, lead_id)
    row = lead_row(conn, lead_id)
    if row["status"] == status and row["taken_by"] == actor.id and (same is None or same(row)):
        return None
    who = _user_name(conn, row["taken_by"])
    at = iso(row["taken_at"] or row["updated_at"])
    by = f" by {who}" if who else ""
    raise Conflict(f"lead {lead_id} is already {row['status']}{by} at {at}", taken_by=who, at=at)


def _result(conn: Connection, lead_id: int, *, repeated: bool) -> dict[str, Any]:
    lead = lead_json(conn, lead_id)
    assert lead is not None
    row = lead_row(conn, lead_id)
    return {"ok": True, "repeated": repeated, "lead": lead, "deal_id": row["deal_id"],
            "contact_id": row["contact_id"], "taken_by": _user_name(conn, row["taken_by"]),
            "taken_at": iso(row["taken_at"])}


def audit(conn: Connection, actor: Actor, action: str, now: datetime, *, lead_id: int | None = None,
          deal_id: int | None = None, contact_id: int | None = None, **data: Any) -> None:
    conn.execute(insert(audit_log).values(at=now, user_id=actor.id, action=action, lead_id=lead_id,
                                          deal_id=deal_id, contact_id=contact_id, data=data))


def emit(conn: Connection, settings: Any, event_type: str, *, now: datetime, lead_id: int | None = None,
         deal_id: int | None = None) -> None:
    """Queue an outbound webhook event in this transaction (nothing when no subscription wants it)."""
    if settings is None:
        return
    if deal_id is not None:
        outbox.deal_event(conn, settings, event_type, deal_id, now=now)
    elif lead_id is not None:
        outbox.lead_event(conn, settings, event_type, lead_id, now=now)


def check_operator(actor: Actor, lead: dict[str, Any]) -> None:
    """Operators act on Unsorted and on their own leads only."""
    if actor.role == "operator" and lead["status"] != "unsorted" and actor.id not in (lead["manager_id"],
                                                                                        lead["taken_by"]):
        raise PermissionDenied("operators act on Unsorted and their own leads")


# --- accept ---------------------------------------------------------------------------------
def _target_stage(conn: Connection, lead: dict[str, Any], req: AcceptRequest) -> tuple[int, int]:
    if req.pipeline:
        pipeline_id = conn.execute(select(pipelines.c.id).where(pipelines.c.name == req.pipeline)).scalar()
        if pipeline_id is None:
            raise PayloadError(f"pipeline: no pipeline named {req.pipeline!r}")
    else:
        pipeline_id = lead["pipeline_id"] or conn.execute(
            select(pipelines.c.id).order_by(pipelines.c.position, pipelines.c.id).limit(1)).scalar_one()
    q = select(stages.c.id, stages.c.kind).where(stages.c.pipeline_id == pipeline_id)
    if req.stage:
        row = conn.execute(q.where(stages.c.name == req.stage)).first()
        if row is None:
            raise PayloadError(f"stage: no stage {req.stage!r} in that pipeline")
        if row.kind == "unsorted":
            raise PayloadError("stage: a lead is accepted into a working stage, not Unsorted")
        return int(pipeline_id), int(row.id)
    row = conn.execute(q.where(stages.c.kind == "working").order_by(stages.c.position).limit(1)).first()
    if row is None:
        raise PayloadError("pipeline: it has no working stage")
    return int(pipeline_id), int(row.id)


def _responsible(conn: Connection, name: str | None, actor: Actor) -> int:
    if not name:
        return actor.id
    user_id = conn.execute(select(users.c.id).where(users.c.name == name, users.c.disabled.is_(False))).scalar()
    if user_id is None:
        raise PayloadError(f"responsible: no active user {name!r}")
    return int(user_id)


def _contact_for(conn: Connection, repo: CrmRepo, lead: dict[str, Any], now: datetime) -> int:
    """The lead's contact (the owner of its phone or e-mail, or a new one), filled from the lead."""
    idents = [(k, v) for k, v in (("phone", lead["phone"]), ("email", lead["email"])) if v]
    contact_id = lead["contact_id"] or next(iter(repo.find_contacts(idents)), None)
    if contact_id is None:
        contact_id = int(conn.execute(insert(contacts).values(
            name=lead["name"], created_at=now, updated_at=now).returning(contacts.c.id)).scalar_one())
    for kind, value in idents:  # an identity someone else already owns stays theirs
        conn.execute(insert_ignore(conn, identities, ["kind", "value"]).values(
            contact_id=contact_id, kind=kind, value=value, created_at=now))
    repo.fill_contact(contact_id, name=lead["name"], position=lead["position"])
    return int(contact_id)


def _advertising(conn: Connection, lead: dict[str, Any]) -> bool:
    """An outgoing call that got a deal counts as advertising (unless its source is marked not advertising)."""
    if lead["advertising"] or (lead["kind"], lead["direction"]) != ("call", "out"):
        return bool(lead["advertising"])
    source = conn.execute(select(sources.c.advertising).where(sources.c.id == lead["source_id"])).scalar() \
        if lead["source_id"] else None
    return source is not False


def accept(conn: Connection, lead_id: int, actor: Actor, req: AcceptRequest, *, now: datetime,
           settings: Any = None) -> dict[str, Any]:
    """Unsorted (or a contact's lead still without a deal) → a deal in the chosen pipeline, responsible set."""
    lead = lead_row(conn, lead_id)
    pipeline_id, stage_id = _target_stage(conn, lead, req)
    responsible_id = _responsible(conn, req.responsible, actor)
    dealless = lead["status"] == "attached" and lead["deal_id"] is None
    if dealless:
        check_operator(actor, lead)
    if _claim(conn, lead_id, actor, "accepted", now, from_statuses=("unsorted", "attached") if dealless
              else ("unsorted",)) is None:
        return _result(conn, lead_id, repeated=True)
    repo = CrmRepo(conn, now)
    contact_id = _contact_for(conn, repo, lead, now)
    company_id = repo.company_of(contact_id, lead["company"], lead["inn"]) if lead["company"] or lead["inn"] else None
    name = lead["name"] or lead["company"] or lead["phone"] or lead["email"] or lead["subject"] or f"Lead {lead_id}"
    deal_id = repo.create_deal(name=name, contact_id=contact_id, pipeline_id=pipeline_id, stage_id=stage_id,
                               responsible_id=responsible_id, budget=lead["budget"], company_id=company_id)
    conn.execute(update(leads).where(leads.c.id == lead_id).values(
        deal_id=deal_id, contact_id=contact_id, pipeline_id=pipeline_id, stage_id=stage_id,
        manager_id=lead["manager_id"] or actor.id, advertising=_advertising(conn, lead), updated_at=now))
    conn.execute(update(leads).where(  # the same person's leads that waited without a deal join it
        leads.c.contact_id == contact_id, leads.c.status == "attached", leads.c.deal_id.is_(None)
    ).values(deal_id=deal_id, updated_at=now))
    audit(conn, actor, "lead.accept", now, lead_id=lead_id, deal_id=deal_id, contact_id=contact_id,
          pipeline_id=pipeline_id, stage_id=stage_id, responsible_id=responsible_id)
    emit(conn, settings, "lead.accepted", now=now, lead_id=lead_id)
    emit(conn, settings, "deal.created", now=now, deal_id=deal_id)
    if settings is not None:
        automation.deal_created(conn, settings, deal_id, now=now)
    return _result(conn, lead_id, repeated=False)


# --- decline ----------------------------------------------------------------------------------
def decline(conn: Connection, lead_id: int, actor: Actor, req: DeclineRequest, *, now: datetime,
            settings: Any = None) -> dict[str, Any]:
    """Unsorted → non-target, status declined; `block` adds its phone and e-mail to the blocklist."""
    lead = lead_row(conn, lead_id)
    if _claim(conn, lead_id, actor, "declined", now) is None:
        return {**_result(conn, lead_id, repeated=True), "blocked": _blocked(conn, lead)}
    reason = req.reason or "declined"
    conn.execute(update(leads).where(leads.c.id == lead_id).values(
        quality="non_target", decline_reason=reason, non_target_reason=reason,
        manager_id=lead["manager_id"] or actor.id, updated_at=now))
    blocked = []
    if req.block:
        for kind, value in (("phone", lead["phone"]), ("email", lead["email"])):
            if value:
                conn.execute(insert_ignore(conn, blocklist, ["kind", "value"]).values(
                    kind=kind, value=value, reason=reason, created_by=actor.id, created_at=now))
                blocked.append(kind)
    audit(conn, actor, "lead.decline", now, lead_id=lead_id, contact_id=lead["contact_id"], reason=reason,
          blocked=blocked, was={k: lead[k] for k in ("quality", "non_target_reason", "manager_id")})
    emit(conn, settings, "lead.declined", now=now, lead_id=lead_id)
    return {**_result(conn, lead_id, repeated=False), "blocked": blocked}


def _blocked(conn: Connection, lead: dict[str, Any]) -> list[str]:
    kinds = {k for k, v in conn.execute(select(blocklist.c.kind, blocklist.c.value).where(
        blocklist.c.value.in_([v for v in (lead["phone"], lead["email"]) if v])))}
    return [k for k in ("phone", "email") if k in kinds]


# --- link -------------------------------------------------------------------------------------
def link(conn: Connection, lead_id: int, actor: Actor, req: LinkRequest, *, now: datetime,
         settings: Any = None) -> dict[str, Any]:
    """Any lead waiting in Unsorted (or attached to a contact) → an existing deal."""
    lead = lead_row(conn, lead_id)
    if lead["status"] == "attached":
        check_operator(actor, lead)
    deal = conn.execute(select(deals).where(deals.c.id == req.deal_id)).mappings().first()
    if deal is None:
        raise PayloadError(f"deal_id: no deal {req.deal_id}")
    if _claim(conn, lead_id, actor, "linked", now, from_statuses=("unsorted", "attached"),
              same=lambda row: row["deal_id"] == req.deal_id) is None:
        return _result(conn, lead_id, repeated=True)
    conn.execute(update(leads).where(leads.c.id == lead_id).values(
        deal_id=deal["id"], pipeline_id=deal["pipeline_id"], stage_id=deal["stage_id"],
        manager_id=lead["manager_id"] or actor.id, updated_at=now))
    conn.execute(update(deals).where(deals.c.id == deal["id"]).values(updated_at=now))
    audit(conn, actor, "lead.link", now, lead_id=lead_id, deal_id=deal["id"], contact_id=lead["contact_id"],
          previous_deal_id=lead["deal_id"])
    emit(conn, settings, "lead.linked", now=now, lead_id=lead_id)
    return _result(conn, lead_id, repeated=False)
