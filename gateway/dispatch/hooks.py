"""What else happens when the pipeline stores a lead (outbound webhooks are queued here)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection

from gateway.config import Settings
from gateway.connectors.base import StoredEvent
from gateway.core.pipeline import PipelineResult

__all__ = ["lead_hooks"]

LeadHook = Callable[[Connection, PipelineResult, StoredEvent], None]


def lead_hooks(settings: Settings) -> list[LeadHook]:
    hooks: list[LeadHook] = []
    if settings.webhooks:
        try:
            from gateway.store.outbox import pipeline_hook
        except ImportError:  # the outbox module is optional until outbound webhooks are configured
            return hooks
        hooks.append(pipeline_hook(settings))
    return hooks
