"""A provider's overlong id never overflows the event log's key column and never fails the batch it rides in."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from gateway.connectors.base import NewEvent
from gateway.store import event_log
from gateway.store.bootstrap import bootstrap
from gateway.store.db import make_engine
from gateway.store.raw_events import KEY_LENGTH
from tests.conftest import make_settings

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _event(key: str, group: str | None = None) -> NewEvent:
    return NewEvent(connector="telegram", account="shop", key=key, group_key=group, body=b"{}", received_at=NOW)


def test_an_overlong_key_is_stored_bounded_and_is_still_a_duplicate(tmp_path: Path, database_url: str) -> None:
    settings = make_settings(tmp_path, database_url=database_url)
    engine = make_engine(settings.database_url)
    try:
        bootstrap(engine, settings)
        long_key, long_group = "update:" + "9" * 5000, "chat:" + "7" * 3000
        with engine.begin() as conn:  # a neighbour in the same group commit is not failed by it
            stored = event_log.append(conn, [_event("update:1"), _event(long_key, long_group)])
        assert [new for _, new in stored] == [True, True]
        with engine.begin() as conn:
            again = event_log.append(conn, [_event(long_key, long_group)])
            assert again == [(stored[1][0], False)]  # the provider's retry is a duplicate
            [kept] = event_log.related(conn, "telegram", "shop", long_group)
        assert kept.id == stored[1][0]
        assert len(kept.key) <= KEY_LENGTH and kept.key.startswith("update:999")
        assert kept.key != _event("update:" + "9" * 4999).key  # a different id is a different key
    finally:
        engine.dispose()
