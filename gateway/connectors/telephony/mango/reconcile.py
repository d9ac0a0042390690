"""`gateway mango reconcile --account main --since 2h`: recover calls whose webhooks never came.

Each call in Mango's statistics becomes a synthetic `stats` event (key `stats:<entry_id>`,
grouped by `entry_id`); its fold creates a missing call marked recovered, or completes one
left without a summary. Running it twice stores nothing new.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from gateway.config.mango import MangoSettings
from gateway.connectors.base import EventLogContext, NewEvent, ServiceContext
from gateway.connectors.telephony.mango.group import STATS
from gateway.connectors.telephony.mango.signature import compact_json
from gateway.connectors.telephony.mango.stats import fetch_calls
from gateway.connectors.telephony.mango.vpbx import LockoutGuard, VpbxClient
from gateway.core.errors import ConfigError, GatewayError
from gateway.options import Actions

if TYPE_CHECKING:
    from gateway.config import Settings

__all__ = ["ReconcileReport", "main", "parse_since", "reconcile", "stats_events"]

MAX_SPAN = timedelta(days=30) - timedelta(seconds=1)  # Mango refuses a period of 30 days or more
_AGO = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True, slots=True)
class ReconcileReport:
    account: str
    start: datetime
    end: datetime
    calls: int
    stored: int


def parse_since(value: str, now: datetime) -> datetime:
    """`2h`, `90m`, `1d`, `30s` ago, or an ISO 8601 time (UTC when it has no offset)."""
    if m := _AGO.match(value.strip().lower()):
        return now - timedelta(**{_UNITS[m.group(2)]: float(m.group(1))})
    try:
        at = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(f"--since/--until: not a duration (2h, 90m, 1d) or an ISO time: {value!r}") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)


def stats_events(account: str, calls: Sequence[dict[str, Any]], now: datetime) -> list[NewEvent]:
    """One synthetic event per call; the key makes a second run a no-op."""
    return [
        NewEvent(connector="mango", account=account, key=f"stats:{call['entry_id']}", name=STATS,
                 group_key=str(call["entry_id"]), body=compact_json(call).encode("utf-8"), received_at=now,
                 headers={"content-type": "application/json"})
        for call in calls
    ]


def reconcile(conf: MangoSettings, store: ServiceContext, http: Any, *, start: datetime, end: datetime,
              now: datetime, timezone: str = "Europe/Moscow", sleep: Callable[[float], None] = time.sleep,
              poll_seconds: float = 3.0) -> ReconcileReport:
    """Ask Mango for the period's calls and store them as `stats` events."""
    if end - start > MAX_SPAN:
        raise ConfigError("mango reconcile: the period must be shorter than 30 days")
    client = VpbxClient(conf, http, guard=LockoutGuard())
    calls = fetch_calls(client, start, end, timezone, sleep=sleep, poll_seconds=poll_seconds)
    events = stats_events(conf.account, calls, now)
    ids = store.store_events(events) if events else []
    return ReconcileReport(conf.account, start, end, len(calls), len(ids))


def _parser() -> argparse.ArgumentParser:
    mango = Actions("gateway mango", "Mango Office tools: recover calls whose webhooks never came.")
    r = mango.add("reconcile", "store calls from Mango's statistics that webhooks missed",
                  "Ask Mango's statistics for the period's calls and store those the webhooks missed (a call already "
                  "known is completed, never duplicated). Safe to run again.")
    r.add_argument("--account", required=True, help="the [[telephony.mango]] account")
    r.add_argument("--since", default="2h", help="the period's start: 2h, 90m, 1d ago, or an ISO time (default 2h)")
    r.add_argument("--until", default=None, help="the period's end, in the same forms (default: now)")
    r.add_argument("--poll-seconds", type=float, default=3.0, help="how often to ask whether Mango's report is "
                   "ready (default 3)")
    return mango.parser


def _run(args: argparse.Namespace, settings: Settings, store: ServiceContext | None, http: Any,
         now: datetime, sleep: Callable[[float], None]) -> ReconcileReport:
    conf = next((m for m in settings.telephony.mango if m.account == args.account), None)
    if conf is None:
        raise ConfigError(f"no [[telephony.mango]] account {args.account!r}")
    start, end = parse_since(args.since, now), parse_since(args.until, now) if args.until else now
    own_http = http is None
    if own_http:
        from gateway.egress import OutboundClient, OutboundPolicy

        http = OutboundClient(OutboundPolicy(timeout_s=settings.http.outbound_timeout_seconds,
                                             allow_private=settings.http.allow_private_outbound))
    log_store = None
    if store is None:
        store = log_store = EventLogContext(settings)
    try:
        return reconcile(conf, store, http, start=start, end=end, now=now,
                         timezone=settings.timezone, sleep=sleep, poll_seconds=args.poll_seconds)
    finally:
        if own_http:
            http.close()
        if log_store is not None:
            log_store.close()


def main(argv: list[str], *, store: ServiceContext | None = None, settings: Settings | None = None,
         http: Any = None, now: datetime | None = None, sleep: Callable[[float], None] = time.sleep) -> int:
    """`gateway mango reconcile ...`; `store`, `settings`, `http` default to the real ones."""
    args = _parser().parse_args(argv)
    try:
        if settings is None:
            from gateway.config import load_settings
            from gateway.logs import configure_logging

            settings = load_settings(getattr(args, "config", None))
            configure_logging(settings.log_format, settings.log_level)
        report = _run(args, settings, store, http, now or datetime.now(UTC), sleep)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except GatewayError as exc:
        print(f"mango reconcile: {exc.message}", file=sys.stderr)
        return 1
    print(f"mango reconcile {report.account}: {report.calls} calls between {report.start.isoformat()} and "
          f"{report.end.isoformat()}; {report.stored} stats events offered to the event log (known ones ignored)")
    return 0
