"""The small interface every sink implements, and the lead as a sink sees it.

A sink is an outbound connector: it hands our leads on to another CRM. Each one has its settings,
a pure mapping from our lead to the remote API's request, and a client that

* `create`s the remote record and reads back its id,
* `find`s a record that an earlier request created although its answer was lost (a timeout),
  so that a retry never makes a twin,
* adds a `note` to a record (the later messages of a conversation; what the record itself cannot hold).

Delivery state (attempts, backoff, dead letters, the remote id) lives in the outbox, not here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from gateway.config.sinks import SinkSettings

__all__ = ["Remote", "Sink", "SinkFile", "SinkLead", "SinkMessage"]


class SinkFile(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str
    size: int = 0
    content_type: str = "application/octet-stream"
    link: str | None = None  # a public, signed link, when the gateway has a public address


class SinkMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    key: str
    direction: str = "in"
    at: datetime
    author: str | None = None
    subject: str | None = None
    text: str | None = None


class SinkLead(BaseModel):
    """Our lead, as every sink's mapping reads it (built from the lead's JSON and public links)."""

    model_config = ConfigDict(extra="ignore")

    id: int
    key: str
    received_at: datetime
    channel: str
    kind: str
    direction: str = "in"
    status: str = "unsorted"
    quality: str = "unverified"
    account: str | None = None
    source: str | None = None
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    company: str | None = None
    position: str | None = None
    budget: float | None = None
    subject: str | None = None
    text: str | None = None
    utm: dict[str, str] = Field(default_factory=dict)
    custom: dict[str, Any] = Field(default_factory=dict)
    manager: str | None = None
    pipeline: str | None = None
    stage: str | None = None
    stage_kind: str | None = None  # unsorted | working | won | lost
    duration_s: int | None = None
    result: str | None = None
    call: dict[str, Any] | None = None
    recording_link: str | None = None
    files: list[SinkFile] = Field(default_factory=list)
    card_link: str | None = None  # the lead's page in the gateway

    @property
    def to_stage(self) -> bool:
        """Our rules sent it straight to a working stage (not Unsorted)."""
        return self.stage_kind == "working" and self.status == "accepted"

    @property
    def line(self) -> str | None:
        return (self.call or {}).get("line")


@dataclass(frozen=True, slots=True)
class Remote:
    """The record a sink made: what the operator's link and later notes need."""

    id: str  # the record operators open (an amoCRM lead, a Bitrix24 lead or contact)
    url: str | None = None
    kind: str = "lead"  # what `id` is: lead | unsorted | contact
    extra: Mapping[str, Any] = field(default_factory=dict)  # e.g. the Unsorted item's uid, the contact

    def as_dict(self) -> dict[str, Any]:
        return {"remote_id": self.id, "url": self.url, "kind": self.kind, **dict(self.extra)}

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Remote:
        rest = {k: v for k, v in data.items() if k not in ("remote_id", "url", "kind")}
        return cls(str(data["remote_id"]), data.get("url"), str(data.get("kind") or "lead"), rest)


class Sink(Protocol):
    """One configured sink (an amoCRM account, a Bitrix24 portal)."""

    @property
    def settings(self) -> SinkSettings: ...

    async def find(self, lead: SinkLead, request_id: str) -> Remote | None: ...

    async def create(self, lead: SinkLead, request_id: str) -> Remote: ...

    def first_note(self, lead: SinkLead) -> str | None:
        """What the created record cannot carry itself (a form's text, files), as a note; None when nothing."""
        ...

    async def note(self, remote: Remote, text: str, request_id: str) -> str:
        """Add a note to the record; the note's id."""
        ...

    async def find_note(self, remote: Remote, text: str) -> str | None:
        """The note with exactly this text, if an earlier request added it although its answer was lost."""
        ...
