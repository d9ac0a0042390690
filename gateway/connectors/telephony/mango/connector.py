"""The Mango Office VPBX connector: webhook edge, call folding, recordings."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import structlog

from gateway.config.mango import MangoSettings
from gateway.connectors.base import NewEvent, Outcome, ParseContext, Route, StoredEvent
from gateway.connectors.telephony.mango.callback import command_result
from gateway.connectors.telephony.mango.edge import CHANNEL, MangoEdge
from gateway.connectors.telephony.mango.fold import fold_call
from gateway.connectors.telephony.mango.group import FETCH, STATS, Parsed, collect
from gateway.connectors.telephony.mango.payloads import RecordAdded, StatsCall
from gateway.connectors.telephony.mango.recording import fetch_recording
from gateway.connectors.telephony.mango.signature import compact_json
from gateway.connectors.telephony.mango.vpbx import LockoutGuard, RateLimiter, VpbxClient
from gateway.core.errors import ConfigError, PayloadError
from gateway.core.models import Interaction

if TYPE_CHECKING:
    from gateway.config import Settings

__all__ = ["MangoConnector"]

log = structlog.get_logger(__name__)

MAX_BODY = 256 * 1024


class MangoConnector:
    """`POST /hooks/mango/{account}/events/{name}`; one Interaction per call (`entry_id`)."""

    channel = CHANNEL

    def __init__(self, settings: Settings) -> None:
        self._accounts: dict[str, MangoSettings] = {m.account: m for m in settings.telephony.mango}
        self._edge = MangoEdge(self._accounts)
        self._pacers: dict[str, tuple[RateLimiter, LockoutGuard]] = {}
        self._lock = threading.Lock()
        self._parsed = Parsed()

    def routes(self) -> list[Route]:
        base = "/hooks/mango/{account}"
        return [
            Route("POST", base + "/events/{name:.+}", self._edge.events, MAX_BODY, "mango.events",
                  quick=self._edge.quick_events),
            Route("POST", base + "/result/{name:.+}", self._edge.results, MAX_BODY, "mango.result",
                  quick=self._edge.quick_results),
            Route("POST", base + "/vpbx/result/{name:.+}", self._edge.results, MAX_BODY, "mango.vpbx_result",
                  quick=self._edge.quick_results),
        ]

    def account(self, name: str) -> MangoSettings:
        conf = self._accounts.get(name)
        if conf is None:
            raise ConfigError(f"no [[telephony.mango]] account {name!r}")
        return conf

    def process(self, event: StoredEvent, ctx: ParseContext) -> Outcome:
        conf = self.account(event.account)
        if event.name == FETCH:
            return self._fetch(event, ctx, conf)
        if (event.name or "").startswith("result/"):
            return Outcome(result=command_result(event.body))
        follow_ups = self._recording_tasks(event, ctx, conf) if conf.fetch_recordings else []
        return Outcome(interactions=self._refold(event, ctx, conf, {}), follow_ups=follow_ups)

    def _refold(self, event: StoredEvent, ctx: ParseContext, conf: MangoSettings,
                results: Mapping[str, Mapping[str, Any]]) -> list[Interaction]:
        if not event.group_key:
            return []
        events = list(ctx.related(CHANNEL, event.account, event.group_key))
        if all(e.id != event.id for e in events):
            events.append(event)
        interaction = fold_call(event.account, collect(event.group_key, events, results, self._parsed), conf)
        return [interaction] if interaction else []

    def _recording_tasks(self, event: StoredEvent, ctx: ParseContext, conf: MangoSettings) -> list[NewEvent]:
        ids: list[str] = []
        try:
            if event.name == "record/added":
                ids = [RecordAdded.model_validate_json(event.body).recording_id]
            elif event.name == STATS:
                stats = StatsCall.model_validate_json(event.body)
                ids = sorted({r for leg in stats.context_calls for r in leg.recording_id})
        except ValueError as exc:
            log.warning("mango.event.invalid", event_id=event.id, name=event.name, error=str(exc)[:200])
            return []
        return [
            NewEvent(connector=CHANNEL, account=event.account, key=f"fetch:{rid}", name=FETCH,
                     group_key=event.group_key, received_at=ctx.now,
                     body=compact_json({"recording_id": rid, "entry_id": event.group_key}).encode())
            for rid in ids
        ]

    def _fetch(self, event: StoredEvent, ctx: ParseContext, conf: MangoSettings) -> Outcome:
        try:
            recording_id = str(json.loads(event.body)["recording_id"])
        except (ValueError, KeyError, TypeError):
            raise PayloadError("fetch task without recording_id") from None
        limiter, guard = self._pacer(conf)
        waited_h = (ctx.now - event.received_at).total_seconds() / 3600
        result = fetch_recording(VpbxClient(conf, ctx.http, limiter, guard), ctx.files, recording_id,
                                 retry_after=conf.recording_retry_seconds, max_bytes=conf.recording_max_mb << 20,
                                 give_up=waited_h >= conf.recording_wait_hours)
        return Outcome(interactions=self._refold(event, ctx, conf, {event.id: result}), result=result)

    def _pacer(self, conf: MangoSettings) -> tuple[RateLimiter, LockoutGuard]:
        """Per process and account: Mango's recording rate limit, and the lockout guard."""
        with self._lock:
            if conf.account not in self._pacers:
                limiter = RateLimiter.per_second(conf.recording_rate_per_second)
                self._pacers[conf.account] = (limiter, LockoutGuard())
            return self._pacers[conf.account]
