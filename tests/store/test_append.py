"""The event log's insert, the edge's hot path, on both stores: every column as given, duplicates told apart.

SQLite takes the rows as multi-row INSERTs and PostgreSQL as one array a column (unnest); each test reads
the rows back through the schema, so a column moved, dropped or cast wrongly by either statement is seen.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, select

from gateway.connectors.base import NewEvent
from gateway.store import event_log
from gateway.store.schema import events

MOSCOW = timezone(timedelta(hours=3))
T0 = datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=UTC)


def _event(key: str, **fields: Any) -> NewEvent:
    return NewEvent(**{"connector": "mango", "account": "office", "key": key, "body": b"{}", "received_at": T0,
                       **fields})


def _row(engine: Engine, event_id: str) -> dict[str, Any]:
    with engine.connect() as conn:
        return dict(conn.execute(select(events).where(events.c.id == event_id)).mappings().one())


def test_every_column_reads_back_as_given(engine: Engine) -> None:
    full = _event("call:e1:c1:1", name="call", group_key="e1", headers={"content-type": "application/json"},
                  body=b'{"a":"\xd0\x9f"}\x00\xff', received_at=T0.astimezone(MOSCOW))
    bare = _event("update:7", name=None, group_key=None, headers={}, body=b"",
                  received_at=datetime(2026, 11, 30, 9, 30),  # naive: taken as UTC
                  not_before=T0 + timedelta(minutes=5))
    with engine.begin() as conn:
        stored = event_log.append(conn, [full, bare])
    assert [new for _, new in stored] == [True, True]
    first, second = (_row(engine, event_id) for event_id, _ in stored)
    assert {k: first[k] for k in ("connector", "account", "key", "name", "group_key", "headers", "status",
                                  "attempts")} == {
        "connector": "mango", "account": "office", "key": "call:e1:c1:1", "name": "call", "group_key": "e1",
        "headers": {"content-type": "application/json"}, "status": "pending", "attempts": 0}
    assert bytes(first["body"]) == b'{"a":"\xd0\x9f"}\x00\xff'
    assert first["received_at"] == T0 and first["next_attempt_at"] == T0  # the same moment, whatever its zone
    assert (second["name"], second["group_key"], second["headers"], bytes(second["body"])) == \
        (None, None, {}, b"")
    assert second["received_at"] == datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
    assert second["next_attempt_at"] == T0 + timedelta(minutes=5)  # due only from its not_before


def test_a_key_met_twice_in_a_batch_or_again_later_is_answered_with_the_first_id(engine: Engine) -> None:
    with engine.begin() as conn:
        first = event_log.append(conn, [_event("a"), _event("b"), _event("a", body=b'{"retry":1}')])
    (a_id, a_new), (b_id, b_new), again = first
    assert (a_new, b_new) == (True, True) and again == (a_id, False)
    with engine.begin() as conn:
        later = event_log.append(conn, [_event("b"), _event("c")])
    assert later[0] == (b_id, False) and later[1][1] is True
    with engine.connect() as conn:
        kept = dict(conn.execute(select(events.c.key, events.c.body)).all())
    assert {k: bytes(v) for k, v in kept.items()} == {"a": b"{}", "b": b"{}", "c": b"{}"}  # the first one kept


def test_a_batch_larger_than_one_statement_stores_every_row_in_order(engine: Engine) -> None:
    batch = [_event(f"k{n}", group_key=f"g{n % 7}") for n in range(1_234)]
    with engine.begin() as conn:
        stored = event_log.append(conn, batch)
    assert all(new for _, new in stored) and len({event_id for event_id, _ in stored}) == len(batch)
    with engine.connect() as conn:
        keys = dict(conn.execute(select(events.c.id, events.c.key)).all())
    assert [keys[event_id] for event_id, _ in stored] == [ev.key for ev in batch]
