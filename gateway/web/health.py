"""Health at a glance: each connector's last event and errors, each mailbox's last poll, silent sources."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import pairwise
from statistics import median
from typing import Any

from sqlalchemy import Connection, case, func, select

from gateway.config import Settings
from gateway.store.outbox import backlog
from gateway.store.schema import events, leads, mailbox_state, sources
from gateway.store.views import iso

__all__ = ["health_report", "silence"]

WINDOW = timedelta(days=30)
MIN_LEADS = 5  # fewer leads than this in the window: the source does not "normally send leads"
MIN_SILENCE = timedelta(hours=1)
SAMPLES = 200  # the newest leads per source used for the typical gap


def silence(times: Sequence[datetime], now: datetime, *, factor: float = 3.0) -> dict[str, Any] | None:
    """A warning when the time since the last lead exceeds `factor` × the median gap (and at least an hour)."""
    ordered = sorted(t for t in times if t is not None)
    if len(ordered) < MIN_LEADS:
        return None
    gap = median((b - a).total_seconds() for a, b in pairwise(ordered))
    limit = max(timedelta(seconds=gap * factor), MIN_SILENCE)
    quiet = now - ordered[-1]
    if quiet <= limit:
        return None
    return {"last_lead_at": ordered[-1].isoformat(), "silent_for_s": int(quiet.total_seconds()),
            "typical_gap_s": int(gap), "threshold_s": int(limit.total_seconds())}


def _configured(settings: Settings) -> list[tuple[str, str]]:
    out = [("mango", m.account) for m in settings.telephony.mango]
    out += [("forms", f.id) for f in settings.forms]
    out += [(kind, m.name) for kind in ("telegram", "vk", "whatsapp")
            for m in getattr(settings.messengers, kind, [])]
    out += [("imap", m.name) for m in settings.email.mailboxes]
    return out


def _connectors(conn: Connection, settings: Settings) -> list[dict[str, Any]]:
    failed = func.sum(case((events.c.status == "failed", 1), else_=0))
    dead = func.sum(case((events.c.status == "dead", 1), else_=0))
    pending = func.sum(case((events.c.status.in_(["pending", "processing"]), 1), else_=0))
    rows = conn.execute(select(events.c.connector, events.c.account, func.max(events.c.received_at), failed, dead,
                               pending).group_by(events.c.connector, events.c.account)).all()
    found = {(c, a): {"connector": c, "account": a, "last_event_at": iso(last), "failed": int(f or 0),
                      "dead": int(d or 0), "pending": int(p or 0), "last_error": None}
             for c, a, last, f, d, p in rows}
    for key in _configured(settings):
        found.setdefault(key, {"connector": key[0], "account": key[1], "last_event_at": None, "failed": 0,
                               "dead": 0, "pending": 0, "last_error": None})
    errors = conn.execute(select(events.c.connector, events.c.account, events.c.last_error)
                          .where(events.c.status.in_(["failed", "dead"]), events.c.last_error.is_not(None))
                          .order_by(events.c.id.desc()).limit(500)).all()
    for c, a, err in errors:
        item = found.get((c, a))
        if item is not None and item["last_error"] is None:
            item["last_error"] = (err or "").strip().splitlines()[-1][:300] if err else None
    return sorted(found.values(), key=lambda i: (i["connector"], i["account"]))


def _mailboxes(conn: Connection, settings: Settings) -> list[dict[str, Any]]:
    rows = [dict(r) for r in conn.execute(select(mailbox_state).order_by(mailbox_state.c.mailbox,
                                                                         mailbox_state.c.folder)).mappings()]
    seen = {r["mailbox"] for r in rows}
    out = [{"mailbox": r["mailbox"], "folder": r["folder"], "last_poll_at": iso(r["last_poll_at"]),
            "last_ok_at": iso(r["last_ok_at"]), "last_error": r["last_error"], "last_uid": r["last_uid"]}
           for r in rows]
    out += [{"mailbox": m.name, "folder": None, "last_poll_at": None, "last_ok_at": None,
             "last_error": None, "last_uid": None} for m in settings.email.mailboxes if m.name not in seen]
    return out


def _recent_times(conn: Connection, key: Any, since: datetime) -> dict[Any, list[datetime]]:
    ranked = select(key.label("k"), leads.c.received_at, func.row_number().over(
        partition_by=key, order_by=leads.c.received_at.desc()).label("n")
    ).where(leads.c.received_at >= since, key.is_not(None)).subquery()
    out: dict[Any, list[datetime]] = {}
    for k, at in conn.execute(select(ranked.c.k, ranked.c.received_at).where(ranked.c.n <= SAMPLES)).all():
        out.setdefault(k, []).append(at)
    return out


def _silent(conn: Connection, now: datetime) -> list[dict[str, Any]]:
    since = now - WINDOW
    names = dict(conn.execute(select(sources.c.id, sources.c.name)).all())
    out = []
    for source_id, times in _recent_times(conn, leads.c.source_id, since).items():
        if warning := silence(times, now):
            out.append({"what": "source", "name": names.get(source_id, str(source_id)), **warning})
    channel_account = leads.c.channel + ":" + func.coalesce(leads.c.account, "")
    for key, times in _recent_times(conn, channel_account, since).items():
        if key.startswith("manual:"):
            continue
        if warning := silence(times, now):
            out.append({"what": "connector", "name": key, **warning})
    return sorted(out, key=lambda w: -w["silent_for_s"])


def _sinks(conn: Connection, settings: Settings) -> list[dict[str, Any]]:
    """Each configured sink: deliveries waiting, dead, the last success and the last error."""
    out = []
    for s in settings.sinks.all:
        b = backlog(conn, kind=f"sink:{s.name}").get(s.name, {})
        out.append({"name": s.name, "waiting": b.get("waiting", 0), "dead": b.get("dead", 0),
                    "last_success_at": iso(b.get("last_success_at")), "last_error": b.get("last_error"),
                    "last_error_at": iso(b.get("last_error_at"))})
    return out


def health_report(conn: Connection, settings: Settings, now: datetime) -> dict[str, Any]:
    connectors = _connectors(conn, settings)
    mailboxes = _mailboxes(conn, settings)
    silent = _silent(conn, now)
    problems = sum(1 for c in connectors if c["failed"] or c["dead"]) + \
        sum(1 for m in mailboxes if m["last_error"]) + len(silent)
    sinks = _sinks(conn, settings)
    problems += sum(1 for s in sinks if s["dead"])
    return {"checked_at": now.isoformat(), "connectors": connectors, "mailboxes": mailboxes, "silent": silent,
            "sinks": sinks, "problems": problems}
