"""Test support for the Mango connector: fixtures as deliveries, signing, requests, a worker context."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from gateway.config import Settings
from gateway.connectors.base import InboundRequest, NewEvent, Outcome, StoredEvent
from gateway.connectors.telephony.mango.signature import sign
from gateway.core.models import Interaction

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "mango"
TEST_KEY = "testkey0000000000000000000000001"  # protocols.md §6/§7 test secret
TEST_SALT = "testsalt000000000000000000000001"
ACCOUNT = "main"
T0 = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
SCENARIOS = sorted(p.stem for p in FIXTURES.glob("*.json") if not p.stem.startswith("stats_"))


@dataclass(frozen=True)
class Delivery:
    id: str
    event: str  # "call", "summary", "record/added", "result/callback", ...
    json: str  # the exact form-field string


def load(scenario: str) -> list[Delivery]:
    doc = json.loads((FIXTURES / f"{scenario}.json").read_text(encoding="utf-8"))
    return [Delivery(d["id"], d["event"], d["json"]) for d in doc["deliveries"]]


def settings(**mango: Any) -> Settings:
    conf = {
        "account": ACCOUNT, "api_key": TEST_KEY, "api_salt": TEST_SALT,
        "api_url": "https://app.mango-office.ru/vpbx/",
        "lines": {"74951234567": "Яндекс.Директ", "74957654321": "Сайт"},
        "extensions": {"101": "ivanov"},
    }
    conf.update(mango)
    return Settings(telephony={"mango": [conf]})


def form_body(json_text: str, *, key: str = TEST_KEY, salt: str = TEST_SALT, signature: str | None = None) -> bytes:
    """The urlencoded body Mango would POST, signed with the test secret unless told otherwise."""
    fields = {"vpbx_api_key": key, "sign": signature or sign(key, json_text, salt), "json": json_text}
    return urlencode(fields).encode()


def request(body: bytes, *, account: str = ACCOUNT, name: str = "call", route: str = "events",
            content_type: str = "application/x-www-form-urlencoded", at: datetime = T0) -> InboundRequest:
    async def read() -> bytes:
        return body

    async def stream() -> AsyncIterator[bytes]:
        yield body

    return InboundRequest(
        method="POST", path=f"/hooks/mango/{account}/{route}/{name}", match={"account": account, "name": name},
        headers={"content-type": content_type}, query={}, remote="81.88.80.132", content_type=content_type,
        content_length=len(body), read=read, stream=stream, received_at=at,
    )


@dataclass
class WorkerContext:
    """What the worker gives `process`: an event log in memory with the store's duplicate rule."""

    files: Any = None
    http: Any = None
    now: datetime = T0
    events: list[StoredEvent] = field(default_factory=list)

    def related(self, connector: str, account: str, group_key: str,
                names: Sequence[str] | None = None) -> Sequence[StoredEvent]:
        return [e for e in self.events if (e.connector, e.account, e.group_key) == (connector, account, group_key)
                and (names is None or e.name in names)]

    def store(self, event: NewEvent) -> StoredEvent | None:
        """Append like the event log: a duplicate key is ignored (None)."""
        if any((e.connector, e.account, e.key) == (event.connector, event.account, event.key) for e in self.events):
            return None
        stored = StoredEvent(
            id=f"{len(self.events) + 1:08d}", connector=event.connector, account=event.account, key=event.key,
            name=event.name, group_key=event.group_key, received_at=event.received_at, headers=event.headers,
            body=event.body,
        )
        self.events.append(stored)
        return stored

    def set_result(self, event_id: str, result: dict[str, Any] | None) -> None:
        self.events = [replace(e, result=result) if e.id == event_id else e for e in self.events]


async def edge_events(connector: Any, deliveries: Iterable[Delivery], start: datetime = T0) -> list[NewEvent]:
    """Run each delivery through the connector's edge handler; the events it would store."""
    handlers = {r.name: r.handler for r in connector.routes()}
    out: list[NewEvent] = []
    for i, d in enumerate(deliveries):
        is_result = d.event.startswith("result/")
        route, name = ("result", d.event.removeprefix("result/")) if is_result else ("events", d.event)
        handler = handlers["mango.result" if route == "result" else "mango.events"]
        outcome = await handler(request(form_body(d.json), name=name, route=route, at=start + timedelta(seconds=i)))
        out.extend(outcome.events)
    return out


def run(connector: Any, ctx: WorkerContext, events: Iterable[NewEvent], *, follow: bool = False) -> Interaction | None:
    """Store and process events in the given order; the last interaction produced, if any."""
    last: Interaction | None = None
    queue = list(events)
    while queue:
        stored = ctx.store(queue.pop(0))
        if stored is None:
            continue
        outcome: Outcome = connector.process(stored, ctx)
        ctx.set_result(stored.id, outcome.result)
        if outcome.interactions:
            last = outcome.interactions[-1]
        if follow:
            queue.extend(outcome.follow_ups)
    return last


def dump(interaction: Interaction | None) -> dict[str, Any] | None:
    return None if interaction is None else interaction.model_dump(mode="json")
