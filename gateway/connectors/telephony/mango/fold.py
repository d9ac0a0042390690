"""Fold a call's events into one Interaction, the same whatever order they arrived in."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from gateway.config.mango import MangoSettings
from gateway.connectors.telephony.mango.group import CallGroup
from gateway.connectors.telephony.mango.legs import Leg
from gateway.connectors.telephony.mango.parties import external_number, line_source
from gateway.core.models import (
    AttachmentRef,
    CallInfo,
    Channel,
    Direction,
    IdentityKind,
    IdentityRef,
    Interaction,
    Kind,
)

__all__ = ["call_result", "fold_call", "interaction_key"]

log = structlog.get_logger(__name__)

SUMMARY_DIRECTIONS = {0: Direction.INTERNAL, 1: Direction.IN, 2: Direction.OUT}
STATS_DIRECTIONS = {1: Direction.IN, 2: Direction.OUT, 3: Direction.INTERNAL}
BUSY = frozenset({1121, 1312})
REJECTED = frozenset({1122})
UNAVAILABLE = frozenset({1123, 1124, 1130, 1131, 1132, 1133, 1140, 1164, 1190, 1191, 1192, 1193, 1311})
EXTENSIONS = {"audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/wav": "wav", "audio/x-wav": "wav", "audio/ogg": "ogg"}


def interaction_key(account: str, entry_id: str) -> str:
    return f"mango:{account}:{entry_id}"


def call_result(answered: bool | None, reason: int | None, in_progress: bool) -> str | None:
    """answered | missed | busy | rejected | unavailable | in_progress."""
    if in_progress:
        return "in_progress"
    if answered is None:
        return None
    if answered:
        return "answered"
    if reason in BUSY:
        return "busy"
    if reason in REJECTED:
        return "rejected"
    if reason is not None and (reason in UNAVAILABLE or 4200 <= reason < 4300 or 3200 <= reason < 3300):
        return "unavailable"
    return "missed"


@dataclass(slots=True)
class Outline:
    """What the call was, from the most authoritative source present."""

    answered: bool | None = None
    in_progress: bool = False
    complete: bool = False
    duration_s: int | None = None
    ring_s: int | None = None
    reason: int | None = None
    pbx_result: str | None = None


def _epoch(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _direction(group: CallGroup) -> Direction:
    if group.summary and group.summary.call_direction in SUMMARY_DIRECTIONS:
        return SUMMARY_DIRECTIONS[group.summary.call_direction]
    if group.stats and group.stats.context_type in STATS_DIRECTIONS:
        return STATS_DIRECTIONS[group.stats.context_type]
    if group.legs:
        root = group.legs[0]
        if any(e.command_id or e.callback_initiator for leg in group.legs for e in leg.events):
            return Direction.OUT  # a callback: the PBX rings the employee, then the client
        if root.first("extension", "from"):
            to_employee = root.first("extension", "to") and not external_number(root.first("number", "to"))
            return Direction.INTERNAL if to_employee else Direction.OUT
    return Direction.IN


def _outline(group: CallGroup) -> Outline:
    s = group.summary
    if s is not None:
        talked = s.talk_time > 0
        if (s.entry_result == 1) != talked:
            log.warning("mango.summary.disagreement", entry_id=group.entry_id,
                        entry_result=s.entry_result, talk_time=s.talk_time)
        ring_end = s.talk_time if talked else s.end_time
        return Outline(
            answered=s.entry_result == 1 and talked, complete=True,
            duration_s=max(0, s.end_time - s.talk_time) if talked else 0,
            ring_s=max(0, ring_end - s.create_time) if s.create_time and ring_end else None,
            reason=s.disconnect_reason,
            pbx_result=None if s.entry_result is None else str(s.entry_result),
        )
    if group.stats is not None:
        st = group.stats
        talk = st.talk_duration or 0
        reasons = [c.call_end_reason for c in st.context_calls if c.call_end_reason is not None]
        return Outline(
            answered=st.context_status == 1 and talk > 0, complete=True, duration_s=talk,
            ring_s=max(0, st.duration - talk) if st.duration is not None else None,
            reason=reasons[-1] if reasons else None,
            pbx_result=None if st.context_status is None else str(st.context_status),
        )
    return _outline_from_legs(group.legs)


def _outline_from_legs(legs: list[Leg]) -> Outline:
    if not legs:
        return Outline()
    in_progress = not all(leg.ended for leg in legs)
    talks = [leg for leg in legs if leg.connected_at is not None]
    start = min(leg.started_at for leg in legs)
    ended = sorted(legs, key=lambda leg: (leg.ended_at or 0, leg.call_id))
    reason = next((leg.reason for leg in reversed(ended) if leg.reason is not None), None)
    outline = Outline(answered=bool(talks) or (None if in_progress else False), in_progress=in_progress,
                      reason=None if in_progress else reason)
    if talks:
        first_talk = min(leg.connected_at or 0 for leg in talks)
        outline.ring_s = first_talk - start
        ends = [leg.ended_at for leg in talks if leg.ended_at is not None]
        if not in_progress and ends:
            outline.duration_s = max(0, max(ends) - first_talk)
    elif not in_progress:
        outline.duration_s = 0
        outline.ring_s = max(leg.ended_at or start for leg in legs) - start
    return outline


def _employee(group: CallGroup, direction: Direction, outline: Outline) -> str | None:
    groups = {leg.first("acd_group", "to") for leg in group.legs} - {None}
    s = group.summary
    if direction is Direction.IN:
        if not outline.answered:
            return None
        talks = [leg for leg in group.legs if leg.answered_by() and leg.answered_by() not in groups]
        if talks:  # follow the transfers: the last employee who took the call keeps it
            return max(talks, key=lambda leg: (leg.depth, leg.connected_at or 0, leg.call_id)).answered_by()
        ext = s.to.extension if s else None
        return ext if ext not in groups else None
    found = [s.from_.extension if s else None, *(leg.first("extension", "from") for leg in group.legs),
             *(leg.first("extension", "to") for leg in group.legs)]  # the caller, else whom the PBX rang first
    return next((ext for ext in found if ext), None)


def _client(group: CallGroup, direction: Direction) -> str | None:
    s, st = group.summary, group.stats
    if direction is Direction.IN:
        found = [s.from_.number if s else None, *(leg.first("number", "from") for leg in group.legs),
                 st.caller_number if st else None]
    elif direction is Direction.OUT:
        found = [s.to.number if s else None, *(leg.first("number", "to") for leg in group.legs),
                 st.called_number if st else None]
    else:
        return None
    return next((n for raw in found if (n := external_number(raw))), None)


def _line(group: CallGroup, direction: Direction) -> str | None:
    if direction is Direction.INTERNAL:
        return None
    s, st = group.summary, group.stats
    found = [s.line_number if s else None, *(leg.first("line_number", "to") for leg in group.legs)]
    if direction is Direction.IN and st:
        found.append(st.called_number)
    return next((n for n in found if n), None)


def _occurred_at(group: CallGroup) -> datetime:
    stamps = [group.summary.create_time] if group.summary and group.summary.create_time else []
    stamps = stamps or [leg.started_at for leg in group.legs]
    stamps = stamps or ([group.stats.context_start_time] if group.stats and group.stats.context_start_time else [])
    stamps = stamps or group.stamps
    if stamps:
        return _epoch(min(stamps))
    return group.first_received or datetime(1970, 1, 1, tzinfo=UTC)


def _attachments(group: CallGroup) -> list[AttachmentRef]:
    out = []
    for f in group.files:
        rid = str(f["recording_id"])
        tag = hashlib.sha256(rid.encode()).hexdigest()[:12]
        ctype = str(f.get("content_type") or "audio/mpeg")
        name = f"recording-{tag}.{EXTENSIONS.get(ctype, 'bin')}"
        if f.get("file_id"):
            out.append(AttachmentRef(name=name, size=int(f.get("size") or 0), content_type=ctype,
                                     file_id=str(f["file_id"]), role="recording"))
        else:
            out.append(AttachmentRef(name=name, omitted=True, reason=str(f.get("reason") or "not stored"),
                                     role="recording"))
    return out


def _custom(group: CallGroup) -> dict[str, Any]:
    custom: dict[str, Any] = {"entry_id": group.entry_id}
    events = [e for leg in group.legs for e in leg.events]
    for field, values in (
        ("acd_group", [leg.first("acd_group", "to") for leg in group.legs]),
        ("command_id", [e.command_id for e in events]),
        ("callback_initiator", [e.callback_initiator for e in events]),
        ("call_tracking_number", [e.dct.number for e in events]),
    ):
        if value := next((v for v in values if v), None):
            custom[field] = value
    if group.digits:
        custom["ivr_digits"] = group.digits
    if any(leg.depth for leg in group.legs):
        custom["transferred"] = True
    return custom


def fold_call(account: str, group: CallGroup, conf: MangoSettings) -> Interaction | None:
    """One Interaction for the call, or None when nothing says a call exists."""
    if not group.is_call:
        return None
    direction = _direction(group)
    outline = _outline(group)
    employee = _employee(group, direction, outline)
    client = _client(group, direction)
    line = _line(group, direction)
    call = CallInfo(
        answered=outline.answered, result=call_result(outline.answered, outline.reason, outline.in_progress),
        duration_s=outline.duration_s, ring_s=outline.ring_s, line=line, pbx_result=outline.pbx_result,
        disconnect_reason=outline.reason, employee_extension=employee, complete=outline.complete,
        recording_ids=sorted(group.recording_ids), legs=[leg.describe() for leg in group.legs],
    )
    manager = conf.extensions.get(employee) if employee else None
    return Interaction(
        key=interaction_key(account, group.entry_id), channel=Channel.MANGO, kind=Kind.CALL,
        direction=direction, occurred_at=_occurred_at(group), account=account,
        identities=[IdentityRef(kind=IdentityKind.PHONE, value=client)] if client else [],
        source=line_source(line, conf.lines) if direction is not Direction.INTERNAL else None,
        source_advertising=False if direction is Direction.OUT else None,
        custom=_custom(group), manager=manager, manager_extension=employee,
        call=call, attachments=_attachments(group),
        non_target_reason="internal" if direction is Direction.INTERNAL else None,
        recovered=group.stats is not None and not group.webhook_seen, revision=group.revision,
    )
