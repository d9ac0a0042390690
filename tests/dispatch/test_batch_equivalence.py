"""A batch stores what the same events processed one at a time store: the events of one call in a batch refold
to the same interaction, which is stored once, and every event still names the lead."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, event, select

from gateway.connectors.telephony.mango import MangoConnector
from gateway.dispatch.processor import CHUNK_FLOOR, Processor
from gateway.dispatch.runtime import build_runtime
from gateway.store import event_log
from gateway.store.bootstrap import bootstrap
from gateway.store.schema import events, leads, sources, tasks
from tests.connectors.telephony.mango.mango_support import edge_events, load, settings

SCENARIOS = ["incoming_via_ivr_to_group", "missed_in_queue_numbers_as_strings", "callback_to_missed_number",
             "outgoing_answered"]
SKIP = {"id", "created_at", "updated_at", "event_id", "contact_id", "deal_id", "revision"}


def _store(tmp: Path, limit: int | None, turn_ms: float | None = None, commits: list[int] | None = None,
           told: list[list[int]] | None = None, give_way: Callable[[], bool] | None = None,
           give_way_after_ms: float = 0, prepare: Callable[[Processor], None] | None = None,
           alone_ms: float | None = None, commit_every: int = 50, first_limits: tuple[int, ...] = (),
           ) -> tuple[list[dict[str, Any]], list[tuple[str, Any]], list[str]]:
    """Process the scenarios' events (the first batches of `first_limits` events, then of `limit`); `turn_ms` sets
    both turns (unheard and alone) unless `alone_ms` is given."""
    conf = settings().model_copy(update={"database_url": f"sqlite:///{tmp}/gateway.db", "files_dir": tmp / "files"})
    dispatch: dict[str, float] = {"give_way_after_ms": give_way_after_ms, "commit_every": commit_every}
    if turn_ms is not None:
        dispatch["write_turn_ms"] = turn_ms
        dispatch["write_turn_alone_ms"] = turn_ms
    if alone_ms is not None:
        dispatch["write_turn_alone_ms"] = alone_ms
    conf = conf.model_copy(update={"dispatch": conf.dispatch.model_copy(update=dispatch)})
    rt = build_runtime(conf)
    bootstrap(rt.engine, conf)
    if commits is not None:
        event.listen(rt.engine, "commit", lambda _conn: commits.append(1))
    if told is not None:
        rt.processor.on_committed = told.append
    if give_way is not None:
        rt.processor.hear_edge(give_way)
    if prepare is not None:
        prepare(rt.processor)
    connector = MangoConnector(conf)
    stored = [ev for name in SCENARIOS for ev in asyncio.run(edge_events(connector, load(name)))]
    with rt.engine.begin() as conn:
        event_log.append(conn, stored)
    for first in first_limits:
        rt.processor.run_batch("test", limit=first)
    while rt.processor.run_batch("test", limit=limit).claimed:
        pass
    with rt.engine.connect() as conn:
        lead_rows = [dict(r) for r in conn.execute(select(leads).order_by(leads.c.key)).mappings()]
        key_of = {r["id"]: r["key"] for r in lead_rows}
        named = [(r.key, sorted(key_of[i] for i in (r.result or {}).get("leads", [])))
                 for r in conn.execute(select(events.c.key, events.c.result, events.c.status)
                                       .order_by(events.c.key)) if r.status == "done"]
        task_keys = sorted(conn.execute(select(tasks.c.key)).scalars())
    rt.close()
    return [{k: v for k, v in r.items() if k not in SKIP} for r in lead_rows], named, task_keys


@pytest.mark.parametrize("limit", [None])
def test_a_batch_stores_what_one_event_at_a_time_stores(tmp_path: Path, limit: int | None) -> None:
    (tmp_path / "batch").mkdir()
    (tmp_path / "single").mkdir()
    batch = _store(tmp_path / "batch", limit)
    single = _store(tmp_path / "single", 1)
    assert len(batch[0]) == len(SCENARIOS)
    assert batch[0] == single[0]
    assert batch[1] == single[1]  # each event names the same lead in both
    assert sum(1 for _, lead_keys in batch[1] if lead_keys) > len(SCENARIOS)
    assert batch[2] == single[2]


@pytest.mark.parametrize("cut_by", ["turn", "give_way"])
def test_a_write_turn_cut_short_stores_the_same_in_more_transactions(tmp_path: Path, cut_by: str) -> None:
    """SQLite: a processing transaction that has held the write lock for `write_turn_ms` commits and the rest of
    the chunk goes on in the next one; so does one told to give way (the edge waits for the write gate), after
    the event it is storing. What is stored does not change."""
    for name in ("long", "cut"):
        (tmp_path / name).mkdir()
    long_commits: list[int] = []
    cut_commits: list[int] = []
    told: list[list[int]] = []
    long = _store(tmp_path / "long", None, 10_000, long_commits)
    if cut_by == "turn":
        cut = _store(tmp_path / "cut", None, 0.001, cut_commits, told)  # every event ends its turn
    else:
        cut = _store(tmp_path / "cut", None, 10_000, cut_commits, told, give_way=lambda: True)
    assert cut == long
    # the live page is told after each commit, not once the batch is over: each lead as soon as it is stored
    assert len(told) > len(SCENARIOS) and all(told)
    events_done = len(cut[1])
    assert events_done > 2 * len(SCENARIOS)
    assert len(cut_commits) >= len(long_commits) + events_done - 2  # about one transaction per event


def test_a_worker_told_to_give_way_holds_the_lock_for_give_way_after_ms_first(tmp_path: Path) -> None:
    """Ending at once for a waiting edge made transactions of one event under a steady load: a transaction
    that has not yet held the lock for `give_way_after_ms` goes on."""
    for name in ("long", "held"):
        (tmp_path / name).mkdir()
    long_commits: list[int] = []
    held_commits: list[int] = []
    long = _store(tmp_path / "long", None, 10_000, long_commits)
    held = _store(tmp_path / "held", None, 10_000, held_commits, give_way=lambda: True, give_way_after_ms=10_000)
    assert held == long
    assert len(held_commits) == len(long_commits)


def _watching_offers(offers: list[tuple[int, int]]) -> Callable[[Processor], None]:
    """A `prepare` for `_store` that records (events offered, events taken) for each processing transaction."""
    def watch(processor: Processor) -> None:
        apply = processor._apply

        def counted(*args: Any, **kwargs: Any) -> int:
            taken = apply(*args, **kwargs)
            offers.append((len(args[1]), taken))
            return taken

        processor._apply = counted  # type: ignore[method-assign]

    return watch


def test_a_worker_that_hears_the_edge_holds_the_lock_longer_while_the_edge_does_not_wait(tmp_path: Path) -> None:
    """Each commit is an fsync: a worker told when the edge waits (the embedded worker's write gate) ends its
    transaction for the edge, not by the clock, and so may hold it for `write_turn_alone_ms`; one that cannot
    hear the edge keeps to `write_turn_ms`."""
    for name in ("deaf", "heard", "long"):
        (tmp_path / name).mkdir()
    deaf_commits: list[int] = []
    heard_commits: list[int] = []
    long_commits: list[int] = []
    long = _store(tmp_path / "long", None, 10_000, long_commits)
    deaf = _store(tmp_path / "deaf", None, 0.001, deaf_commits, alone_ms=10_000)
    heard = _store(tmp_path / "heard", None, 0.001, heard_commits, give_way=lambda: False, alone_ms=10_000)
    assert deaf == heard == long
    events_done = len(long[1])
    assert len(deaf_commits) >= len(long_commits) + events_done - 2  # a transaction per event, as before
    assert len(heard_commits) == len(long_commits)  # the whole batch in one transaction: nobody waited


def test_the_events_offered_follow_the_last_transaction_into_the_next_batch(tmp_path: Path) -> None:
    """While the edge stores at full speed every turn is cut short: a new batch's first transaction is offered
    twice what the last one took, not `commit_every` events whose leads and identities would be read for
    nothing."""
    offers: list[tuple[int, int]] = []
    watch = _watching_offers(offers)
    (tmp_path / "cut").mkdir()
    _store(tmp_path / "cut", 6, 10_000, give_way=lambda: True, prepare=watch, commit_every=500)
    offered = [n for n, _ in offers]
    assert offered[0] == 6  # the first batch's first transaction: the whole batch
    assert len(offered) > 6 and max(offered[1:]) == CHUNK_FLOOR  # every later one, in every batch


def test_a_batch_that_ran_out_leaves_the_next_the_events_it_was_offered(tmp_path: Path) -> None:
    """A transaction that took all it was offered was not cut short: after a batch of two events, the next batch
    is offered whole again, not four events at a time."""
    offers: list[tuple[int, int]] = []
    watch = _watching_offers(offers)
    (tmp_path / "small").mkdir()
    stored = _store(tmp_path / "small", None, 10_000, prepare=watch, first_limits=(2,))
    offered = [n for n, _ in offers]
    assert offered == [2, len(stored[1]) - 2]  # two transactions: the small batch, then all the rest at once


def test_after_a_transaction_cut_short_the_next_is_offered_twice_what_it_took(tmp_path: Path) -> None:
    """A chunk's leads and identities are read before its first event: offering fifty events to transactions
    that take one read each event's keys up to fifty times."""
    offered: list[tuple[int, int]] = []
    watch = _watching_offers(offered)
    (tmp_path / "cut").mkdir()
    cut = _store(tmp_path / "cut", None, 10_000, give_way=lambda: True, prepare=watch)
    assert len(offered) == len(cut[1])  # one event per transaction
    assert offered[0][0] == len(cut[1])  # the first is offered the whole batch (fewer than commit_every)
    assert {n for n, taken in offered[1:-CHUNK_FLOOR]} == {CHUNK_FLOOR}
    assert all(taken == 1 for _, taken in offered)


def test_a_batch_looks_its_sources_up_once_across_its_transactions(tmp_path: Path) -> None:
    looked_up: list[str] = []

    def watch(processor: Processor) -> None:
        def seen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
            if statement.lstrip().upper().startswith("SELECT") and "FROM sources" in statement:
                looked_up.append(statement)
        event.listen(processor.engine, "before_cursor_execute", seen)

    (tmp_path / "cut").mkdir()
    cut = _store(tmp_path / "cut", None, 10_000, give_way=lambda: True, prepare=watch)
    assert len(cut[1]) > 2 * len(SCENARIOS)  # many transactions of one event
    used = {row["source_id"] for row in cut[0]}
    assert len(used) >= 2
    assert 0 < len(looked_up) <= 2 * len(used)  # a new source: looked up, then read back once made


def test_a_transaction_rolled_back_takes_its_new_sources_out_of_the_batch_lookups(tmp_path: Path) -> None:
    """The first transaction makes the batch's sources, then fails; its events are redone one by one, and
    must not use the ids it made (they are gone with it)."""
    failed = [False]

    def once_failing(processor: Processor) -> None:
        def hook(_conn: Any, _result: Any, _event: Any) -> None:
            if not failed[0]:
                failed[0] = True
                raise RuntimeError("a hook that fails once")
        processor.lead_hooks.append(hook)

    (tmp_path / "fail").mkdir()
    (tmp_path / "plain").mkdir()
    plain = _store(tmp_path / "plain", None, 10_000)
    redone = _store(tmp_path / "fail", None, 10_000, prepare=once_failing)
    assert failed[0]
    assert redone[1] == plain[1]  # every event done, naming the same leads

    def read(folder: str) -> tuple[list[Any], set[int], set[int]]:
        engine = create_engine(f"sqlite:///{tmp_path}/{folder}/gateway.db")
        with engine.connect() as conn:
            tries = [tuple(r) for r in conn.execute(select(events.c.key, events.c.status, events.c.attempts)
                                                    .order_by(events.c.key))]
            made = set(conn.execute(select(sources.c.id)).scalars())
            used = set(conn.execute(select(leads.c.source_id).where(leads.c.source_id.is_not(None))).scalars())
        engine.dispose()
        return tries, made, used

    tries, made, used = read("fail")
    assert tries == read("plain")[0]  # no event failed on the way (a stale source id fails its lead's insert)
    assert used and used <= made


def test_the_gate_says_when_the_edge_waits() -> None:
    import multiprocessing
    import threading

    from gateway.dispatch.gate import WriteGate

    gate = WriteGate(multiprocessing.get_context("spawn"))
    entered = threading.Event()

    def edge_turn() -> None:
        with gate.edge():
            entered.set()

    with gate.worker():
        assert not gate.edge_waiting()
        edge = threading.Thread(target=edge_turn)
        edge.start()
        for _ in range(500):
            if gate.edge_waiting():
                break
            threading.Event().wait(0.01)
        assert gate.edge_waiting() and not entered.is_set()
    edge.join(5)
    assert entered.is_set() and not gate.edge_waiting()


def test_only_the_same_interaction_is_taken_as_stored() -> None:
    from datetime import UTC, datetime

    from gateway.core.models import Channel, Interaction, Kind
    from gateway.core.pipeline import PipelineResult
    from gateway.dispatch.processor import _again

    first = Interaction(key="k", channel=Channel.MANUAL, kind=Kind.MANUAL, occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
                        name="Анна")
    stored = PipelineResult(7, created=True, contact_id=3, events=[("lead.created", 7)], callback=True)
    again = _again((first, stored), first.model_copy())
    assert again is not None and (again.lead_id, again.contact_id, again.callback) == (7, 3, True)
    assert not again.created and again.events == []  # nothing is created twice
    assert _again((first, stored), first.model_copy(update={"name": "Анна Петровна"})) is None
    assert _again(None, first) is None


def test_a_claim_waits_while_the_edge_holds_the_gate(tmp_path: Path) -> None:
    """Claiming a batch writes (the events' owner and lease): on SQLite it waits its turn at the write gate like
    the worker's other transactions, instead of taking the lock from under an edge that holds the gate."""
    import multiprocessing
    import threading

    from gateway.dispatch.gate import WriteGate

    conf = settings().model_copy(update={"database_url": f"sqlite:///{tmp_path}/gateway.db",
                                         "files_dir": tmp_path / "files"})
    rt = build_runtime(conf)
    bootstrap(rt.engine, conf)
    gate = WriteGate(multiprocessing.get_context("spawn"))
    rt.processor.write_turn = gate.worker
    stored = asyncio.run(edge_events(MangoConnector(conf), load(SCENARIOS[0])))
    with rt.engine.begin() as conn:
        event_log.append(conn, stored)

    def statuses() -> set[str]:
        with rt.engine.connect() as conn:
            return set(conn.execute(select(events.c.status)).scalars())

    with gate.edge():
        worker = threading.Thread(target=rt.processor.run_batch, args=("test",))
        worker.start()
        threading.Event().wait(0.4)
        held = statuses()
    worker.join(10)
    assert held == {"pending"}  # nothing claimed while the edge held the gate
    assert "done" in statuses()  # the batch went ahead once the edge let go
    rt.close()
