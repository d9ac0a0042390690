"""What else happens when the pipeline stores a lead: outbound webhooks and sink deliveries are queued, a new deal's
triggers decided, a missed call's callback task created."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Connection

from gateway.config import Settings
from gateway.connectors.base import StoredEvent
from gateway.core.pipeline import PipelineResult
from gateway.sinks import jobs as sink_jobs
from gateway.store import automation
from gateway.store.callbacks import callback_task
from gateway.store.outbox import pipeline_hook

__all__ = ["hooks_quiet", "lead_hooks"]

LeadHook = Callable[[Connection, PipelineResult, StoredEvent], None]
Clock = Callable[[], datetime]


def work_hook(settings: Settings, clock: Clock = lambda: datetime.now(UTC)) -> LeadHook:
    """A deal the pipeline created sets off its pipeline's triggers; a missed call becomes a callback task."""
    def hook(conn: Connection, result: PipelineResult, event: StoredEvent) -> None:
        now = clock()
        for event_type, deal_id in result.events:
            if event_type == "deal.created":
                automation.deal_created(conn, settings, deal_id, now=now)
        if result.callback and result.lead_id is not None:
            callback_task(conn, settings, result.lead_id, now)

    return hook


def lead_hooks(settings: Settings) -> list[LeadHook]:
    hooks: list[LeadHook] = [pipeline_hook(settings)] if settings.webhooks else []
    if settings.sinks.all:
        hooks.append(sink_jobs.hook(settings.sinks.all))
    return [*hooks, work_hook(settings)]


def hooks_quiet(settings: Settings) -> Callable[[PipelineResult], bool]:
    """Whether the hooks above write nothing for a result: no webhooks or sinks to queue, no deal created,
    no callback task (the processor may then keep a new lead's row for a multi-row insert)."""
    outbound = bool(settings.webhooks or settings.sinks.all)

    def quiet(result: PipelineResult) -> bool:
        return not outbound and not result.callback and all(kind == "lead.created" for kind, _ in result.events)

    return quiet
