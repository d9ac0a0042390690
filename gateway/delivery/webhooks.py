"""Outbound webhooks: Standard Webhooks signatures, and the performer of `webhook` jobs.

Each attempt is signed afresh: `webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`,
where the key is the secret's bytes, or for a `whsec_<base64>` secret the decoded base64. Failed
attempts are retried after RETRY_DELAYS (about a day in all); after the last one the job is dead,
visible in the delivery log and replayable. Redirects are not a success.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from gateway.config import Settings
from gateway.core.errors import PermanentUpstreamError, UpstreamError
from gateway.core.jobs import Dead, Done, Job, JobOutcome, Retry
from gateway.egress import AsyncOutboundClient, guard_url

__all__ = ["RETRY_DELAYS", "WebhookPerformer", "body_of", "signature", "signing_key", "webhook_headers"]

Clock = Callable[[], datetime]
SecretFor = Callable[[str], str | None]
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


def body_of(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def settings_secrets(settings: Settings) -> SecretFor:
    """The signing secret of a webhook URL: a subscription's, or a trigger's that sends there."""
    secrets = {t.url: t.secret for t in settings.all_triggers() if t.url and t.secret}
    secrets.update({s.url: s.secret for s in settings.webhooks})
    return secrets.get


class WebhookPerformer:
    """Sends `webhook` jobs: the job's target is the URL, its payload the body; the secret comes from the settings."""

    kind = "webhook"

    def __init__(self, client: AsyncOutboundClient, secret_for: SecretFor, *,
                 delays: Sequence[float] = RETRY_DELAYS, clock: Clock = lambda: datetime.now(UTC),
                 concurrency: int = 8) -> None:
        self.client, self.secret_for, self.clock = client, secret_for, clock
        self.delays: Sequence[float] = tuple(delays)
        self.concurrency = concurrency

    async def perform(self, job: Job) -> JobOutcome:
        secret = self.secret_for(job.target)
        if secret is None:
            return Dead("the subscription was removed from the settings")
        try:
            guard_url(job.target, allow_private=self.client.policy.allow_private)
        except PermanentUpstreamError as exc:
            return Dead(f"refused: {exc.message}")
        body = body_of(job.payload)
        headers = webhook_headers(secret, job.id, int(self.clock().timestamp()), body)
        try:
            resp = await self.client.send_once("POST", job.target, content=body, headers=headers)
        except UpstreamError as exc:
            return Retry(exc.message)
        if 200 <= resp.status_code < 300:
            return Done(status_code=resp.status_code)
        return Retry(f"answered {resp.status_code}: {resp.text[:200]}", status_code=resp.status_code)
