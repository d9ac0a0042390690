"""Helpers of the messenger tests: settings, fixtures, requests, and an in-memory event log.

The event log here plays the worker's part (store with dedupe, process, keep results,
store follow-ups) so that a message, its media follow-up and its refreshed interaction
can be run end to end without the store.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gateway.config import Settings
from gateway.connectors.base import InboundRequest, NewEvent, Outcome, Reply, StoredEvent
from gateway.egress import OutboundClient
from gateway.store.files import FileStore

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
RECEIVED = datetime(2026, 1, 1, 10, 30, tzinfo=UTC)
NOW = datetime(2026, 1, 1, 10, 31, tzinfo=UTC)

TG_TOKEN = "123456:TEST-bot-token"
TG_SECRET = "tg-test-secret_0123"
VK_SECRET = "vk-test-secret-0123"
VK_TOKEN = "vk1.a.test-community-token"
VK_CONFIRMATION = "a1b2c3d4"
VK_GROUP_ID = 229000001
WA_APP_SECRET = "test_app_secret"
WA_VERIFY = "wa-verify-token-0123"
WA_TOKEN = "EAAG-test-access-token"
WA_PHONE_ID = "106540352242922"


def messenger_settings(**overrides: dict[str, Any]) -> Settings:
    """One bot, one group, one number, with the test secrets; `overrides` patch each section."""
    telegram = {"bot": "sales_bot", "token": TG_TOKEN, "secret_token": TG_SECRET,
                "referral_sources": {"yandex_direct": "Яндекс.Директ"}} | overrides.get("telegram", {})
    vk = {"group": "shop", "group_id": VK_GROUP_ID, "secret": VK_SECRET, "confirmation": VK_CONFIRMATION,
          "access_token": VK_TOKEN} | overrides.get("vk", {})
    whatsapp = {"account": "main", "verify_token": WA_VERIFY, "app_secret": WA_APP_SECRET,
                "access_token": WA_TOKEN, "phone_number_id": WA_PHONE_ID} | overrides.get("whatsapp", {})
    return Settings(default_region="RU", messengers={"telegram": [telegram], "vk": [vk], "whatsapp": [whatsapp]})


def fixture_bytes(provider: str, name: str) -> bytes:
    return (FIXTURES / provider / name).read_bytes()


def fixture_json(provider: str, name: str) -> dict[str, Any]:
    return json.loads(fixture_bytes(provider, name))


def vk_body(name: str, secret: str = VK_SECRET) -> bytes:
    """A VK fixture with the community secret put in, as VK sends it."""
    data = fixture_json("vk", name)
    if data.get("type") != "confirmation":
        data["secret"] = secret
    return json.dumps(data, ensure_ascii=False).encode()


def wa_signature(body: bytes, secret: str = WA_APP_SECRET) -> str:
    """The X-Hub-Signature-256 value, computed here from the test secret (never stored)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def inbound(method: str, path: str, match: dict[str, str], *, body: bytes = b"",
            headers: dict[str, str] | None = None, query: dict[str, str] | None = None,
            read_forbidden: bool = False) -> InboundRequest:
    """An InboundRequest as the HTTP app builds it; `read_forbidden` fails the test if the body is read."""

    async def read() -> bytes:
        if read_forbidden:
            raise AssertionError("the body was read before the request was verified")
        return body

    async def stream() -> AsyncIterator[bytes]:
        yield body

    return InboundRequest(method=method, path=path, match=match, headers=headers or {}, query=query or {},
                          remote="149.154.167.220", content_type="application/json", content_length=len(body),
                          read=read, stream=stream, received_at=RECEIVED)


class EventLog:
    """An in-memory event log with the worker's lifecycle; also the ParseContext of `process`."""

    def __init__(self, connector: Any, files: FileStore, http: OutboundClient, now: datetime = NOW) -> None:
        self.connector = connector
        self.files = files
        self.http = http
        self.now = now
        self.events: dict[str, StoredEvent] = {}
        self.done: set[str] = set()
        self._keys: dict[tuple[str, str, str], str] = {}

    def store(self, new: list[NewEvent]) -> list[str]:
        ids = []
        for e in new:
            k = (e.connector, e.account, e.key)
            if k not in self._keys:
                eid = str(len(self.events) + 1)
                self._keys[k] = eid
                self.events[eid] = StoredEvent(
                    id=eid, connector=e.connector, account=e.account, key=e.key, name=e.name,
                    group_key=e.group_key, received_at=e.received_at, headers=dict(e.headers), body=e.body)
            ids.append(self._keys[k])
        return ids

    async def deliver(self, handler: Any, request: InboundRequest) -> tuple[Reply, list[str]]:
        outcome = await handler(request)
        ids = self.store(outcome.events)
        return outcome.build_reply(ids), ids

    def related(self, connector: str, account: str, group_key: str,
                names: tuple[str, ...] | None = None) -> list[StoredEvent]:
        return [e for e in self.events.values()
                if e.connector == connector and e.account == account and e.group_key == group_key
                and (names is None or e.name in names)]

    def process(self, event_id: str) -> Outcome:
        event = self.events[event_id]
        outcome = self.connector.process(event, self)
        self.events[event_id] = replace(event, result=outcome.result, attempts=event.attempts + 1)
        self.done.add(event_id)
        self.store(outcome.follow_ups)
        return outcome

    def drain(self) -> list[Outcome]:
        outcomes = []
        while pending := [eid for eid in self.events if eid not in self.done]:
            outcomes.extend(self.process(eid) for eid in pending)
        return outcomes

    def by_key(self, key: str) -> StoredEvent:
        return next(e for e in self.events.values() if e.key == key)
