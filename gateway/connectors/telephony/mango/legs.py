"""Legs of one Mango call: `/events/call` notifications grouped by `call_id`, ordered by `seq`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gateway.connectors.telephony.mango.payloads import CallEvent

__all__ = ["Leg", "fold_legs"]

QUEUED = ("ivr", "queue")  # a Connected there is the PBX answering, not a person


@dataclass(frozen=True, slots=True)
class Leg:
    """One leg: its notifications in `seq` order, and its place in the transfer chain."""

    call_id: str
    events: tuple[CallEvent, ...]
    depth: int = 0  # 0 for a first leg, 1 for a leg transferred out of it, ...

    @property
    def final(self) -> CallEvent:
        return self.events[-1]

    @property
    def started_at(self) -> int:
        return min(e.timestamp for e in self.events)

    @property
    def ended(self) -> bool:
        return self.final.call_state == "Disconnected"

    @property
    def ended_at(self) -> int | None:
        ends = [e.timestamp for e in self.events if e.call_state == "Disconnected"]
        return max(ends) if ends else None

    @property
    def taken_from(self) -> str | None:
        return next((e.from_.taken_from_call_id for e in self.events if e.from_.taken_from_call_id), None)

    @property
    def talks(self) -> tuple[CallEvent, ...]:
        """`Connected` notifications where a person (not the IVR or a queue) picked up."""
        return tuple(e for e in self.events if e.call_state == "Connected"
                     and not (e.location or "").startswith(QUEUED))

    @property
    def connected_at(self) -> int | None:
        talks = self.talks
        return min(e.timestamp for e in talks) if talks else None

    @property
    def reason(self) -> int | None:
        """The last `disconnect_reason` the leg reported."""
        return next((e.disconnect_reason for e in reversed(self.events) if e.disconnect_reason is not None), None)

    def first(self, attr: str, side: str) -> str | None:
        """The first non-empty `from`/`to` attribute over the leg's notifications."""
        for e in self.events:
            value = getattr(e.from_ if side == "from" else e.to, attr)
            if value:
                return str(value)
        return None

    def answered_by(self) -> str | None:
        """The extension on the answering side of the last `Connected` with a person."""
        for e in reversed(self.talks):
            if e.to.extension:
                return e.to.extension
        return None

    def describe(self) -> dict[str, Any]:
        """What CallInfo.legs keeps: states and extensions, never client numbers."""
        final = self.final
        return {
            "call_id": self.call_id,
            "state": final.call_state,
            "location": final.location,
            "from_extension": self.first("extension", "from"),
            "to_extension": self.first("extension", "to"),
            "acd_group": self.first("acd_group", "to"),
            "started_at": self.started_at,
            "connected_at": self.connected_at,
            "ended_at": self.ended_at,
            "disconnect_reason": self.reason,
            "taken_from_call_id": self.taken_from,
            "transfer": next((e.transfer for e in reversed(self.events) if e.transfer), None),
            "depth": self.depth,
        }


def fold_legs(events: Iterable[CallEvent]) -> list[Leg]:
    """Legs ordered along the transfer chain, then by start; duplicates by (call_id, seq) dropped."""
    by_call: dict[str, dict[int, CallEvent]] = {}
    for ev in sorted(events, key=lambda e: (e.call_id, e.seq, e.model_dump_json())):
        by_call.setdefault(ev.call_id, {}).setdefault(ev.seq, ev)
    legs = {cid: Leg(cid, tuple(seqs[s] for s in sorted(seqs))) for cid, seqs in by_call.items()}
    depths = {cid: _depth(cid, legs) for cid in legs}
    ordered = [Leg(cid, leg.events, depths[cid]) for cid, leg in legs.items()]
    return sorted(ordered, key=lambda leg: (leg.depth, leg.started_at, leg.call_id))


def _depth(call_id: str, legs: dict[str, Leg]) -> int:
    depth, seen, current = 0, {call_id}, legs[call_id].taken_from
    while current in legs and current not in seen:
        seen.add(current)
        depth += 1
        current = legs[current].taken_from
    return depth
