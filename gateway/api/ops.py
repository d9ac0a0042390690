"""Operations: alive, ready (store reachable, mailboxes), Prometheus metrics."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from sqlalchemy import text

from gateway.api.auth import authenticate
from gateway.api.body import json_response
from gateway.api.spec import ApiRoute
from gateway.core.errors import AuthenticationError
from gateway.http.keys import DB, DISPATCHER, METRICS, SETTINGS, WRITER

__all__ = ["ROUTES"]


async def healthz(request: web.Request) -> web.Response:
    return json_response({"ok": True})


def _ready(conn: Any, settings: Any) -> dict[str, Any]:
    from gateway.store.mailbox_state import mailbox_health

    conn.execute(text("SELECT 1"))
    intervals = {m.name: m.poll_seconds for m in settings.email.mailboxes}
    boxes = mailbox_health(conn, now=datetime.now(UTC), poll_seconds=intervals)
    for name in intervals.keys() - {b["mailbox"] for b in boxes}:
        boxes.append({"mailbox": name, "ok": False, "last_ok_at": None, "last_error": "not polled yet"})
    return {"store": "ok", "mailboxes": boxes}


async def readyz(request: web.Request) -> web.Response:
    """200 when the store answers (503 when not), to anyone; the mailboxes' names and errors to a known user."""
    try:
        detail = await request.app[DB].read(_ready, request.app[SETTINGS])
    except Exception as exc:
        return json_response({"ok": False, "store": f"unreachable: {exc.__class__.__name__}"}, status=503)
    failing = [b for b in detail["mailboxes"] if not b.get("ok") or b.get("stale")]
    if not await _known_caller(request):
        return json_response({"ok": True, "store": detail["store"], "degraded": bool(failing),
                              "mailboxes_failing": len(failing)})
    return json_response({"ok": True, **detail, "degraded": bool(failing)})


async def _known_caller(request: web.Request) -> bool:
    try:
        await authenticate(request)
    except AuthenticationError:
        return False
    return True


async def metrics(request: web.Request) -> web.Response:
    m = request.app[METRICS]
    writer = request.app[WRITER]
    totals = getattr(request.app[DISPATCHER], "totals", None)
    m.duplicates._value.set(writer.duplicates)
    for connector, n in writer.accepted_by.items():
        m.accepted.labels(connector)._value.set(n)
    if totals is not None:
        m.processed._value.set(totals.done)
        m.failed._value.set(totals.failed)
        m.dead._value.set(totals.dead)
    await request.app[DB].read(m.refresh_from_store)
    return web.Response(body=m.render(), content_type="text/plain", charset="utf-8",
                        headers={"X-Content-Type-Options": "nosniff"})


ROUTES = [
    ApiRoute("GET", "/healthz", healthz, "Alive", roles=None, tag="operations"),
    ApiRoute("GET", "/readyz", readyz, "Ready: the store answers; how many mailboxes fail (with a token or a "
             "session: each mailbox's last poll and error)",
             roles=None, responses={200: "Ready", 503: "Store unreachable"}, tag="operations"),
    ApiRoute("GET", "/metrics", metrics, "Prometheus metrics", roles=None, content="text/plain",
             tag="operations"),
]
