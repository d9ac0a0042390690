"""Rows written in bulk (PostgreSQL: COPY; SQLite: multi-row INSERTs on the driver) read back as SQLAlchemy's
INSERT writes them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from gateway.dispatch.runtime import build_runtime
from gateway.store import bulk
from gateway.store.bootstrap import bootstrap
from gateway.store.bulk import write_rows
from gateway.store.schema import contacts, identities, leads
from tests.conftest import make_settings

T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
MOSCOW = timezone(timedelta(hours=3))


@pytest.fixture
def store(database_url: str, tmp_path: Path) -> Iterator[Any]:
    rt = build_runtime(make_settings(tmp_path, database_url=database_url))
    bootstrap(rt.engine, rt.settings)
    yield rt
    rt.close()


def _lead(lead_id: int, key: str) -> dict[str, Any]:
    """A lead as the pipeline gives it: some columns left to their defaults, a JSON column None, a time not in UTC."""
    return {"id": lead_id, "key": key, "channel": "manual", "kind": "manual", "direction": "in", "status": "unsorted",
            "quality": "unverified", "advertising": False, "phone": "+79161234567", "name": "Анна «Ромашка»",
            "text": "Цена?\tс табуляцией\nи строкой; \\ обратная черта", "utm": {"utm_source": "ya"}, "call": None,
            "score_details": [{"rule": "has_phone", "points": 1}], "received_at": T0.astimezone(MOSCOW),
            "created_at": T0, "updated_at": T0}


def _read(conn: Any, key: str) -> dict[str, Any]:
    row = dict(conn.execute(select(leads).where(leads.c.key == key)).mappings().one())
    row["call is SQL NULL"] = conn.execute(select(leads.c.call.is_(None)).where(leads.c.key == key)).scalar()
    row["received_at as stored"] = conn.exec_driver_sql(
        f"SELECT CAST(received_at AS TEXT) FROM leads WHERE key = '{key}'").scalar()
    return {k: v for k, v in row.items() if k not in ("id", "key")}


def test_a_lead_written_in_bulk_reads_back_as_an_inserted_one(store: Any) -> None:
    with store.engine.begin() as conn:
        conn.execute(insert(leads), [_lead(1, "inserted")])
        assert write_rows(conn, leads, [_lead(2, "bulk")], ["key"]) == 1
    with store.engine.connect() as conn:
        inserted, written = _read(conn, "inserted"), _read(conn, "bulk")
    assert written == inserted
    assert (written["received_at"], written["tags"], written["custom"], written["call is SQL NULL"]) == \
        (T0, [], {}, False)
    assert written["text"] == "Цена?\tс табуляцией\nи строкой; \\ обратная черта"
    if store.settings.is_sqlite:  # SQLAlchemy's SQLite DateTime text: the UTC wall time, six digits of seconds
        assert written["received_at as stored"] == "2026-01-10 09:00:00.000000"


def test_a_column_one_row_leaves_out_is_null_as_in_an_insert_without_it(store: Any) -> None:
    """Rows of one write may give different columns: where a row does not give one (and it has no default), it is
    SQL NULL, as an INSERT leaving it out writes it; a JSON None given is JSON `null`, as SQLAlchemy writes it."""
    given, left_out = _lead(1, "given"), _lead(2, "left out")
    del left_out["call"]
    with store.engine.begin() as conn:
        assert write_rows(conn, leads, [given, left_out], ["key"]) == 2
        conn.execute(insert(leads), [{k: v for k, v in _lead(3, "inserted").items() if k != "call"}])
    with store.engine.connect() as conn:
        assert _read(conn, "left out")["call is SQL NULL"] is True
        assert _read(conn, "given")["call is SQL NULL"] is False
        assert _read(conn, "left out") == _read(conn, "inserted")


def test_rows_whose_key_is_taken_are_left_out_and_counted(store: Any) -> None:
    """ON CONFLICT DO NOTHING: the count says how many went in; a second write in the same transaction offers only
    its own rows (PostgreSQL: its temporary table starts empty)."""
    with store.engine.begin() as conn:
        assert write_rows(conn, leads, [_lead(1, "a"), _lead(2, "b")], ["key"]) == 2
        assert write_rows(conn, leads, [_lead(3, "b"), _lead(4, "c")], ["key"]) == 1
        if conn.dialect.name == "postgresql":
            assert conn.exec_driver_sql('SELECT count(*) FROM "leads_incoming"').scalar() == 0
    with store.engine.connect() as conn:
        assert conn.execute(select(leads.c.id, leads.c.key).order_by(leads.c.id)).all() == [(1, "a"), (2, "b"),
                                                                                              (4, "c")]


def test_more_rows_than_one_statement_holds_are_all_written_and_counted(store: Any,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite: a statement holds as many rows as its limit of parameters allows (made small here); the rest go
    in the next statements, and the count is theirs together."""
    monkeypatch.setattr(bulk, "_SQLITE_PARAMETERS", 60)  # two or three leads a statement
    with store.engine.begin() as conn:
        write_rows(conn, leads, [_lead(4, "k4")], ["key"])
        assert write_rows(conn, leads, [_lead(i, f"k{i}") for i in range(1, 11)], ["key"]) == 9
    with store.engine.connect() as conn:
        assert conn.execute(select(leads.c.key).order_by(leads.c.id)).scalars().all() == [f"k{i}" for i in
                                                                                           range(1, 11)]


def test_an_id_not_given_comes_from_the_table(store: Any) -> None:
    """Identities are written without ids: the table gives them (PostgreSQL: its sequence), as for an INSERT."""
    with store.engine.begin() as conn:
        write_rows(conn, contacts, [{"id": 7, "name": "Анна", "position": None, "created_at": T0, "updated_at": T0}])
        written = write_rows(conn, identities, [
            {"contact_id": 7, "kind": "phone", "value": "+79161234567", "created_at": T0},
            {"contact_id": 7, "kind": "email", "value": "anna@example.com", "created_at": T0}], ["value", "kind"])
        assert written == 2
        rows = conn.execute(select(identities.c.id, identities.c.kind).order_by(identities.c.id)).all()
    assert [kind for _, kind in rows] == ["phone", "email"] and all(isinstance(i, int) for i, _ in rows)
