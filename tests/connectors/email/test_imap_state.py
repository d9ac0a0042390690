"""The mailbox lease, the cursor's commit guard and health, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from imap_support import NOW
from sqlalchemy import Engine

from gateway.store import mailbox_state as state
from gateway.store.db import make_engine
from gateway.store.schema import metadata


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    metadata.create_all(eng)
    state.ensure_rows(eng, "sales", ["INBOX"])
    yield eng
    eng.dispose()


def test_one_lease_holder_at_a_time_until_it_expires(engine: Engine) -> None:
    assert state.acquire_lease(engine, "sales", "a", now=NOW, lease_s=60)
    assert not state.acquire_lease(engine, "sales", "b", now=NOW + timedelta(seconds=59), lease_s=60)
    assert state.acquire_lease(engine, "sales", "a", now=NOW + timedelta(seconds=30), lease_s=60)  # renewal
    assert state.acquire_lease(engine, "sales", "b", now=NOW + timedelta(seconds=91), lease_s=60)  # expired
    state.release_lease(engine, "sales", "a")  # not a's any more: changes nothing
    assert not state.acquire_lease(engine, "sales", "a", now=NOW + timedelta(seconds=92), lease_s=60)
    state.release_lease(engine, "sales", "b")
    assert state.acquire_lease(engine, "sales", "a", now=NOW + timedelta(seconds=92), lease_s=60)


def test_concurrent_pollers_one_wins(engine: Engine) -> None:
    barrier = threading.Barrier(8)
    won: list[str] = []

    def contend(owner: str) -> None:
        barrier.wait()
        if state.acquire_lease(engine, "sales", owner, now=NOW, lease_s=60):
            won.append(owner)

    threads = [threading.Thread(target=contend, args=(f"p{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1


def test_cursor_moves_only_under_our_lease(engine: Engine) -> None:
    assert state.acquire_lease(engine, "sales", "a", now=NOW, lease_s=60)
    state.commit_cursor(engine, "sales", "INBOX", "a", uidvalidity=7, last_uid=10, now=NOW, lease_s=60)
    assert state.load_cursor(engine, "sales", "INBOX").last_uid == 10
    later = NOW + timedelta(seconds=120)
    assert state.acquire_lease(engine, "sales", "b", now=later, lease_s=60)  # a was too slow
    with pytest.raises(state.LeaseLost):
        state.commit_cursor(engine, "sales", "INBOX", "a", uidvalidity=7, last_uid=20, now=later, lease_s=60)
    assert state.load_cursor(engine, "sales", "INBOX") == state.Cursor(7, 10, None)


def test_health_reports_last_poll_last_good_poll_and_error(engine: Engine) -> None:
    state.record_health(engine, "sales", state.MAILBOX_ROW, now=NOW, error=None, started=True)
    state.record_health(engine, "sales", state.MAILBOX_ROW, now=NOW, error=None)
    state.record_health(engine, "sales", "INBOX", now=NOW, error=None)
    later = NOW + timedelta(minutes=1)
    state.record_health(engine, "sales", state.MAILBOX_ROW, now=later, error=None, started=True)
    state.record_health(engine, "sales", state.MAILBOX_ROW, now=later, error="IMAP login refused: bad password")
    with engine.connect() as conn:
        [health] = state.mailbox_health(conn)
    assert health["mailbox"] == "sales" and health["ok"] is False
    assert health["last_poll_at"] == later.isoformat()
    assert health["last_ok_at"] == NOW.isoformat()
    assert health["last_error"] == "IMAP login refused: bad password"
    assert health["folders"] == [{"folder": "INBOX", "uidvalidity": None, "last_uid": 0, "last_poll_at": None,
                                  "last_ok_at": NOW.isoformat(), "last_error": None}]


def test_health_says_when_a_mailbox_has_not_been_read_for_too_long(engine: Engine) -> None:
    state.record_health(engine, "sales", state.MAILBOX_ROW, now=NOW, error=None)
    with engine.connect() as conn:
        assert "stale" not in state.mailbox_health(conn)[0]
        fresh = state.mailbox_health(conn, now=NOW + timedelta(minutes=4), poll_seconds={"sales": 60})
        late = state.mailbox_health(conn, now=NOW + timedelta(minutes=6), poll_seconds={"sales": 60})
        slow_box = state.mailbox_health(conn, now=NOW + timedelta(minutes=6), poll_seconds={"sales": 600})
    assert fresh[0]["stale"] is False and late[0]["stale"] is True and slow_box[0]["stale"] is False
