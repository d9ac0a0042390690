"""The performer of `trigger` jobs: the digital pipeline's actions, each run once, with its result kept."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import structlog

from gateway.config import Settings
from gateway.core.errors import PayloadError, PermanentUpstreamError, TransientUpstreamError, UpstreamError
from gateway.core.jobs import Dead, Done, Job, JobOutcome, Retry
from gateway.delivery.replies import lead_to_answer, send_chat_reply
from gateway.delivery.trigger_actions import SendMessage, mark_applied, run_trigger
from gateway.egress import AsyncOutboundClient
from gateway.store.database import Database

__all__ = ["TRIGGER_DELAYS", "TriggerPerformer"]

log = structlog.get_logger(__name__)
Clock = Callable[[], datetime]
# Seconds to wait after the 1st, 2nd... failed attempt (a store that was busy, a messenger that was down).
TRIGGER_DELAYS: tuple[float, ...] = (10, 60, 300, 1800, 7200, 21600)


class TriggerPerformer:
    kind = "trigger"

    def __init__(self, settings: Settings, db: Database, client: AsyncOutboundClient, *,
                 clock: Clock = lambda: datetime.now(UTC), delays: Sequence[float] = TRIGGER_DELAYS,
                 concurrency: int = 4) -> None:
        self.settings, self.db, self.client, self.clock = settings, db, client, clock
        self.delays: Sequence[float] = tuple(delays)
        self.concurrency = concurrency

    async def perform(self, job: Job) -> JobOutcome:
        step = await self.db.write(run_trigger, job, self.settings, self.clock())
        if isinstance(step, SendMessage):
            return await self._send(job, step)
        log.info("trigger.ran", trigger=job.target, deal_id=job.deal_id, outcome=type(step).__name__.lower())
        return step

    async def _send(self, job: Job, step: SendMessage) -> JobOutcome:
        """A message run: through the lead's channel; recorded as applied once sent."""
        lead = await lead_to_answer(self.db, step.lead_id)
        try:
            sent = await send_chat_reply(self.settings, self.db, self.client, lead, step.text, author=step.author)
        except PayloadError as exc:  # a text the messenger would not take
            return Dead(exc.message)
        except PermanentUpstreamError as exc:
            return Dead(f"the messenger refused: {exc.message}")
        except TransientUpstreamError as exc:
            return Retry(exc.message, after=exc.retry_after)
        except UpstreamError as exc:
            return Retry(exc.message)
        result = {"action": "message", "lead_id": step.lead_id, "message_id": sent["id"]}
        await self.db.write(mark_applied, job.id, dict(job.state), result)
        log.info("trigger.ran", trigger=job.target, deal_id=job.deal_id, outcome="done")
        return Done(result)
