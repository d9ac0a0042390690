"""The core pipeline: normalise → identify → classify → attribute → score → route → store.

One interaction in, at most one lead out (created or updated by `Interaction.key`).
Runs inside the caller's transaction; re-processing the same interaction changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog

from gateway.core.classify import Verdict, classify
from gateway.core.companies import find_inn
from gateway.core.models import Direction, IdentityKind, Interaction, Kind, LeadStatus, Quality
from gateway.core.normalise import normalise_identity
from gateway.core.repository import CrmRepository
from gateway.core.routing import decide_route
from gateway.core.scoring import score

__all__ = ["PipelineConfig", "PipelineResult", "identity_values", "process_interaction"]

log = structlog.get_logger(__name__)
OPERATOR_STATUSES = {LeadStatus.ACCEPTED.value, LeadStatus.DECLINED.value, LeadStatus.LINKED.value}


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    region: str
    short_call_seconds: int
    default_pipeline: str
    routing_rules: Sequence[Any] = ()
    scoring_rules: Sequence[Any] = ()


@dataclass(slots=True)
class PipelineResult:
    lead_id: int | None
    created: bool = False
    joined: bool = False  # joined an existing lead's conversation or thread
    contact_id: int | None = None
    outcome: str = "lead"  # lead | joined | history | merged
    events: list[tuple[str, int]] = field(default_factory=list)  # (lead.created | deal.created, id)
    callback: bool = False  # the lead is a missed call somebody must return


def identity_values(ix: Interaction, region: str) -> list[tuple[str, str]]:
    """The interaction's identities, normalised: (kind, value) pairs without repeats."""
    out: list[tuple[str, str]] = []
    for ref in ix.identities:
        value = normalise_identity(ref.kind, ref.value, region)
        if value and (ref.kind.value, value) not in out:
            out.append((ref.kind.value, value))
    return out


def _first(idents: Sequence[tuple[str, str]], kind: IdentityKind) -> str | None:
    return next((v for k, v in idents if k == kind.value), None)


def process_interaction(repo: CrmRepository, ix: Interaction, *, event_id: str | None,
                        cfg: PipelineConfig) -> PipelineResult:
    idents = identity_values(ix, cfg.region)
    existing = repo.lead_by_key(ix.key, lock=True)
    if existing is not None and ix.revision < existing["revision"]:
        return PipelineResult(existing["id"], contact_id=existing["contact_id"], outcome="stale")
    if existing is None:
        joined = _join_existing(repo, ix, idents, cfg)
        if joined is not None:
            return joined
    if ix.history_only:
        return _store_history(repo, ix, idents)
    contact_id, contact_known, candidates = _identify(repo, ix, idents, existing)
    source_id, source_adv = repo.source(ix.source, ix.channel.value) if ix.source else (None, False)  # unattributed
    verdict = classify(ix, contact_known=contact_known, source_advertising=source_adv,
                       blocked=repo.is_blocked(idents), short_call_seconds=cfg.short_call_seconds)
    values = _lead_values(repo, ix, idents, verdict, source_id=source_id, event_id=event_id)
    values["merge_candidates"] = candidates
    company_id = _enrich(repo, ix, contact_id, contact_known, values["inn"])
    if existing is None:
        return _create_lead(repo, ix, values, verdict, contact_id, contact_known, cfg, company_id)
    return _update_lead(repo, ix, existing, values, verdict, contact_id, cfg)


def _enrich(repo: CrmRepository, ix: Interaction, contact_id: int | None, known: bool,
            inn: str | None) -> int | None:
    """The contact takes the name (a new one has it already) and position it lacks, and the company the lead
    names; its company id."""
    if contact_id is None or ix.direction is Direction.INTERNAL:
        return None
    repo.fill_contact(contact_id, name=ix.name if known else None, position=ix.position)
    return repo.company_of(contact_id, ix.company, inn) if ix.company or inn else None


def _identify(repo: CrmRepository, ix: Interaction, idents: list[tuple[str, str]],
              existing: dict[str, Any] | None) -> tuple[int | None, bool, list[int]]:
    """(contact id, known before this lead, other contacts it also matches)."""
    if existing is not None and existing["contact_id"] is not None:
        repo.add_identities(existing["contact_id"], idents)
        return existing["contact_id"], not existing["contact_was_new"], list(existing["merge_candidates"] or [])
    if not idents:
        return None, False, []
    found = repo.find_contacts(idents)
    if found:
        repo.add_identities(found[0], idents)
        return found[0], True, found[1:]
    if ix.direction is Direction.INTERNAL:
        return None, False, []
    contact_id, created = repo.create_contact(ix.name, idents)
    return contact_id, not created, []


def _lead_values(repo: CrmRepository, ix: Interaction, idents: list[tuple[str, str]], verdict: Verdict, *,
                 source_id: int | None, event_id: str | None) -> dict[str, Any]:
    call = ix.call
    manager_id = repo.user_id(name=ix.manager) if ix.manager else None
    if manager_id is None and ix.manager_extension:
        manager_id = repo.user_id(extension=ix.manager_extension)
    values: dict[str, Any] = {
        "channel": ix.channel.value, "kind": ix.kind.value, "direction": ix.direction.value,
        "account": ix.account, "source_id": source_id, "manager_id": manager_id,
        "phone": _first(idents, IdentityKind.PHONE), "email": _first(idents, IdentityKind.EMAIL),
        "name": ix.name, "company": ix.company, "position": ix.position, "budget": ix.budget,
        "inn": find_inn(ix.custom, (ix.text, ix.subject)),
        "subject": ix.subject, "text": ix.text, "utm": ix.utm, "custom": ix.custom,
        "call": call.model_dump(mode="json") if call else None,
        "duration_s": call.duration_s if call else None, "result": call.result if call else None,
        "advertising": verdict.advertising, "non_target_reason": verdict.non_target_reason,
        "conversation_key": ix.conversation_key, "recovered": ix.recovered, "tags": ix.tags,
        "received_at": ix.occurred_at, "revision": ix.revision,
    }
    if event_id is not None:
        values["event_id"] = event_id
    return values


def _score(cfg: PipelineConfig, values: dict[str, Any], attachment_count: int) -> dict[str, Any]:
    points, details = score(cfg.scoring_rules, {**values, "attachment_count": attachment_count})
    return {"score": points, "score_details": details}


def _create_lead(repo: CrmRepository, ix: Interaction, values: dict[str, Any], verdict: Verdict,
                 contact_id: int | None, contact_known: bool, cfg: PipelineConfig,
                 company_id: int | None) -> PipelineResult:
    if contact_known and contact_id is not None and ix.dedupe_window_s:
        since = ix.occurred_at - timedelta(seconds=ix.dedupe_window_s)
        dup = repo.recent_lead(contact_id=contact_id, channel=ix.channel.value, account=ix.account,
                               since=since, exclude_key=ix.key)
        if dup is not None:
            _attach_content(repo, ix, dup, contact_id)
            return PipelineResult(dup, joined=True, contact_id=contact_id, outcome="merged")
    route = decide_route(ix, verdict, contact_known=contact_known, rules=cfg.routing_rules,
                         default_pipeline=cfg.default_pipeline)
    values.update(key=ix.key, status=route.status.value, quality=verdict.quality.value,
                  contact_id=contact_id, contact_was_new=contact_id is not None and not contact_known)
    if route.status is LeadStatus.DECLINED:
        values["decline_reason"] = verdict.non_target_reason
    result = PipelineResult(None, contact_id=contact_id)
    if route.status is LeadStatus.ATTACHED and contact_id is not None:
        values["deal_id"] = repo.open_deal(contact_id)
    elif route.pipeline is not None:
        pipeline_id, stage_id = repo.stage_ids(route.pipeline, route.stage)
        values.update(pipeline_id=pipeline_id, stage_id=stage_id)
        if route.create_deal:
            deal_id = repo.create_deal(name=ix.name or values["phone"] or values["email"] or ix.subject or "Сделка",
                                       contact_id=contact_id, pipeline_id=pipeline_id, stage_id=stage_id,
                                       responsible_id=values["manager_id"], budget=ix.budget, company_id=company_id)
            values.update(deal_id=deal_id, taken_at=ix.occurred_at)
            result.events.append(("deal.created", deal_id))
    if ix.kind is Kind.CALL:
        values["needs_callback"] = _needs_callback(ix)
    values.update(_score(cfg, values, _attachment_count(ix)))
    lead_id = repo.insert_lead(values)
    if lead_id is None:  # another worker created this key meanwhile: update theirs
        existing = repo.lead_by_key(ix.key)
        assert existing is not None
        return _update_lead(repo, ix, existing, values, verdict, contact_id, cfg)
    _attach_content(repo, ix, lead_id, contact_id)
    _close_callbacks(repo, ix, values, lead_id)
    result.lead_id, result.created, result.callback = lead_id, True, bool(values.get("needs_callback"))
    result.events.insert(0, ("lead.created", lead_id))
    log.info("lead.routed", lead_id=lead_id, status=values["status"], quality=values["quality"],
             channel=ix.channel.value)
    return result


def _update_lead(repo: CrmRepository, ix: Interaction, existing: dict[str, Any], values: dict[str, Any],
                 verdict: Verdict, contact_id: int | None, cfg: PipelineConfig) -> PipelineResult:
    """A later version of the same interaction: refresh content, keep routing and operators' decisions."""
    lead_id = existing["id"]
    for fixed in ("key", "event_id", "status", "quality", "contact_id", "contact_was_new", "deal_id",
                  "pipeline_id", "stage_id", "taken_at", "decline_reason"):
        values.pop(fixed, None)
    if existing["status"] not in OPERATOR_STATUSES and existing["quality"] != verdict.quality.value:
        if verdict.quality is Quality.NON_TARGET or existing["quality"] != Quality.NON_TARGET.value:
            values["quality"] = verdict.quality.value
        if verdict.quality is Quality.NON_TARGET and existing["status"] == LeadStatus.UNSORTED.value:
            values.update(status=LeadStatus.DECLINED.value, decline_reason=verdict.non_target_reason)
    if ix.kind is Kind.CALL:
        values["needs_callback"] = _needs_callback(ix) and existing["callback_at"] is None
    if existing["manager_id"] is not None and values.get("manager_id") is None:
        values.pop("manager_id")
    _attach_content(repo, ix, lead_id, existing["contact_id"] or contact_id)
    values.update(_score(cfg, values, repo.attachment_count(lead_id)))
    repo.update_lead(lead_id, values)
    _close_callbacks(repo, ix, values, lead_id)
    return PipelineResult(lead_id, contact_id=existing["contact_id"], callback=bool(values.get("needs_callback")))


def _attachment_count(ix: Interaction) -> int:
    refs = [*ix.attachments, *(a for m in ix.messages for a in m.attachments)]
    return sum(1 for a in refs if a.role == "attachment" and not a.omitted)


def _needs_callback(ix: Interaction) -> bool:
    call = ix.call
    return bool(ix.direction is Direction.IN and call and call.complete and call.answered is False)


def _close_callbacks(repo: CrmRepository, ix: Interaction, values: dict[str, Any], lead_id: int) -> None:
    call, phone = ix.call, values.get("phone")
    if ix.kind is Kind.CALL and call and call.answered and phone and ix.direction is not Direction.INTERNAL:
        repo.close_callbacks(phone, ix.occurred_at, exclude_lead=lead_id)


def _attach_content(repo: CrmRepository, ix: Interaction, lead_id: int | None, contact_id: int | None) -> None:
    for msg in ix.messages:
        message_id = repo.upsert_message(msg, lead_id=lead_id, contact_id=contact_id)
        repo.link_attachments(msg.attachments, lead_id=lead_id, message_id=message_id)
    repo.link_attachments(ix.attachments, lead_id=lead_id, message_id=None)
    recording = next((a for a in ix.attachments if a.role == "recording" and a.file_id), None)
    if recording is not None and lead_id is not None:
        repo.update_lead(lead_id, {"recording_file_id": recording.file_id})


def _join_existing(repo: CrmRepository, ix: Interaction, idents: list[tuple[str, str]],
                   cfg: PipelineConfig) -> PipelineResult | None:
    """A chat message of an open conversation, or a reply in a known mail thread, joins that lead."""
    target: dict[str, Any] | None = None
    if ix.conversation_key:
        target = repo.open_conversation(ix.conversation_key)
    if target is None and ix.reply_to:
        lead_id = repo.lead_for_messages(ix.reply_to)
        target = repo.lead_by_id(lead_id) if lead_id is not None else None
    if target is None:
        return None
    if target["contact_id"] is not None:
        repo.add_identities(target["contact_id"], idents)
    _attach_content(repo, ix, target["id"], target["contact_id"])
    return PipelineResult(target["id"], joined=True, contact_id=target["contact_id"], outcome="joined")


def _store_history(repo: CrmRepository, ix: Interaction, idents: list[tuple[str, str]]) -> PipelineResult:
    """Outgoing mail and imported history: messages in the contact's history, never a lead."""
    found = repo.find_contacts(idents)
    contact_id = found[0] if found else (repo.create_contact(ix.name, idents)[0] if idents else None)
    if contact_id is not None:
        repo.add_identities(contact_id, idents)
    _attach_content(repo, ix, None, contact_id)
    return PipelineResult(None, contact_id=contact_id, outcome="history")
