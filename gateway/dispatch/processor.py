"""Claim a batch of events, parse them, run the core pipeline, record the outcome.

Phase 1 (no write transaction): each connector's `process()` parses its event; this may
read related events or fetch files. Phase 2 (short write transactions): the
core pipeline stores every interaction, follow-ups are appended, events are marked done.
On SQLite, phase 2 commits every `commit_every` events or once a transaction has held the
write lock for `write_turn_ms`, whichever comes first, so that an edge in another process, waiting in
SQLite's busy handler, never waits long for it (a Mango call's events cost about a millisecond each:
fifty of them held the edge's group commit for tens of milliseconds). A processor that hears the edge
wait (`hear_edge`: the embedded worker's write gate) ends its transaction after the event it is storing
once it has held the lock for `give_way_after_ms` while the edge waits, and otherwise only after
`write_turn_alone_ms`: fewer commits, each an fsync, while nobody waits for them. A transaction is
offered twice the events the previous one took (across batches too), as each chunk's leads and
identities are read before its first event. If a chunk fails, it is rolled back and redone
event by event, so that one bad event fails alone. Failures retry with backoff and end as `dead` after
`max_attempts`.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import Connection, Engine

from gateway.config import Settings
from gateway.connectors.base import Connector, Outcome, StoredEvent
from gateway.core.errors import GatewayError, PayloadError, PermanentUpstreamError, TransientUpstreamError
from gateway.core.models import Interaction
from gateway.core.pipeline import PipelineConfig, PipelineResult, identity_values, process_interaction
from gateway.egress import OutboundClient
from gateway.logs import bound
from gateway.store import event_log
from gateway.store.crm import CrmRepo, LeadKeyTaken, Lookups
from gateway.store.db import read_only
from gateway.store.files import FileStore

__all__ = ["BatchReport", "Processor"]

log = structlog.get_logger(__name__)
CHUNK_FLOOR = 4  # SQLite: the fewest events a write transaction is offered after one was cut short
Clock = Callable[[], datetime]
LeadHook = Callable[[Connection, PipelineResult, StoredEvent], None]
InteractionHook = Callable[[Connection, Interaction], Interaction]  # may add to an interaction before the pipeline


@dataclass(slots=True)
class BatchReport:
    claimed: int = 0
    done: int = 0
    failed: int = 0
    dead: int = 0
    leads: list[int] = field(default_factory=list)


class _Context:
    """The ParseContext a connector sees. Reads go through one connection for the whole parse phase (a new
    one per read cost a pool checkout and, on PostgreSQL, a ping round trip), and a group's related events are
    read once per batch: every event of a call refolds the same group. Events stored after the first read
    are pending themselves and refold the group again when their turn comes."""

    def __init__(self, engine: Engine, files: FileStore, http: OutboundClient, now: datetime) -> None:
        self._engine, self._files, self._http, self.now = engine, files, http, now
        self._conn: Connection | None = None
        self._related: dict[tuple[str, str, str, tuple[str, ...] | None], Sequence[StoredEvent]] = {}

    def related(self, connector: str, account: str, group_key: str,
                names: Sequence[str] | None = None) -> Sequence[StoredEvent]:
        key = (connector, account, group_key, tuple(names) if names is not None else None)
        if key not in self._related:
            if self._conn is None:
                self._conn = read_only(self._engine.connect())
            self._related[key] = event_log.related(self._conn, connector, account, group_key, names)
            self._conn.rollback()  # no transaction left open (SQLite: no snapshot held against the writers)
        return self._related[key]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @property
    def files(self) -> FileStore:
        return self._files

    @property
    def http(self) -> OutboundClient:
        return self._http


def _again(previous: tuple[Interaction, PipelineResult] | None, ix: Interaction) -> PipelineResult | None:
    """The result of storing `ix` when the same interaction was just stored in this transaction, else None.

    Every notification of a call refolds the whole call: the events of one call in a batch give the same
    interaction, and storing it again would change nothing but the lead's updated_at. The result is the one
    an update gives (nothing created)."""
    if previous is None or previous[0] != ix:
        return None
    first = previous[1]
    return PipelineResult(first.lead_id, joined=first.joined, contact_id=first.contact_id, outcome=first.outcome,
                          callback=first.callback)


@dataclass(frozen=True, slots=True)
class Turn:
    """When a SQLite processing transaction ends (monotonic times): at `until`, or from `yield_from` on when the
    edge waits to store. Ending at once for the edge made transactions of one event each under a steady load,
    and the worker half as fast (a Mango call flow at 300 notifications/s fell behind at 99 events/s)."""

    until: float
    yield_from: float

    def over(self, now: float, edge_waits: Callable[[], bool]) -> bool:
        return now >= self.until or (now >= self.yield_from and edge_waits())


class Processor:
    def __init__(self, settings: Settings, engine: Engine, connectors: Mapping[str, Connector], files: FileStore,
                 http: OutboundClient, *, clock: Clock = lambda: datetime.now(UTC),
                 lead_hooks: Sequence[LeadHook] = (), interaction_hooks: Sequence[InteractionHook] = (),
                 hooks_quiet: Callable[[PipelineResult], bool] = lambda r: False,
                 write_turn: Callable[[], AbstractContextManager[None]] = nullcontext) -> None:
        self.settings, self.engine, self.connectors, self.files, self.http = settings, engine, connectors, files, http
        self.clock = clock
        self.lead_hooks = list(lead_hooks)
        self.interaction_hooks = list(interaction_hooks)
        self.hooks_quiet = hooks_quiet  # whether the hooks write nothing for a result (deferred leads may wait)
        self.write_turn = write_turn
        # whether another writer waits for this one's transaction (SQLite): it then ends after the current event,
        # once it has held the write lock for `give_way_after_ms` (see `hear_edge`)
        self._give_way: Callable[[], bool] = lambda: False
        self._give_way_after = settings.dispatch.give_way_after_ms / 1000
        self._turn = settings.dispatch.write_turn_ms / 1000
        self._offer = settings.dispatch.commit_every  # events offered to the next SQLite write transaction
        # told the ids of the leads each committed write transaction stored (the live page hears of them)
        self.on_committed: Callable[[list[int]], None] | None = None
        self.cfg = PipelineConfig(
            region=settings.default_region, short_call_seconds=settings.quality.short_call_seconds,
            default_pipeline=settings.pipelines[0].name, routing_rules=settings.routing,
            scoring_rules=settings.scoring.rules,
        )

    def hear_edge(self, waiting: Callable[[], bool]) -> None:
        """Be told when the edge waits to store (SQLite, the embedded worker's write gate): a transaction then
        gives way to it after `give_way_after_ms`, and may hold the lock for `write_turn_alone_ms` while it
        does not wait."""
        self._give_way = waiting
        self._turn = self.settings.dispatch.write_turn_alone_ms / 1000

    def run_batch(self, owner: str, limit: int | None = None) -> BatchReport:
        d = self.settings.dispatch
        with self.write_turn(), self.engine.begin() as conn:  # a claim writes: it waits its turn like the rest
            claim = event_log.claim_batch(conn, limit=limit or d.batch_size, lease_s=d.lease_seconds,
                                          now=self.clock(), owner=owner)
        report = BatchReport(claimed=len(claim.events))
        if not claim.events:
            return report
        parsed: list[tuple[StoredEvent, Outcome]] = []
        ctx = _Context(self.engine, self.files, self.http, self.clock())
        try:
            for ev in claim.events:
                try:
                    parsed.append((ev, self._parse(ev, ctx)))
                except Exception as exc:
                    self._fail(ev, exc, report)
        finally:
            ctx.close()
        if not parsed:
            return report
        # SQLite has one writer: short transactions keep the edge waiting briefly. PostgreSQL has no such
        # limit, and one commit per batch is faster there.
        sqlite = self.engine.dialect.name == "sqlite"
        if not sqlite:
            self._apply_chunk(parsed, owner, report, None, Lookups())
            return report
        most = self.settings.dispatch.commit_every
        lookups = Lookups()  # stages, sources, users: read once per batch, not once per transaction
        rest: Sequence[tuple[StoredEvent, Outcome]] = parsed
        while rest:
            chunk = rest[:self._offer]
            taken = self._apply_chunk(chunk, owner, report, self._turn, lookups)
            rest = rest[taken:]
            # A chunk's leads and identities are read before its first event; a transaction cut short after a few
            # events would leave the rest read for nothing, and read again by the next: the next chunk is twice
            # what the last transaction took (each event's keys are then read about twice at most), in the next
            # batch too (while the edge stores at full speed, every turn is cut short). One that took all it was
            # offered (the batch ran out) does not make the offer smaller.
            grown = max(CHUNK_FLOOR, 2 * taken)
            self._offer = min(most, grown if taken < len(chunk) else max(self._offer, grown))
        return report

    def _apply_chunk(self, chunk: Sequence[tuple[StoredEvent, Outcome]], owner: str, report: BatchReport,
                     turn: float | None, lookups: Lookups) -> int:
        """One short write transaction over the chunk's first events, ending once it has taken `turn` seconds
        (SQLite has one writer: the edge must not wait long); how many events it took."""
        leads_before = len(report.leads)
        try:
            with self.write_turn(), self.engine.begin() as conn:
                began = time.monotonic()
                turn_ends = None if turn is None else Turn(began + turn, began + self._give_way_after)
                taken = self._apply(conn, chunk, owner, report, defer=True, turn=turn_ends, lookups=lookups)
            report.done += taken
            self._committed(report.leads[leads_before:])
            return taken
        except LeadKeyTaken as exc:  # a race with another worker, not an error: the single path settles it
            log.info("batch.retry_singly", size=len(chunk), reason=str(exc))
        except Exception:
            log.warning("batch.retry_singly", size=len(chunk), exc_info=True)
        lookups.forget()  # a source or company made by the rolled-back transaction is gone
        del report.leads[leads_before:]
        for item in chunk:
            before = len(report.leads)
            try:
                with self.write_turn(), self.engine.begin() as conn:
                    self._apply(conn, [item], owner, report, lookups=lookups)
                report.done += 1
                self._committed(report.leads[before:])
            except Exception as exc:
                lookups.forget()
                self._fail(item[0], exc, report)
        return len(chunk)

    def _committed(self, leads: list[int]) -> None:
        if leads and self.on_committed is not None:
            try:
                self.on_committed(leads)
            except Exception:  # news for the page: never a reason to fail the batch
                log.warning("batch.committed_hook_failed", exc_info=True)

    def _parse(self, ev: StoredEvent, ctx: _Context) -> Outcome:
        connector = self.connectors.get(ev.connector)
        if connector is None:
            raise PermanentUpstreamError(f"no connector {ev.connector!r}")
        with bound(event_id=ev.id, connector=ev.connector):
            return connector.process(ev, ctx)

    def _apply(self, conn: Connection, items: Sequence[tuple[StoredEvent, Outcome]], owner: str,
               report: BatchReport, *, defer: bool = False, turn: Turn | None = None,
               lookups: Lookups | None = None) -> int:
        """Store the items' interactions, stopping after the first item that ends past the `turn`; with `defer`,
        new contacts and leads are written together. How many items it stored."""
        now = self.clock()
        repo = CrmRepo(conn, now, lookups, defer_leads=defer)
        interactions = [ix for _, outcome in items for ix in outcome.interactions]
        repo.prefetch([ix.key for ix in interactions],
                      [v for ix in interactions for _, v in identity_values(ix, self.cfg.region)])
        results: dict[str, dict[str, Any]] = {}
        done: dict[str, tuple[Interaction, PipelineResult]] = {}  # the last interaction stored for each key
        taken = 0
        for ev, outcome in items:
            with bound(event_id=ev.id, connector=ev.connector):
                leads: list[int] = []
                for ix in outcome.interactions:
                    for change in self.interaction_hooks:
                        ix = change(conn, ix)
                    res = _again(done.get(ix.key), ix)
                    if res is None:
                        res = process_interaction(repo, ix, event_id=ev.id, cfg=self.cfg)
                        done[ix.key] = (ix, res)
                    if res.lead_id is not None:
                        leads.append(res.lead_id)
                    if self.lead_hooks and not self.hooks_quiet(res):
                        repo.flush()  # the hooks may read or reference the lead
                    for hook in self.lead_hooks:
                        hook(conn, res, ev)
                if outcome.follow_ups:
                    event_log.append(conn, outcome.follow_ups)
                result = dict(outcome.result or {})
                if leads:
                    result["leads"] = leads
                    report.leads.extend(leads)
                if result:
                    results[ev.id] = result
            taken += 1
            if turn is not None and turn.over(time.monotonic(), self._give_way):
                break
        repo.flush()
        ids = [ev.id for ev, _ in items[:taken]]
        event_log.complete(conn, ids, now=now, owner=owner, results=results)
        return taken

    def _fail(self, ev: StoredEvent, exc: BaseException, report: BatchReport) -> None:
        d = self.settings.dispatch
        retry_after = exc.retry_after if isinstance(exc, TransientUpstreamError) else None
        # A recording that is not ready yet is waiting, not failing: it does not use up attempts.
        waiting = isinstance(exc, TransientUpstreamError) and exc.details.get("waiting") is True
        message = f"{exc.__class__.__name__}: {exc}" if isinstance(exc, GatewayError) else \
            "".join(traceback.format_exception_only(type(exc), exc)).strip()
        # A provider that refused for good is not asked again (Mango locks an account out after bad
        # requests), and a body that cannot be parsed will not parse better: both wait for a replay.
        max_attempts = 1 if isinstance(exc, PermanentUpstreamError | PayloadError) else d.max_attempts
        with self.engine.begin() as conn:
            status = event_log.fail(conn, ev.id, error=message, now=self.clock(), max_attempts=max_attempts,
                                    base_s=d.retry_base_seconds, max_s=d.retry_max_seconds,
                                    retry_after=retry_after, count_attempt=not waiting)
        if status == "dead":
            report.dead += 1
            log.error("event.dead", event_id=ev.id, connector=ev.connector, error=message)
        else:
            report.failed += 1
            log.warning("event.failed", event_id=ev.id, connector=ev.connector, error=message,
                        exc_info=not isinstance(exc, GatewayError))
