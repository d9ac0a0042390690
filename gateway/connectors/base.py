"""The small interface every connector implements.

A connector has two halves:

* the **edge**: `routes()` lists HTTP routes whose handlers take a framework-neutral
  `InboundRequest`, verify it, and return an `EdgeOutcome` (the raw events to store and
  the reply to send once they are committed); a polling connector instead offers
  `services()`, long-running loops that store events through `ServiceContext`;
* the **parser**: `process(event, ctx)` turns one stored event into interactions for the
  core pipeline. It is deterministic for the same stored events, so a replay gives the
  same result. It may also return follow-up events (durable tasks such as "fetch this
  recording"), which the event log stores, retries with backoff and processes like any
  other event.

Connectors import neither aiohttp nor rq: the HTTP app and the workers adapt to this. They see the
store only through the names this module offers (the raw event records, the file store, the mail
pollers' state, the event log for a command run on its own), as they see HTTP through `InboundRequest`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import Engine

from gateway.core.models import Interaction
from gateway.store import mailbox_state
from gateway.store.files import FileStore, FileWriter
from gateway.store.raw_events import NewEvent, StoredEvent
from gateway.store.standalone import EventLogContext

__all__ = [
    "Connector",
    "EdgeOutcome",
    "EventLogContext",
    "FileStore",
    "FileWriter",
    "InboundRequest",
    "NewEvent",
    "Outcome",
    "ParseContext",
    "QuickHandler",
    "Reply",
    "Route",
    "ServiceContext",
    "StoredEvent",
    "mailbox_state",
]


@dataclass(slots=True)
class Reply:
    status: int = 200
    body: bytes | str = b""
    content_type: str = "text/plain"
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def charset(self) -> str | None:
        """The charset its Content-Type names: text and JSON are UTF-8."""
        return "utf-8" if self.content_type.startswith(("text/", "application/json")) else None


@dataclass(slots=True)
class EdgeOutcome:
    """What an edge handler decided: events to store, then the reply built from their ids."""

    events: list[NewEvent]
    reply: Callable[[list[str]], Reply] | Reply = field(default_factory=Reply)
    cleanup: Callable[[], None] | None = None  # e.g. remove temporary files once stored

    def build_reply(self, event_ids: list[str]) -> Reply:
        return self.reply(event_ids) if callable(self.reply) else self.reply


@dataclass(slots=True)
class InboundRequest:
    """A framework-neutral view of an HTTP request at a connector's edge."""

    method: str
    path: str
    match: Mapping[str, str]  # route parameters
    headers: Mapping[str, str]  # case-insensitive mapping
    query: Mapping[str, str]
    remote: str | None
    content_type: str
    content_length: int | None
    read: Callable[[], Awaitable[bytes]]  # the whole body, within the route's size limit
    stream: Callable[[], AsyncIterator[bytes]]  # the body in chunks, for large uploads
    received_at: datetime


EdgeHandler = Callable[[InboundRequest], Awaitable[EdgeOutcome]]
# The same decision for a request whose body came whole with its head, from the route's parameters, the body and
# its Content-Type alone, without blocking: the outcome, or None where the handler would refuse (it then answers).
QuickHandler = Callable[[Mapping[str, str], bytes, str, datetime], EdgeOutcome | None]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    path: str  # aiohttp-style pattern, e.g. "/hooks/mango/{account}/events/{name:.+}"
    handler: EdgeHandler
    max_body_bytes: int = 1 << 20
    name: str | None = None
    quick: QuickHandler | None = None  # what the server may call instead of `handler` (gateway.http.fast_lane)


@dataclass(slots=True)
class Outcome:
    interactions: list[Interaction] = field(default_factory=list)
    follow_ups: list[NewEvent] = field(default_factory=list)
    result: dict[str, Any] | None = None  # stored on the event, seen by later folds


class ParseContext(Protocol):
    """What `Connector.process` may use; given by the worker."""

    now: datetime

    def related(self, connector: str, account: str, group_key: str,
                names: Sequence[str] | None = None) -> Sequence[StoredEvent]:
        """Every stored event of this group (done or not), oldest first; only those `names` when given."""
        ...

    @property
    def files(self) -> FileStore: ...

    @property
    def http(self) -> Any:
        """A synchronous outbound client (`gateway.egress.OutboundClient`)."""
        ...


class ServiceContext(Protocol):
    """What a long-running connector service (a poller) may use."""

    def store_events(self, events: Sequence[NewEvent]) -> list[str]:
        """Store events in one transaction (duplicates ignored); returns their ids."""
        ...

    @property
    def engine(self) -> Engine:
        """The store's engine, handed to `mailbox_state` (a poller's cursors, lease and health)."""
        ...

    @property
    def files(self) -> FileStore: ...


@runtime_checkable
class Connector(Protocol):
    channel: str

    def routes(self) -> list[Route]: ...

    def process(self, event: StoredEvent, ctx: ParseContext) -> Outcome: ...
