"""The poller's state in `mailbox_state`: a cursor per folder, a lease per mailbox, and health.

The row with folder "" belongs to the mailbox as a whole: it holds the lease (two pollers
never fetch one mailbox at once) and the health of the last poll. A folder's cursor is
UIDVALIDITY + the last UID whose message is safely in the event log; it moves only after
the events it covers are committed, and only while the lease is still ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, or_, select, update

from gateway.core.errors import GatewayError
from gateway.store.dialect import insert_ignore
from gateway.store.schema import mailbox_state
from gateway.store.views import iso

__all__ = [
    "MAILBOX_ROW",
    "Cursor",
    "LeaseLost",
    "acquire_lease",
    "commit_cursor",
    "ensure_rows",
    "load_cursor",
    "mailbox_health",
    "record_health",
    "release_lease",
    "renew_lease",
]

MAILBOX_ROW = ""
STALE_MIN_S = 300.0
_ERROR_LEN = 1000
t = mailbox_state.c


class LeaseLost(GatewayError):
    """Another poller holds this mailbox now (our lease ran out): stop without moving the cursor."""


@dataclass(frozen=True, slots=True)
class Cursor:
    uidvalidity: int | None
    last_uid: int
    last_ok_at: datetime | None


def ensure_rows(engine: Engine, mailbox: str, folders: list[str]) -> None:
    """Create the mailbox row and the folders' rows when missing."""
    with engine.begin() as conn:
        for folder in [MAILBOX_ROW, *folders]:
            conn.execute(insert_ignore(conn, mailbox_state, ["mailbox", "folder"]).values(
                mailbox=mailbox, folder=folder, last_uid=0))


def _mine(mailbox: str, owner: str, now: datetime) -> Any:
    return and_(t.mailbox == mailbox, t.folder == MAILBOX_ROW, t.lock_owner == owner, t.lock_until >= now)


def acquire_lease(engine: Engine, mailbox: str, owner: str, *, now: datetime, lease_s: float) -> bool:
    """Take (or extend) the mailbox's lease in one atomic UPDATE; False when another poller holds it."""
    free = or_(t.lock_owner.is_(None), t.lock_until.is_(None), t.lock_until < now, t.lock_owner == owner)
    with engine.begin() as conn:
        result = conn.execute(
            update(mailbox_state).where(t.mailbox == mailbox, t.folder == MAILBOX_ROW, free)
            .values(lock_owner=owner, lock_until=now + timedelta(seconds=lease_s))
        )
    return result.rowcount == 1


def _renew(conn: Connection, mailbox: str, owner: str, now: datetime, lease_s: float) -> None:
    result = conn.execute(
        update(mailbox_state).where(_mine(mailbox, owner, now)).values(lock_until=now + timedelta(seconds=lease_s))
    )
    if result.rowcount != 1:
        raise LeaseLost(f"mailbox {mailbox}: the lease is no longer ours")


def renew_lease(engine: Engine, mailbox: str, owner: str, *, now: datetime, lease_s: float) -> None:
    with engine.begin() as conn:
        _renew(conn, mailbox, owner, now, lease_s)


def release_lease(engine: Engine, mailbox: str, owner: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(mailbox_state).where(t.mailbox == mailbox, t.folder == MAILBOX_ROW, t.lock_owner == owner)
            .values(lock_owner=None, lock_until=None)
        )


def load_cursor(engine: Engine, mailbox: str, folder: str) -> Cursor:
    with engine.connect() as conn:
        row = conn.execute(
            select(t.uidvalidity, t.last_uid, t.last_ok_at).where(t.mailbox == mailbox, t.folder == folder)
        ).first()
    if row is None:
        return Cursor(None, 0, None)
    return Cursor(row.uidvalidity, row.last_uid or 0, row.last_ok_at)


def commit_cursor(engine: Engine, mailbox: str, folder: str, owner: str, *, uidvalidity: int, last_uid: int,
                  now: datetime, lease_s: float) -> None:
    """Move the folder's cursor (and renew the lease) in one transaction; LeaseLost when it is not ours."""
    with engine.begin() as conn:
        _renew(conn, mailbox, owner, now, lease_s)
        conn.execute(
            update(mailbox_state).where(t.mailbox == mailbox, t.folder == folder)
            .values(uidvalidity=uidvalidity, last_uid=last_uid)
        )


def record_health(engine: Engine, mailbox: str, folder: str, *, now: datetime, error: str | None,
                  started: bool = False) -> None:
    """A poll started (last_poll_at), ended well (last_ok_at, error cleared), or failed (last_error)."""
    values: dict[str, Any]
    if started:
        values = {"last_poll_at": now}
    elif error is None:
        values = {"last_ok_at": now, "last_error": None}
    else:
        values = {"last_error": error[:_ERROR_LEN]}
    with engine.begin() as conn:
        conn.execute(update(mailbox_state).where(t.mailbox == mailbox, t.folder == folder).values(**values))


def _stale(entry: dict[str, Any], now: datetime, poll_seconds: Mapping[str, float]) -> bool:
    """No good poll for three intervals (at least five minutes): the mailbox is not being read."""
    last_ok = entry["last_ok_at"]
    allowed = max(3 * poll_seconds.get(entry["mailbox"], 60.0), STALE_MIN_S)
    return last_ok is None or (now - datetime.fromisoformat(last_ok)).total_seconds() > allowed


def mailbox_health(conn: Connection, *, now: datetime | None = None,
                   poll_seconds: Mapping[str, float] | None = None) -> list[dict[str, Any]]:
    """One dict per mailbox: last poll, last good poll, last error, lease holder and its folders' cursors.

    With `now` and `poll_seconds` (mailbox name -> interval), each dict also says `stale`.
    """
    rows = conn.execute(select(mailbox_state).order_by(t.mailbox, t.folder)).mappings().all()
    out: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = out.setdefault(row["mailbox"], {
            "mailbox": row["mailbox"], "last_poll_at": None, "last_ok_at": None, "last_error": None,
            "ok": True, "locked_by": None, "locked_until": None, "folders": [],
        })
        if row["folder"] == MAILBOX_ROW:
            entry.update(
                last_poll_at=iso(row["last_poll_at"]), last_ok_at=iso(row["last_ok_at"]),
                last_error=row["last_error"], ok=row["last_error"] is None, locked_by=row["lock_owner"],
                locked_until=iso(row["lock_until"]),
            )
        else:
            entry["folders"].append({
                "folder": row["folder"], "uidvalidity": row["uidvalidity"], "last_uid": row["last_uid"],
                "last_poll_at": iso(row["last_poll_at"]), "last_ok_at": iso(row["last_ok_at"]),
                "last_error": row["last_error"],
            })
    if now is not None and poll_seconds is not None:
        for entry in out.values():
            entry["stale"] = _stale(entry, now, poll_seconds)
    return list(out.values())
