"""Outbound webhooks from the outbox to a real local receiver: signatures, retries, dead letters, leases."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from gateway.config import Settings
from gateway.core.jobs import Done
from gateway.delivery.runner import OutboxRunner
from gateway.delivery.webhooks import WebhookPerformer, settings_secrets, signature
from gateway.egress import AsyncOutboundClient, OutboundPolicy
from gateway.store import outbox
from gateway.store.bootstrap import bootstrap
from gateway.store.database import Database
from gateway.store.db import make_engine
from gateway.store.outbox import Recorded
from gateway.store.schema import outbox as outbox_table
from tests.conftest import make_settings
from tests.webhooks.conftest import SECRET, Receiver, verify

FAST = (0.01, 0.01, 0.01, 0.01)  # retry delays for the tests: five attempts in all


@dataclass
class Outbox:
    settings: Settings
    db: Database
    client: AsyncOutboundClient

    def deliverer(self, client: AsyncOutboundClient | None = None, concurrency: int = 8,
                  poll_s: float = 1.0) -> OutboxRunner:
        performer = WebhookPerformer(client or self.client, settings_secrets(self.settings), delays=FAST,
                                     concurrency=concurrency)
        return OutboxRunner(self.db, {"webhook": performer}, poll_s=poll_s)

    def enqueue(self, event_type: str = "lead.created", payload: dict | None = None) -> list[str]:
        with self.db.engine.begin() as conn:
            return outbox.enqueue_webhook(conn, self.settings, event_type, payload or {"id": 7, "name": "Иван"})

    def row(self, delivery_id: str) -> dict:
        with self.db.engine.connect() as conn:
            return dict(conn.execute(select(outbox_table).where(outbox_table.c.id == delivery_id)).mappings().one())

    async def settle(self, deliverer: OutboxRunner, delivery_id: str, within_s: float = 10) -> dict:
        """Run the deliverer until the row is done or dead."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while loop.time() < deadline:
            await deliverer.run_once()
            row = self.row(delivery_id)
            if row["status"] in ("done", "dead"):
                return row
            await asyncio.sleep(0.02)
        raise AssertionError(f"delivery {delivery_id} still {self.row(delivery_id)['status']}")


@pytest.fixture
async def box(database_url: str, tmp_path: Path, receiver: Receiver) -> AsyncIterator[Outbox]:
    settings = make_settings(tmp_path, database_url=database_url, http={"allow_private_outbound": True},
                             webhooks=[{"url": receiver.url, "events": ["lead.created", "deal.created"],
                                        "secret": SECRET}])
    engine = make_engine(database_url)
    bootstrap(engine, settings)
    db = Database(engine)
    client = AsyncOutboundClient(OutboundPolicy(allow_private=True, timeout_s=5))
    try:
        yield Outbox(settings, db, client)
    finally:
        await client.aclose()
        db.close()
        engine.dispose()


def test_the_signature_matches_the_specifications_test_vector() -> None:
    sig = signature("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                    b'{"test": 2432232314}')
    assert sig == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_plain_secret_is_used_as_it_is() -> None:
    body = b'{"a":1}'
    headers = {"webhook-id": "msg_1", "webhook-timestamp": "1700000000",
               "webhook-signature": signature("plain-secret-123", "msg_1", 1700000000, body)}
    assert verify("plain-secret-123", headers, body, now=1700000000)
    assert not verify("plain-secret-124", headers, body, now=1700000000)
    assert not verify("plain-secret-123", headers, b'{"a":2}', now=1700000000)
    assert not verify("plain-secret-123", headers, body, now=1700000000 + 301)  # replayed too late


async def test_a_delivery_arrives_signed_once(box: Outbox, receiver: Receiver) -> None:
    [msg_id] = box.enqueue(payload={"id": 7, "name": "Иван"})
    row = await box.settle(box.deliverer(), msg_id)
    assert row["status"] == "done" and row["attempts"] == 1 and row["last_status"] == 200
    assert row["delivered_at"] is not None
    [got] = receiver.got
    assert got["verified"]
    assert got["headers"]["webhook-id"] == msg_id
    body = json.loads(got["body"])
    assert body["type"] == "lead.created" and body["data"] == {"id": 7, "name": "Иван"}
    assert datetime.fromisoformat(body["timestamp"]).tzinfo is not None


async def test_a_receiver_failing_three_times_gets_it_on_the_fourth(box: Outbox, receiver: Receiver) -> None:
    receiver.fail_first = 3
    [msg_id] = box.enqueue()
    row = await box.settle(box.deliverer(), msg_id)
    assert row["status"] == "done" and row["attempts"] == 4 and row["last_status"] == 200
    assert len(receiver.got) == 4
    assert all(receiver.verified)
    assert {g["headers"]["webhook-id"] for g in receiver.got} == {msg_id}  # the same message each time
    assert len({g["body"] for g in receiver.got}) == 1


async def test_a_receiver_that_never_answers_well_ends_dead_and_replay_sends_again(
        box: Outbox, receiver: Receiver) -> None:
    receiver.status, receiver.fail_first = 410, 0
    [msg_id] = box.enqueue()
    row = await box.settle(box.deliverer(), msg_id)
    assert row["status"] == "dead" and row["attempts"] == len(FAST) + 1
    assert row["last_status"] == 410 and "410" in row["last_error"]
    assert len(receiver.got) == len(FAST) + 1
    receiver.status = 200
    with box.db.engine.begin() as conn:
        assert outbox.replay(conn, msg_id, now=datetime.now(UTC))
    row = await box.settle(box.deliverer(), msg_id)
    assert row["status"] == "done" and row["attempts"] == 1
    assert receiver.got[-1]["headers"]["webhook-id"] == msg_id


async def test_private_addresses_are_refused_unless_allowed(box: Outbox, receiver: Receiver) -> None:
    strict = AsyncOutboundClient(OutboundPolicy(allow_private=False, timeout_s=5))
    try:
        [msg_id] = box.enqueue()
        deliverer = box.deliverer(strict)
        row = await box.settle(deliverer, msg_id)
    finally:
        await strict.aclose()
    assert row["status"] == "dead" and row["attempts"] == 1 and "refused" in row["last_error"]
    assert receiver.got == []


async def test_only_subscribed_events_are_queued(box: Outbox) -> None:
    assert box.enqueue("lead.declined") == []
    assert len(box.enqueue("deal.created")) == 1


async def test_an_enqueue_rolled_back_with_its_transaction_leaves_nothing(box: Outbox) -> None:
    with pytest.raises(RuntimeError), box.db.engine.begin() as conn:
        outbox.enqueue_webhook(conn, box.settings, "lead.created", {"id": 1})
        raise RuntimeError("the pipeline failed")
    with box.db.engine.connect() as conn:
        assert outbox.list_deliveries(conn) == []


async def test_two_deliverers_never_send_a_row_twice(box: Outbox, receiver: Receiver) -> None:
    ids = [box.enqueue(payload={"id": i})[0] for i in range(30)]
    a, b = box.deliverer(concurrency=5), box.deliverer(concurrency=5)
    for _ in range(20):
        await asyncio.gather(a.run_once(), b.run_once())
    assert {box.row(i)["status"] for i in ids} == {"done"}
    sent = [g["headers"]["webhook-id"] for g in receiver.got]
    assert sorted(sent) == sorted(ids)  # each exactly once


async def test_a_lapsed_lease_is_claimed_again_and_the_first_sender_cannot_record(box: Outbox) -> None:
    [msg_id] = box.enqueue()
    now = datetime.now(UTC)
    with box.db.engine.begin() as conn:
        [first] = outbox.claim_due(conn, now=now, limit=10, lease_s=60)
        assert outbox.claim_due(conn, now=now + timedelta(seconds=30), limit=10, lease_s=60) == []
        [second] = outbox.claim_due(conn, now=now + timedelta(seconds=61), limit=10, lease_s=60)
        assert second["id"] == msg_id
        assert outbox.record_outcomes(conn, [Recorded(first, Done(status_code=200))], now=now) == [None]
        assert outbox.record_outcomes(conn, [Recorded(second, Done(status_code=200))], now=now) == ["done"]
    assert box.row(msg_id)["status"] == "done"


async def test_the_loop_delivers_in_the_background(box: Outbox, receiver: Receiver) -> None:
    deliverer = box.deliverer(poll_s=0.02)
    deliverer.start()
    try:
        [msg_id] = box.enqueue()
        for _ in range(500):
            if box.row(msg_id)["status"] == "done":
                break
            await asyncio.sleep(0.02)
    finally:
        await deliverer.stop()
    assert box.row(msg_id)["status"] == "done" and receiver.verified == [True]
