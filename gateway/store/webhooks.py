"""Outbound webhooks: Standard Webhooks signatures and the delivery loop over the outbox.

Each attempt is signed afresh: `webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`,
where the key is the secret's bytes, or for a `whsec_<base64>` secret the decoded base64. Failed
attempts are retried after RETRY_DELAYS (about a day in all); after the last one the row is dead,
visible in the delivery log and replayable. Redirects are not a success.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import random
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import structlog

from gateway.config import Settings, WebhookSubscription
from gateway.core.errors import PermanentUpstreamError, UpstreamError
from gateway.outbound import AsyncOutboundClient, guard_url
from gateway.store import outbox
from gateway.store.database import Database

__all__ = ["RETRY_DELAYS", "WebhookDeliverer", "signature", "signing_key", "webhook_headers"]

log = structlog.get_logger(__name__)
Clock = Callable[[], datetime]
# Seconds to wait after the 1st, 2nd... failed attempt: 8 attempts over about 27 hours, then dead.
RETRY_DELAYS: tuple[float, ...] = (5, 300, 1800, 7200, 18000, 36000, 36000)


def signing_key(secret: str) -> bytes:
    """The HMAC key: a `whsec_` secret is base64 after its prefix; any other secret is used as it is."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except ValueError:
            pass
    return secret.encode()


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(signing_key(secret), signed, hashlib.sha256).digest()).decode()


def webhook_headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp),
            "webhook-signature": signature(secret, msg_id, timestamp, body),
            "content-type": "application/json", "user-agent": "LeadGateway-Webhooks/1"}


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


class WebhookDeliverer:
    """Claims due outbox rows (under a lease, so that several processes never double-send) and delivers them."""

    def __init__(self, settings: Settings, db: Database, client: AsyncOutboundClient, *,
                 delays: Sequence[float] = RETRY_DELAYS, clock: Clock = lambda: datetime.now(UTC),
                 poll_s: float = 1.0, batch: int = 20, concurrency: int = 8) -> None:
        self.settings, self.db, self.client, self.delays, self.clock = settings, db, client, tuple(delays), clock
        self.poll_s, self.batch = poll_s, batch
        self.lease_s = client.policy.timeout_s * 2 + 30
        self._limit = asyncio.Semaphore(concurrency)
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def _subscription(self, url: str) -> WebhookSubscription | None:
        return next((s for s in self.settings.webhooks if s.url == url), None)

    def _retry_in(self, attempts_made: int) -> float | None:
        if attempts_made > len(self.delays):
            return None
        base = self.delays[attempts_made - 1]
        return base * random.uniform(0.9, 1.1) if base > 1 else base  # jitter

    async def _attempt(self, row: dict[str, Any]) -> tuple[bool, int | None, str | None, bool]:
        """(delivered, status code, error, worth retrying)."""
        sub = self._subscription(row["subscription"])
        if sub is None:
            return False, None, "subscription removed from the settings", False
        try:
            guard_url(sub.url, allow_private=self.client.policy.allow_private)
        except PermanentUpstreamError as exc:
            return False, None, f"refused: {exc.message}", False
        body = body_of(row["payload"])
        headers = webhook_headers(sub.secret, row["id"], int(self.clock().timestamp()), body)
        try:
            resp = await self.client.send_once("POST", sub.url, content=body, headers=headers)
        except UpstreamError as exc:
            return False, None, exc.message, True
        if 200 <= resp.status_code < 300:
            return True, resp.status_code, None, False
        return False, resp.status_code, f"answered {resp.status_code}: {resp.text[:200]}", True

    async def _deliver(self, row: dict[str, Any]) -> None:
        async with self._limit:
            ok, code, error, retry = await self._attempt(row)
        retry_in = self._retry_in(row["attempts"] + 1) if retry else None
        status = await self.db.write(outbox.record_outcome, row, now=self.clock(), ok=ok, status_code=code,
                                     error=error, retry_in=retry_in)
        event = "webhook.delivered" if ok else "webhook.dead" if status == "dead" else "webhook.failed"
        # the receiver's answer may echo personal data: it stays in the delivery log, not in the process log
        (log.info if ok else log.warning)(event, delivery=row["id"], event_type=row["event_type"],
                                          attempt=row["attempts"] + 1, status=code,
                                          error=error if code is None else None)

    async def run_once(self) -> int:
        """Claim and deliver one batch of due rows; how many were claimed."""
        rows = await self.db.write(outbox.claim_due, now=self.clock(), limit=self.batch, lease_s=self.lease_s)
        await asyncio.gather(*(self._deliver(r) for r in rows))
        return len(rows)

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                claimed = await self.run_once()
            except Exception:  # a process boundary: the loop must outlive a failing store
                log.exception("webhook.loop_failed")
                claimed = 0
            if not claimed:
                try:
                    await asyncio.wait_for(self._stopping.wait(), self.poll_s)
                except TimeoutError:
                    pass

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="webhook-delivery")

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task


async def start_delivery(app: Any, settings: Settings, runtime: Any) -> Callable[[], Awaitable[None]]:
    """The always-running service: delivers the outbox while `gateway serve` runs (when webhooks are set)."""
    from gateway.http.keys import DB, HTTP

    if not settings.webhooks:
        async def nothing() -> None:
            return None
        return nothing
    deliverer = WebhookDeliverer(settings, app[DB], app[HTTP])
    deliverer.start()
    return deliverer.stop
