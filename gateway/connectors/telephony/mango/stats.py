"""Mango's extended call statistics: `stats/calls/request`, then poll `stats/calls/result/` (§3.4.2)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from gateway.connectors.telephony.mango.vpbx import RateLimiter, VpbxClient, raise_for_mango
from gateway.core.errors import PermanentUpstreamError, TransientUpstreamError

__all__ = ["fetch_calls", "mango_time"]

log = structlog.get_logger(__name__)

PAGE = 5000
FAILED = ("not-found", "error", "cancel")


def mango_time(at: datetime, timezone: str) -> str:
    """`DD.MM.YYYY HH:MM:SS` in the PBX's wall-clock zone, as the stats request wants it."""
    return at.astimezone(ZoneInfo(timezone)).strftime("%d.%m.%Y %H:%M:%S")


def _rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    data = body.get("data") or []
    chunks = data if isinstance(data, list) else [data]
    rows: list[dict[str, Any]] = []
    for chunk in chunks:
        items = chunk.get("list", []) if isinstance(chunk, dict) else []
        rows += [r for r in (items if isinstance(items, list) else [items]) if isinstance(r, dict)]
    return rows


def _request(client: VpbxClient, payload: dict[str, Any], pace: RateLimiter) -> str:
    response = client.query("stats/calls/request", payload, pace)
    key = response.json().get("key") if response.content else None
    if not key:
        raise PermanentUpstreamError("stats/calls/request answered without a key")
    return str(key)


def _result(client: VpbxClient, key: str, *, polls: int, every: float,
            sleep: Callable[[float], None]) -> list[dict[str, Any]]:
    for _ in range(polls):
        response = client.post("stats/calls/result/", {"key": key})
        if response.status_code == 204:
            sleep(every)
            continue
        raise_for_mango(response, "stats/calls/result/")
        body = response.json()
        status = str(body.get("status") or "")
        if status == "complete" or (not status and body.get("data")):
            return _rows(body)
        if status in FAILED:
            raise PermanentUpstreamError(f"stats/calls/result/: {status}")
        sleep(every)
    raise TransientUpstreamError("stats result not ready in time", retry_after=every)


def fetch_calls(client: VpbxClient, start: datetime, end: datetime, timezone: str, *,
                sleep: Callable[[float], None], poll_seconds: float = 3.0, max_polls: int = 60,
                page: int = PAGE) -> list[dict[str, Any]]:
    """Every call of the period, one dict per `entry_id`, as Mango reported it."""
    pace = RateLimiter(1, 2.0, sleep=sleep)  # stats request: one per 2 seconds per product
    calls: dict[str, dict[str, Any]] = {}
    offset = 0
    while True:
        payload = {"start_date": mango_time(start, timezone), "end_date": mango_time(end, timezone),
                   "limit": str(page), "offset": str(offset)}
        rows = _result(client, _request(client, payload, pace), polls=max_polls, every=poll_seconds, sleep=sleep)
        for row in rows:
            if row.get("entry_id") not in (None, ""):
                calls.setdefault(str(row["entry_id"]), row)
        log.info("mango.stats.page", offset=offset, rows=len(rows))
        if len(rows) < page:
            return list(calls.values())
        offset += page
