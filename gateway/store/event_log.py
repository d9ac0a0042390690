"""The event log: every accepted event is a row before we answer; it is also the work queue.

Statuses: pending -> processing (claimed under a lease) -> done | failed (will retry) -> dead.
A claim takes due pending/failed events and processing events whose lease has expired
(a worker that died), so nothing depends on Redis to be found again.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, or_, select, update

from gateway.store.raw_events import NewEvent, StoredEvent, bounded_key
from gateway.store.schema import events, sqlite_time

__all__ = [
    "Claim",
    "append",
    "claim_batch",
    "complete",
    "count_by_status",
    "fail",
    "new_event_id",
    "new_event_ids",
    "oldest_pending_age",
    "related",
    "requeue",
]

RETRYABLE = ("pending", "failed")


def new_event_id() -> str:
    """A sortable id: 16 hex digits of time in ns, then 8 random hex digits."""
    return new_event_ids(1)[0]


def new_event_ids(n: int) -> list[str]:
    """`n` ids as `new_event_id` makes them, with their random digits read in one go (a system call per id was
    a twentieth of the edge's group-commit thread under load)."""
    digits = secrets.token_hex(4 * n)
    return [f"{time.time_ns():016x}{digits[8 * i:8 * i + 8]}" for i in range(n)]


_COLUMNS = ("id", "connector", "account", "key", "name", "group_key", "received_at", "headers", "body", "status",
            "attempts", "next_attempt_at")
# PostgreSQL's element type of each column's array (the columns' own types take them by assignment)
_PG_TYPES = ("text", "text", "text", "text", "text", "text", "timestamptz", "json", "bytea", "text", "int4",
             "timestamptz")
_SQL = {
    "sqlite": (
        f"INSERT INTO events ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))}) "
        "ON CONFLICT (connector, account, key) DO NOTHING",
        "SELECT id FROM events WHERE id IN ({marks})", "?",
        "SELECT id FROM events WHERE connector = ? AND account = ? AND key = ?",
    ),
    "postgresql": (  # one statement for any number of rows: each column a binary array, zipped by unnest
        f"INSERT INTO events ({', '.join(_COLUMNS)}) SELECT * FROM unnest("
        f"{', '.join(f'%b::{t}[]' for t in _PG_TYPES)}) ON CONFLICT (connector, account, key) DO NOTHING",
        "SELECT id FROM events WHERE id = ANY(%s)", None,
        "SELECT id FROM events WHERE connector = %s AND account = %s AND key = %s",
    ),
}


_ROWS_PER_STATEMENT = 500  # 12 parameters a row: well under SQLite's limit of 32,766


def _multi_row(insert_sql: str, n: int) -> str:
    """`INSERT ... VALUES (row) ON CONFLICT ...` with the row repeated n times."""
    head, _, rest = insert_sql.partition(" VALUES ")
    row, _, tail = rest.partition(") ")
    return f"{head} VALUES {', '.join([row + ')'] * n)} {tail}"


def append(conn: Connection, batch: Sequence[NewEvent]) -> list[tuple[str, bool]]:
    """Insert events in the caller's transaction; returns (id, is_new) per event (duplicates keep their id)."""
    return append_to(conn.connection.driver_connection, conn.dialect.name, batch)


@lru_cache(maxsize=256)
def _headers_json(items: tuple[tuple[str, str], ...]) -> str:
    """The headers as JSON; a connector's events mostly carry the same few headers, encoded once."""
    return json.dumps(dict(items))


def append_to(driver_conn: Any, dialect: str, batch: Sequence[NewEvent]) -> list[tuple[str, bool]]:
    """`append` on the driver's connection, inside a transaction the caller opened on it.

    This is the hot path of every webhook, so it speaks to the driver directly: one insert that
    ignores duplicate keys (SQLite: multi-row, PostgreSQL: the rows as one binary array a column, a
    statement whose text never changes, so that psycopg parses it once and the server prepares it),
    then, only when a key was taken, the queries that tell which rows went in.
    """
    if not batch:
        return []
    insert_sql, present_sql, mark, by_key_sql = _SQL[dialect]
    when = sqlite_time if dialect == "sqlite" else _aware
    rows = []
    for ev, event_id in zip(batch, new_event_ids(len(batch)), strict=True):
        received = when(ev.received_at)
        rows.append((event_id, ev.connector, ev.account, ev.key, ev.name, ev.group_key, received,
                     _headers_json(tuple(ev.headers.items())), ev.body, "pending", 0,
                     received if ev.not_before is None else when(ev.not_before)))
    cursor = driver_conn.cursor()
    try:
        inserted = 0
        if dialect == "sqlite":
            for chunk in _chunks(rows, _ROWS_PER_STATEMENT):  # one statement, one step of the engine, per chunk
                cursor.execute(_multi_row(insert_sql, len(chunk)), [v for row in chunk for v in row])
                inserted += cursor.rowcount
        else:
            cursor.execute(insert_sql, [list(column) for column in zip(*rows, strict=True)])
            inserted = cursor.rowcount
        ids = [r[0] for r in rows]
        if inserted == len(rows):  # the usual case: no duplicate, nothing more to ask
            return [(i, True) for i in ids]
        if mark:
            present = {r[0] for chunk in _chunks(ids, 900)
                       for r in cursor.execute(present_sql.format(marks=",".join(mark * len(chunk))), chunk).fetchall()}
        else:
            cursor.execute(present_sql, (ids,))
            present = {r[0] for r in cursor.fetchall()}
        out: list[tuple[str, bool]] = []
        for row in rows:
            if row[0] in present:
                out.append((row[0], True))
            else:  # a duplicate key: answer with the id stored first
                cursor.execute(by_key_sql, (row[1], row[2], row[3]))
                out.append((cursor.fetchone()[0], False))
        return out
    finally:
        cursor.close()


def _aware(ts: datetime) -> datetime:
    """A moment for PostgreSQL: naive ones are UTC (as `UtcDateTime` takes them), so that an array's
    elements are all of one type."""
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def _chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


# what a StoredEvent holds: the claim reads no more (each column read is a value converted)
_STORED = (events.c.id, events.c.connector, events.c.account, events.c.key, events.c.name, events.c.group_key,
           events.c.received_at, events.c.headers, events.c.body, events.c.attempts, events.c.result)


def _to_stored(row: Any) -> StoredEvent:
    return StoredEvent(
        id=row.id, connector=row.connector, account=row.account, key=row.key, name=row.name,
        group_key=row.group_key, received_at=row.received_at, headers=row.headers or {},
        body=bytes(row.body), attempts=row.attempts, result=row.result,
    )


@dataclass(frozen=True, slots=True)
class Claim:
    owner: str
    events: list[StoredEvent]


def worker_id() -> str:
    return f"{os.uname().nodename}:{os.getpid()}:{secrets.token_hex(3)}"


def _claim_statement(postgresql: bool) -> Any:
    """Claim and read in one statement: the due ids are picked in a subquery run once (PostgreSQL: a
    materialized CTE whose rows another worker holds are skipped), updated and returned. Built once per
    dialect: building it for each claim was most of a small batch's claim."""
    now: Any = bindparam("now")
    due = or_(
        and_(events.c.status.in_(RETRYABLE), events.c.next_attempt_at <= now),
        and_(events.c.status == "processing", events.c.lease_until < now),
    )
    pick = select(events.c.id).where(due).order_by(events.c.next_attempt_at, events.c.id).limit(bindparam("limit"))
    ids: Any = pick.scalar_subquery()
    if postgresql:
        picked = pick.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
        ids = select(picked.c.id)
    return (update(events).where(events.c.id.in_(ids))
            .values(status="processing", lease_until=bindparam("lease_until"), claimed_by=bindparam("owner"))
            .returning(*_STORED))


_CLAIM = {"postgresql": _claim_statement(True), "sqlite": _claim_statement(False)}


def claim_batch(conn: Connection, *, limit: int, lease_s: float, now: datetime, owner: str) -> Claim:
    """Claim up to `limit` due events under a lease (PostgreSQL: FOR UPDATE SKIP LOCKED), in received order."""
    rows = conn.execute(_CLAIM[conn.dialect.name],
                        {"now": now, "limit": limit, "lease_until": now + timedelta(seconds=lease_s), "owner": owner})
    return Claim(owner, sorted((_to_stored(r) for r in rows), key=lambda e: (e.received_at, e.id)))


# the processing transaction's last statement, on the driver's connection ({m}: the driver's placeholder)
_COMPLETE = ("UPDATE events SET status = 'done', processed_at = {m}, lease_until = NULL, last_error = NULL, "
             "result = {m} WHERE id = {m}")
_OWNED = " AND claimed_by = {m}"
_PLACEHOLDER = {"sqlite": "?", "postgresql": "%s"}
_PG_COMPLETE = ("UPDATE events SET status = 'done', processed_at = %s, lease_until = NULL, last_error = NULL, "
                "result = done.result::json FROM unnest(%s::text[], %s::text[]) AS done(id, result) "
                "WHERE events.id = done.id")
_PG_OWNED = " AND events.claimed_by = %s"


def complete(conn: Connection, event_ids: Sequence[str], *, now: datetime, owner: str | None = None,
             results: dict[str, dict[str, Any]] | None = None) -> None:
    """Mark events done (only while we still hold them, when `owner` is given), in the caller's transaction.

    One statement per event through the driver: SQLAlchemy's processing of each row's parameters was a
    twentieth of a worker's time. The values are stored as SQLAlchemy stores them (SQLite's time text; the
    JSON of the result, `null` for none)."""
    if not event_ids:
        return
    dialect = conn.dialect.name
    results = results or {}
    mine = (owner,) if owner else ()
    driver: Any = conn.connection.driver_connection
    cursor = driver.cursor()
    try:
        if dialect == "postgresql":  # one statement for them all (an UPDATE per event cost PostgreSQL 24 us each)
            cursor.execute(_PG_COMPLETE + (_PG_OWNED if owner else ""),
                           (now, list(event_ids), [json.dumps(results.get(i)) for i in event_ids], *mine))
        else:
            rows = [(sqlite_time(now), json.dumps(results.get(i)), i, *mine) for i in event_ids]
            cursor.executemany((_COMPLETE + (_OWNED if owner else "")).format(m=_PLACEHOLDER[dialect]), rows)
    finally:
        cursor.close()


def fail(conn: Connection, event_id: str, *, error: str, now: datetime, max_attempts: int,
         base_s: float, max_s: float, retry_after: float | None = None, count_attempt: bool = True) -> str:
    """Record a failure; schedules a retry with exponential backoff or marks the event dead."""
    attempts = conn.execute(select(events.c.attempts).where(events.c.id == event_id)).scalar_one()
    attempts += 1 if count_attempt else 0
    if attempts >= max_attempts:
        status, delay = "dead", 0.0
    else:
        status = "failed"
        delay = retry_after if retry_after is not None else min(max_s, base_s * 2 ** max(0, attempts - 1))
        delay *= 1 + secrets.randbelow(250) / 1000  # a little jitter
    conn.execute(
        update(events).where(events.c.id == event_id).values(
            status=status, attempts=attempts, last_error=error[:4000], lease_until=None,
            next_attempt_at=now + timedelta(seconds=delay),
        )
    )
    return status


def requeue(conn: Connection, *, ids: Sequence[str] = (), statuses: Sequence[str] = (), now: datetime) -> int:
    """Make events due again (replay): done, failed or dead ones go back to pending."""
    conds = []
    if ids:
        conds.append(events.c.id.in_(list(ids)))
    if statuses:
        conds.append(events.c.status.in_(list(statuses)))
    if not conds:
        return 0
    res = conn.execute(
        update(events).where(or_(*conds), events.c.status != "processing")
        .values(status="pending", next_attempt_at=now, lease_until=None, attempts=0)
    )
    return int(res.rowcount)


# built once: a call's every notification reads its group (building the statement each time was a sixteenth of
# the embedded worker's time under a steady flow of calls)
_RELATED = select(*_STORED).where(events.c.connector == bindparam("connector"),
                                  events.c.account == bindparam("account"),
                                  events.c.group_key == bindparam("group_key"))
_RELATED_ALL = _RELATED.order_by(events.c.received_at, events.c.id)
_RELATED_NAMED = _RELATED.where(events.c.name.in_(bindparam("names", expanding=True))) \
    .order_by(events.c.received_at, events.c.id)


def related(conn: Connection, connector: str, account: str, group_key: str,
            names: Sequence[str] | None = None) -> list[StoredEvent]:
    params: dict[str, Any] = {"connector": connector, "account": account, "group_key": bounded_key(group_key)}
    if names is not None:
        params["names"] = list(names)
    rows = conn.execute(_RELATED_ALL if names is None else _RELATED_NAMED, params)
    return [_to_stored(r) for r in rows]


def count_by_status(conn: Connection) -> dict[str, int]:
    rows = conn.execute(select(events.c.status, func.count()).group_by(events.c.status))
    return {status: int(n) for status, n in rows}


def oldest_pending_age(conn: Connection, now: datetime) -> float:
    """The processing lag: seconds the longest-waiting due event has waited since it became due.

    Events waiting for a later retry or a follow-up's `not_before` are scheduled, not late: nothing due
    gives 0, however old the log's unfinished events are.
    """
    oldest = conn.execute(
        select(func.min(events.c.next_attempt_at)).where(
            events.c.status.in_(("pending", "processing", "failed")), events.c.next_attempt_at <= now)
    ).scalar()
    return 0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())


def due_count(conn: Connection, now: datetime) -> int:
    return int(conn.execute(
        select(func.count()).select_from(events).where(or_(
            and_(events.c.status.in_(RETRYABLE), events.c.next_attempt_at <= now),
            and_(events.c.status == "processing", events.c.lease_until < now),
        ))
    ).scalar_one())


def get(conn: Connection, event_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(events).where(events.c.id == event_id)).mappings().first()
    return dict(row) if row else None


def list_events(conn: Connection, *, status: str | None, limit: int, cursor: str | None) -> list[dict[str, Any]]:
    cols = [c for c in events.c if c.name != "body"]
    q = select(*cols, func.length(events.c.body).label("size"))
    if status:
        q = q.where(events.c.status == status)
    if cursor:
        q = q.where(events.c.id < cursor)
    rows = conn.execute(q.order_by(events.c.id.desc()).limit(limit)).mappings()
    return [dict(r) for r in rows]
