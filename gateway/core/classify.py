"""Lead quality and the advertising flag (DOMAIN.md, "Lead quality")."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.core.models import Direction, Interaction, Kind, Quality

__all__ = ["Verdict", "classify"]


@dataclass(frozen=True, slots=True)
class Verdict:
    quality: Quality
    advertising: bool
    non_target_reason: str | None


def non_target_reason(ix: Interaction, *, blocked: bool, short_call_seconds: int) -> str | None:
    if ix.non_target_reason:
        return ix.non_target_reason
    if blocked:
        return "blocked"
    if ix.direction is Direction.INTERNAL:
        return "internal"
    call = ix.call
    if ix.kind is Kind.CALL and call and call.answered and call.duration_s is not None \
            and call.duration_s < short_call_seconds:
        return "short call"
    return None


def classify(ix: Interaction, *, contact_known: bool, source_advertising: bool, blocked: bool,
             short_call_seconds: int) -> Verdict:
    """target: the first advertising lead of a contact; repeat: any later one; non_target: spam and the like."""
    reason = non_target_reason(ix, blocked=blocked, short_call_seconds=short_call_seconds)
    advertising = (
        source_advertising and ix.source_advertising is not False
        and ix.direction is Direction.IN and not ix.history_only
    )
    if reason:
        quality = Quality.NON_TARGET
    elif contact_known:
        quality = Quality.REPEAT
    elif advertising:
        quality = Quality.TARGET
    else:
        quality = Quality.UNVERIFIED
    return Verdict(quality, advertising, reason)
