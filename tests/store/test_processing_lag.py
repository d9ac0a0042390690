"""The processing lag (`gateway_processing_lag_seconds`): how long due work has waited, on both stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.connectors.base import NewEvent
from gateway.store import event_log
from gateway.store.bootstrap import bootstrap
from gateway.store.db import make_engine
from tests.conftest import make_settings

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def event(key: str, received: datetime, not_before: datetime | None = None) -> NewEvent:
    return NewEvent(connector="manual", account="t", key=key, body=b"{}", received_at=received, not_before=not_before)


def test_work_scheduled_for_later_is_no_lag(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url=database_url)
    engine = make_engine(settings.database_url, synchronous=settings.sqlite_synchronous)
    bootstrap(engine, settings)
    with engine.begin() as conn:
        assert event_log.oldest_pending_age(conn, NOW) == 0.0  # an empty log
        # an hour-old event waiting for its retry in ten minutes, and a follow-up due tomorrow
        [(failed, _)] = event_log.append(conn, [event("old", NOW - timedelta(hours=1))])
        event_log.fail(conn, failed, error="upstream down", now=NOW, max_attempts=8, base_s=600, max_s=600)
        event_log.append(conn, [event("later", NOW - timedelta(minutes=5), not_before=NOW + timedelta(days=1))])
        assert event_log.oldest_pending_age(conn, NOW) == 0.0  # nothing is due: nothing is late
        # once the retry is due, its lag counts from then, not from when the event arrived
        retry_at = event_log.get(conn, failed)["next_attempt_at"]
        retry_at = retry_at if retry_at.tzinfo else retry_at.replace(tzinfo=UTC)
        later = NOW + timedelta(minutes=13)
        assert 0 < event_log.oldest_pending_age(conn, later) == (later - retry_at).total_seconds() < 13 * 60
        event_log.append(conn, [event("due", NOW - timedelta(seconds=30))])
        assert event_log.oldest_pending_age(conn, NOW) == 30.0
    engine.dispose()
