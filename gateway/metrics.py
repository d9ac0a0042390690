"""Prometheus metrics: this process's counters plus gauges read from the store at scrape time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, disable_created_metrics, generate_latest
from sqlalchemy import Connection

from gateway.store import event_log

__all__ = ["Metrics"]


class Metrics:
    def __init__(self) -> None:
        disable_created_metrics()
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.accepted = Counter("gateway_events_accepted", "Events stored by this process", ["connector"], registry=r)
        self.duplicates = Counter("gateway_events_duplicate", "Duplicate deliveries answered without storing",
                                  registry=r)
        self.processed = Counter("gateway_events_processed", "Events processed by this process", registry=r)
        self.failed = Counter("gateway_events_failed", "Event processing failures in this process", registry=r)
        self.dead = Counter("gateway_events_dead", "Events that ran out of attempts in this process", registry=r)
        self.outbox = Counter("gateway_outbox_jobs", "Outbound jobs attempted by this process, by outcome",
                              ["kind", "target", "outcome"], registry=r)
        self.by_status = Gauge("gateway_events", "Events in the log by status", ["status"], registry=r)
        self.lag = Gauge("gateway_processing_lag_seconds",
                         "Seconds the longest-waiting due event has waited (0 when nothing is due)", registry=r)
        self.mailbox_ok = Gauge("gateway_mailbox_last_ok_timestamp_seconds", "Last good poll of a mailbox",
                                ["mailbox", "folder"], registry=r)
        self.mailbox_error = Gauge("gateway_mailbox_error", "1 when the last poll of a mailbox failed",
                                   ["mailbox", "folder"], registry=r)

    def count_job(self, kind: str, target: str, outcome: str) -> None:
        """One attempt of an outbound job; a webhook's target is a URL, so it is not a label."""
        self.outbox.labels(kind, "" if kind == "webhook" else target, outcome).inc()

    def refresh_from_store(self, conn: Connection) -> None:
        now = datetime.now(UTC)
        counts = event_log.count_by_status(conn)
        for status in ("pending", "processing", "done", "failed", "dead"):
            self.by_status.labels(status).set(counts.get(status, 0))
        self.lag.set(event_log.oldest_pending_age(conn, now))
        for row in _mailboxes(conn):
            labels = (row["mailbox"], row["folder"])
            if row["last_ok_at"] is not None:
                ts = row["last_ok_at"]
                self.mailbox_ok.labels(*labels).set(ts.timestamp())
            self.mailbox_error.labels(*labels).set(1 if row["last_error"] else 0)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _mailboxes(conn: Connection) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from gateway.store.schema import mailbox_state

    return [dict(r) for r in conn.execute(select(mailbox_state)).mappings()]
