"""PostgreSQL: rows written by COPY read back as SQLAlchemy's INSERT writes them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select

from gateway.dispatch.runtime import build_runtime
from gateway.store.bootstrap import bootstrap
from gateway.store.pg_copy import copy_rows
from gateway.store.schema import contacts, identities, leads
from tests.conftest import make_settings

T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
MOSCOW = timezone(timedelta(hours=3))


@pytest.fixture
def pg(pg_url: str, tmp_path: Path) -> Iterator[Any]:
    rt = build_runtime(make_settings(tmp_path, database_url=pg_url))
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
    row["call is SQL NULL"] = conn.exec_driver_sql("SELECT call IS NULL FROM leads WHERE key = %s", (key,)).scalar()
    return {k: v for k, v in row.items() if k not in ("id", "key")}


def test_a_copied_lead_reads_back_as_an_inserted_one(pg: Any) -> None:
    with pg.engine.begin() as conn:
        conn.execute(insert(leads), [_lead(1, "inserted")])
        assert copy_rows(conn, leads, [_lead(2, "copied")], ["key"]) == 1
    with pg.engine.connect() as conn:
        inserted, copied = _read(conn, "inserted"), _read(conn, "copied")
    assert copied == inserted
    assert (copied["received_at"], copied["tags"], copied["custom"], copied["call is SQL NULL"]) == (T0, [], {}, False)
    assert copied["text"] == "Цена?\tс табуляцией\nи строкой; \\ обратная черта"


def test_rows_whose_key_is_taken_are_left_out_and_counted(pg: Any) -> None:
    """ON CONFLICT DO NOTHING: the count says how many went in; a second COPY in the same transaction starts from
    an empty temporary table (the first one's rows are not offered again)."""
    with pg.engine.begin() as conn:
        assert copy_rows(conn, leads, [_lead(1, "a"), _lead(2, "b")], ["key"]) == 2
        assert copy_rows(conn, leads, [_lead(3, "b"), _lead(4, "c")], ["key"]) == 1
        assert conn.exec_driver_sql('SELECT count(*) FROM "leads_incoming"').scalar() == 0
    with pg.engine.connect() as conn:
        assert conn.execute(select(leads.c.id, leads.c.key).order_by(leads.c.id)).all() == [(1, "a"), (2, "b"),
                                                                                              (4, "c")]


def test_an_id_not_given_comes_from_the_sequence(pg: Any) -> None:
    """Identities are written without ids: the table's sequence gives them, as it does for an INSERT."""
    with pg.engine.begin() as conn:
        copy_rows(conn, contacts, [{"id": 7, "name": "Анна", "position": None, "created_at": T0, "updated_at": T0}])
        written = copy_rows(conn, identities, [
            {"contact_id": 7, "kind": "phone", "value": "+79161234567", "created_at": T0},
            {"contact_id": 7, "kind": "email", "value": "anna@example.com", "created_at": T0}], ["value", "kind"])
        assert written == 2
        rows = conn.execute(select(identities.c.id, identities.c.kind).order_by(identities.c.id)).all()
    assert [kind for _, kind in rows] == ["phone", "email"] and all(isinstance(i, int) for i, _ in rows)
