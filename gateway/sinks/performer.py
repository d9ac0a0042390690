"""The performer of a sink's jobs: deliver a lead (look before sending again), then its notes.

A delivery keeps its progress in the job's state: the remote record once made, whether its first
note is there. An attempt after one that may have reached the remote (a retry, a replay, a lease
that ran out) looks the record up before creating it, so a lost answer never makes a twin.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.core.errors import PermanentUpstreamError, TransientUpstreamError
from gateway.core.jobs import Dead, Done, Job, JobOutcome, Retry
from gateway.sinks.base import Remote, Sink, SinkLead
from gateway.sinks.jobs import NOTE, job_kind, lead_key
from gateway.sinks.reading import SinkStore

__all__ = ["SinkPerformer", "note_text"]

PARENT_WAIT_S = 2.0  # a note whose lead (or the note before it) is not delivered yet looks again after this
PARENT_DEAD_WAIT_S = 600.0


def note_text(payload: Mapping[str, Any]) -> str:
    who = payload.get("author") or ("Оператор" if payload.get("direction") == "out" else "Клиент")
    parts = [f"{who}:"]
    if payload.get("subject"):
        parts.append(f"Тема: {payload['subject']}")
    parts.append(str(payload.get("text") or "(без текста)"))
    return "\n".join(parts)[:20000]


class SinkPerformer:
    def __init__(self, sink: Sink, store: SinkStore) -> None:
        self.sink, self.store = sink, store
        s = sink.settings
        self.name, self.kind = s.name, job_kind(s.name)
        self.concurrency, self.delays = s.concurrency, tuple(s.delays)

    async def perform(self, job: Job) -> JobOutcome:
        if job.lead_id is None:
            return Dead("задание без лида")
        state: dict[str, Any] = {**job.state, "tried": True}
        try:
            if job.event_type == NOTE:
                return await self._note(job, state)
            return await self._deliver(job, state)
        except TransientUpstreamError as exc:
            return Retry(exc.message, after=exc.retry_after, status_code=_status(exc), state=state)
        except PermanentUpstreamError as exc:
            return Dead(exc.message, status_code=_status(exc), state=state)

    def _looked_before(self, job: Job) -> bool:
        return job.attempts > 0 or job.reclaimed or bool(job.state.get("tried"))

    async def _deliver(self, job: Job, state: dict[str, Any]) -> JobOutcome:
        assert job.lead_id is not None
        lead = await self.store.lead(job.lead_id)
        if lead is None:
            return Dead("лид удалён из шлюза")
        request_id = str(job.payload.get("request_id") or job.key)
        remote = Remote.of(state["remote"]) if state.get("remote") else None
        if remote is None and self._looked_before(job):
            remote = await self.sink.find(lead, request_id)
        if remote is None:
            remote = await self.sink.create(lead, request_id)
        state["remote"] = remote.as_dict()
        await self._first_note(job, lead, remote, state)
        return Done(result={**state["remote"], "noted": bool(state.get("noted"))})

    async def _first_note(self, job: Job, lead: SinkLead, remote: Remote, state: dict[str, Any]) -> None:
        text = self.sink.first_note(lead)
        if not text or state.get("noted"):
            return
        if not (self._looked_before(job) and await self.sink.find_note(remote, text)):
            await self.sink.note(remote, text, f"{job.payload.get('request_id')}:note")
        state["noted"] = True

    async def _note(self, job: Job, state: dict[str, Any]) -> JobOutcome:
        assert job.lead_id is not None
        parent = await self.store.delivery(self.kind, lead_key(job.lead_id))
        if parent is None or parent["status"] != "done" or not parent["result"]:
            dead = parent is not None and parent["status"] == "dead"
            return Retry("ждёт доставки лида", after=PARENT_DEAD_WAIT_S if dead else PARENT_WAIT_S, count=False,
                         state=job.state)
        before = job.payload.get("after")
        earlier = await self.store.delivery(self.kind, str(before)) if before else None
        if earlier is not None and earlier["status"] != "done":
            return Retry("ждёт предыдущей заметки", after=PARENT_WAIT_S / 2, count=False, state=job.state)
        remote = Remote.of(parent["result"])
        text = note_text(job.payload)
        found = await self.sink.find_note(remote, text) if self._looked_before(job) else None
        note_id = found or await self.sink.note(remote, text, job.key or job.id)
        return Done(result={"note_id": note_id, "remote_id": remote.id, "url": remote.url})


def _status(exc: Exception) -> int | None:
    status = getattr(exc, "details", {}).get("status")
    return int(status) if isinstance(status, int) else None
