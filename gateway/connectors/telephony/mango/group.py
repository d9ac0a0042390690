"""All stored events of one Mango call (`entry_id`), parsed and deduplicated."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from pydantic import BaseModel, ValidationError

from gateway.connectors.base import StoredEvent
from gateway.connectors.telephony.mango.legs import Leg, fold_legs
from gateway.connectors.telephony.mango.payloads import (
    CallEvent,
    DtmfEvent,
    RecordAdded,
    RecordingEvent,
    StatsCall,
    SummaryEvent,
)

__all__ = ["FETCH", "STATS", "CallGroup", "Parsed", "collect"]

log = structlog.get_logger(__name__)

FETCH = "fetch_recording"
STATS = "stats"
_MISSING = object()
WEBHOOK_CALL_EVENTS = frozenset({"call", "summary", "recording", "record/added", "record/tagged"})


@dataclass(slots=True)
class CallGroup:
    entry_id: str
    legs: list[Leg] = field(default_factory=list)
    summary: SummaryEvent | None = None
    stats: StatsCall | None = None
    recording_ids: set[str] = field(default_factory=set)
    files: list[dict[str, Any]] = field(default_factory=list)  # results of fetch_recording events
    digits: list[str] = field(default_factory=list)  # DTMF sequences, in order
    stamps: list[int] = field(default_factory=list)  # event times of recordings and DTMF
    first_received: datetime | None = None
    webhook_seen: bool = False
    revision: int = 0

    @property
    def is_call(self) -> bool:
        """Something told us a call exists (not only DTMF or an unknown event)."""
        return bool(self.legs or self.summary or self.stats or self.recording_ids)


def _parse(model: type[BaseModel], event: StoredEvent) -> Any:
    try:
        return model.model_validate(json.loads(event.body))
    except (ValueError, ValidationError) as exc:
        log.warning("mango.event.invalid", event_id=event.id, name=event.name, error=str(exc)[:200])
        return None


class Parsed:
    """Stored events parsed once each. Every notification of a call refolds the whole call, so without this a
    call of k notifications parsed its events k(k+1)/2 times. An event is known by its id and its body (the
    body too: ids are unique in one event log, not across every store a process may read); the oldest are
    forgotten past `size` (a batch is 500 events; 1,024 parsed notifications hold about 3.6 MB)."""

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._models: dict[tuple[str, bytes, type[BaseModel]], Any] = {}

    def __call__(self, model: type[BaseModel], event: StoredEvent) -> Any:
        key = (event.id, event.body, model)
        found = self._models.get(key, _MISSING)
        if found is _MISSING:
            found = self._models[key] = _parse(model, event)  # None, logged once, for an invalid one
            if len(self._models) > self._size:
                self._models.pop(next(iter(self._models)), None)
        return found


def _unique(events: Iterable[StoredEvent]) -> list[StoredEvent]:
    """One event per key (the log guarantees it; a replayed list may not), in key order.

    Key order is text order (`call:<entry>:<call>:10` before `...:2`): it only makes the walk deterministic.
    Nothing may rely on it for meaning; `fold_legs` orders a leg's notifications by their numeric `seq`.
    """
    by_key: dict[str, StoredEvent] = {}
    for ev in events:
        kept = by_key.get(ev.key)
        if kept is None or (ev.result and not kept.result):
            by_key[ev.key] = ev
    return [by_key[k] for k in sorted(by_key)]


def collect(entry_id: str, events: Iterable[StoredEvent], results: Mapping[str, Mapping[str, Any]],
            parse: Callable[[type[BaseModel], StoredEvent], Any] = _parse) -> CallGroup:
    """Parse every event of the group (with `parse`: a `Parsed` remembers them); `results` adds results not
    stored yet (by event id)."""
    group = CallGroup(entry_id)
    calls: list[CallEvent] = []
    summaries: list[SummaryEvent] = []
    stats: list[StatsCall] = []
    dtmfs: list[DtmfEvent] = []
    for ev in _unique(events):
        group.revision += 1
        if group.first_received is None or ev.received_at < group.first_received:
            group.first_received = ev.received_at
        group.webhook_seen |= ev.name in WEBHOOK_CALL_EVENTS
        result = results.get(ev.id) or ev.result
        if ev.name == "call" and (call := parse(CallEvent, ev)):
            calls.append(call)
        elif ev.name == "summary" and (summary := parse(SummaryEvent, ev)):
            summaries.append(summary)
        elif ev.name == STATS and (stat := parse(StatsCall, ev)):
            stats.append(stat)
            group.recording_ids.update(r for leg in stat.context_calls for r in leg.recording_id)
        elif ev.name == "recording" and (rec := parse(RecordingEvent, ev)):
            group.stamps += [rec.timestamp] if rec.timestamp else []  # a process; record/added says it is kept
        elif ev.name in ("record/added", "record/tagged") and (added := parse(RecordAdded, ev)):
            group.recording_ids.add(added.recording_id)
            group.stamps += [added.timestamp] if added.timestamp else []
        elif ev.name == "dtmf" and (dtmf := parse(DtmfEvent, ev)):
            dtmfs.append(dtmf)
            group.stamps += [dtmf.timestamp] if dtmf.timestamp else []
        elif ev.name == FETCH and result and result.get("recording_id"):
            group.recording_ids.add(str(result["recording_id"]))
            group.files.append(dict(result))
            group.revision += 1
    group.legs = fold_legs(calls)
    group.summary = max(summaries, key=lambda s: s.model_dump_json(), default=None)
    group.stats = max(stats, key=lambda s: s.model_dump_json(), default=None)
    dtmfs.sort(key=lambda d: (d.timestamp or 0, d.call_id or "", d.seq or 0, d.dtmf or ""))
    group.digits = [d.dtmf for d in dtmfs if d.dtmf]
    group.files.sort(key=lambda f: str(f.get("recording_id")))
    return group

