"""What else happens when the pipeline stores a lead: outbound webhooks and sink deliveries are queued here."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

from gateway.config import Settings
from gateway.connectors.base import StoredEvent
from gateway.core.pipeline import PipelineResult
from gateway.sinks import jobs as sink_jobs
from gateway.store.outbox import pipeline_hook

__all__ = ["lead_hooks"]

LeadHook = Callable[[Connection, PipelineResult, StoredEvent], None]


def lead_hooks(settings: Settings) -> list[LeadHook]:
    hooks: list[LeadHook] = [pipeline_hook(settings)] if settings.webhooks else []
    if settings.sinks.all:
        hooks.append(sink_jobs.hook(settings.sinks.all))
    return hooks
