"""Where a lead goes: Unsorted, straight to a stage, or a known contact's history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from gateway.core.classify import Verdict
from gateway.core.models import Direction, Interaction, LeadStatus, Quality

__all__ = ["RouteDecision", "decide_route"]


class Rule(Protocol):
    channel: str | None
    source: str | None
    account: str | None
    pipeline: str
    stage: str | None


@dataclass(frozen=True, slots=True)
class RouteDecision:
    status: LeadStatus
    pipeline: str | None = None
    stage: str | None = None  # None with UNSORTED means the pipeline's Unsorted stage
    create_deal: bool = False


def _rule_for(ix: Interaction, rules: Sequence[Rule]) -> Rule | None:
    for rule in rules:
        if rule.channel not in (None, ix.channel.value):
            continue
        if rule.source not in (None, ix.source):
            continue
        if rule.account not in (None, ix.account):
            continue
        return rule
    return None


def decide_route(ix: Interaction, verdict: Verdict, *, contact_known: bool, rules: Sequence[Rule],
                 default_pipeline: str) -> RouteDecision:
    """New person, incoming, not spam: Unsorted (or a stage by hint or rule); anything else: history."""
    if verdict.quality is Quality.NON_TARGET and not contact_known:
        return RouteDecision(LeadStatus.DECLINED)
    if contact_known or ix.history_only or ix.direction is not Direction.IN:
        return RouteDecision(LeadStatus.ATTACHED)
    rule = _rule_for(ix, rules)
    pipeline = ix.pipeline or (rule.pipeline if rule else None) or default_pipeline
    stage = ix.stage if ix.pipeline or ix.stage else (rule.stage if rule else None)
    if stage:
        return RouteDecision(LeadStatus.ACCEPTED, pipeline, stage, create_deal=True)
    return RouteDecision(LeadStatus.UNSORTED, pipeline)
