"""Every timestamp column gives back an aware UTC datetime, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import httpx
from sqlalchemy import insert, select

from gateway.store.db import make_engine
from gateway.store.schema import UtcDateTime, mailbox_state, metadata
from tests.conftest import Server

MOSCOW = timezone(timedelta(hours=3))


def test_every_timestamp_column_has_the_utc_type() -> None:
    naive = [f"{t.name}.{c.name}" for t in metadata.tables.values() for c in t.columns
             if "DATETIME" in str(c.type.compile()).upper() or "TIMESTAMP" in str(c.type.compile()).upper()
             if not isinstance(c.type, UtcDateTime)]
    assert naive == []


def test_times_come_back_aware_in_utc(database_url: str, tmp_path: Path) -> None:
    engine = make_engine(database_url)
    metadata.create_all(engine)
    try:
        with engine.begin() as conn:
            conn.execute(insert(mailbox_state).values(
                mailbox="sales", folder="INBOX", last_uid=0,
                last_ok_at=datetime(2026, 3, 2, 9, 30, tzinfo=MOSCOW),  # aware, not UTC
                last_poll_at=datetime(2026, 3, 2, 6, 31),  # naive: taken as UTC
            ))
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql("SET TIME ZONE 'Asia/Vladivostok'")  # the server answers in +10:00
            ok, polled = conn.execute(select(mailbox_state.c.last_ok_at, mailbox_state.c.last_poll_at)).one()
            if engine.dialect.name == "sqlite":  # storage unchanged: UTC wall time, no offset
                raw = conn.exec_driver_sql("SELECT last_ok_at FROM mailbox_state").scalar()
                assert raw == "2026-03-02 06:30:00.000000"
        assert (ok, polled) == (datetime(2026, 3, 2, 6, 30, tzinfo=UTC), datetime(2026, 3, 2, 6, 31, tzinfo=UTC))
        assert ok.utcoffset() == polled.utcoffset() == timedelta(0)
    finally:
        engine.dispose()


def test_sqlite_stores_each_moment_as_its_utc_text_whatever_its_zone_and_whatever_came_before() -> None:
    """The SQLite bind remembers the last texts it made: a moment met again in another zone (equal, so the same
    entry) still gives its UTC wall time, and a naive one is taken as UTC."""
    from sqlalchemy.dialects import sqlite

    bind = UtcDateTime().bind_processor(sqlite.dialect())
    moment = datetime(2026, 3, 2, 6, 30, 0, 5, tzinfo=UTC)
    assert [bind(v) for v in (moment, moment.astimezone(MOSCOW), moment, moment.replace(tzinfo=None),
                              moment + timedelta(hours=1), None)] == [
        "2026-03-02 06:30:00.000005", "2026-03-02 06:30:00.000005", "2026-03-02 06:30:00.000005",
        "2026-03-02 06:30:00.000005", "2026-03-02 07:30:00.000005", None]


async def test_api_times_carry_their_offset(server: Server) -> None:
    async with httpx.AsyncClient() as client:
        r = await client.post(f"{server.url}/api/v1/leads", json={"name": "Анна", "phone": "+7 916 000 11 22"},
                              headers=server.headers())
        assert r.status_code in (201, 202), r.text
        items = (await client.get(f"{server.url}/api/v1/events", headers=server.headers())).json()["items"]
    times = {k: v for item in items for k, v in item.items() if k.endswith("_at") and v is not None}
    assert "next_attempt_at" in times and "received_at" in times
    assert all(v.endswith("+00:00") for v in times.values()), times
