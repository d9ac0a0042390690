"""The core pipeline against the real store, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from gateway.connectors.base import NewEvent
from gateway.core.models import (
    CallInfo,
    Channel,
    Direction,
    IdentityKind,
    IdentityRef,
    Interaction,
    Kind,
    MessageRef,
)
from gateway.core.pipeline import PipelineConfig, process_interaction
from gateway.dispatch.runtime import build_runtime
from gateway.store import event_log
from gateway.store.bootstrap import bootstrap
from gateway.store.crm import CrmRepo
from gateway.store.schema import blocklist, contacts, events, identities, leads, messages
from tests.conftest import make_settings
from tests.store.overlap import overlapping

T0 = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)


def _runtime(tmp_path: Path, database_url: str) -> Any:
    rt = build_runtime(make_settings(tmp_path, database_url=database_url))
    bootstrap(rt.engine, rt.settings)
    yield rt
    rt.close()


@pytest.fixture
def runtime(tmp_path: Path, database_url: str) -> Any:
    yield from _runtime(tmp_path, database_url)


@pytest.fixture
def sqlite_runtime(tmp_path: Path) -> Any:
    """Leads are deferred on SQLite only (CrmRepo's defer_leads)."""
    yield from _runtime(tmp_path, f"sqlite:///{tmp_path}/gateway.db")


def manual(key: str, **body: Any) -> NewEvent:
    return NewEvent(connector="manual", account="tester", key=key, body=json.dumps(body).encode(), received_at=T0)


def process_all(rt: Any) -> None:
    while rt.processor.run_batch("test").claimed:
        pass


def rows(rt: Any, table: Any) -> list[dict[str, Any]]:
    with rt.engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table).order_by(table.c.id)).mappings()]


def ix(key: str, **kw: Any) -> Interaction:
    base: dict[str, Any] = {"key": key, "channel": Channel.MANUAL, "kind": Kind.MANUAL, "occurred_at": T0}
    base.update(kw)
    return Interaction(**base)


def run(rt: Any, interaction: Interaction) -> Any:
    cfg = PipelineConfig(region="RU", short_call_seconds=10, default_pipeline="Продажи")
    with rt.engine.begin() as conn:
        return process_interaction(CrmRepo(conn, T0), interaction, event_id=None, cfg=cfg)


def test_new_person_to_unsorted_then_repeat(runtime: Any) -> None:
    with runtime.engine.begin() as conn:
        event_log.append(conn, [manual("a", name="Иван", phone="8 916 123-45-67"),
                                manual("b", phone="+7 (916) 123 45 67", email="Ivan@Example.com ")])
    process_all(runtime)
    first, second = rows(runtime, leads)
    assert (first["status"], first["quality"], first["phone"]) == ("unsorted", "unverified", "+79161234567")
    assert first["advertising"] is False  # no source: nothing says an ad brought it
    assert (second["status"], second["quality"]) == ("attached", "repeat")
    assert first["contact_id"] == second["contact_id"]
    assert {(r["kind"], r["value"]) for r in rows(runtime, identities)} == {
        ("phone", "+79161234567"), ("email", "ivan@example.com")}


def test_reprocessing_changes_nothing(runtime: Any) -> None:
    with runtime.engine.begin() as conn:
        [(event_id, _)] = event_log.append(conn, [manual("a", name="Иван", phone="89161234567")])
    process_all(runtime)
    before = rows(runtime, leads)
    with runtime.engine.begin() as conn:
        assert event_log.requeue(conn, ids=[event_id], now=datetime.now(UTC)) == 1
    process_all(runtime)
    after = rows(runtime, leads)
    strip = lambda rs: [{k: v for k, v in r.items() if k != "updated_at"} for r in rs]  # noqa: E731
    assert strip(after) == strip(before)
    assert len(rows(runtime, contacts)) == 1


def test_blocked_number_is_non_target(runtime: Any) -> None:
    with runtime.engine.begin() as conn:
        conn.execute(blocklist.insert().values(kind="phone", value="+79031112233", created_at=T0))
    run(runtime, ix("x", identities=[IdentityRef(kind=IdentityKind.PHONE, value="89031112233")]))
    [lead] = rows(runtime, leads)
    assert (lead["quality"], lead["status"], lead["non_target_reason"]) == ("non_target", "declined", "blocked")


def test_chat_messages_join_the_open_conversation(runtime: Any) -> None:
    def chat(n: int, text: str) -> Interaction:
        return ix(f"telegram:bot:42:{n}", channel=Channel.TELEGRAM, kind=Kind.CHAT, conversation_key="telegram:bot:42",
                  identities=[IdentityRef(kind=IdentityKind.TELEGRAM, value="42")],
                  messages=[MessageRef(key=f"telegram:bot:42:{n}", at=T0 + timedelta(minutes=n), text=text)])

    first = run(runtime, chat(1, "Здравствуйте"))
    second = run(runtime, chat(2, "Сколько стоит?"))
    edited = run(runtime, chat(2, "Сколько стоит доставка?").model_copy(
        update={"messages": [MessageRef(key="telegram:bot:42:2", at=T0, text="Сколько стоит доставка?", edited=True)]}))
    assert first.created and second.joined and edited.joined
    assert second.lead_id == first.lead_id
    assert len(rows(runtime, leads)) == 1
    texts = [(m["text"], m["edited"]) for m in rows(runtime, messages)]
    assert texts == [("Здравствуйте", False), ("Сколько стоит доставка?", True)]


def test_sent_mail_is_history_not_a_lead(runtime: Any) -> None:
    res = run(runtime, ix("imap:sales:<1@x>", channel=Channel.IMAP, kind=Kind.MAIL, direction=Direction.OUT,
                          history_only=True, identities=[IdentityRef(kind=IdentityKind.EMAIL, value="c@client.ru")],
                          messages=[MessageRef(key="imap:sales:<1@x>", at=T0, direction=Direction.OUT, text="Hi")]))
    assert res.outcome == "history" and res.lead_id is None
    assert rows(runtime, leads) == []
    [msg] = rows(runtime, messages)
    assert msg["contact_id"] is not None and msg["lead_id"] is None


def test_mail_reply_joins_its_thread(runtime: Any) -> None:
    mail = {"channel": Channel.IMAP, "kind": Kind.MAIL,
            "identities": [IdentityRef(kind=IdentityKind.EMAIL, value="c@client.ru")]}
    first = run(runtime, ix("imap:sales:<1@c>", **mail, messages=[MessageRef(key="imap:sales:<1@c>", at=T0)]))
    reply = run(runtime, ix("imap:sales:<2@c>", **mail, reply_to=["imap:sales:<1@c>"],
                            messages=[MessageRef(key="imap:sales:<2@c>", at=T0)]))
    assert reply.joined and reply.lead_id == first.lead_id


def test_same_form_twice_within_window_is_one_lead(runtime: Any) -> None:
    form = {"channel": Channel.FORMS, "kind": Kind.FORM, "account": "site", "dedupe_window_s": 300,
            "identities": [IdentityRef(kind=IdentityKind.PHONE, value="+79161234567")]}
    a = run(runtime, ix("forms:site:1", **form))
    b = run(runtime, ix("forms:site:2", **form, occurred_at=T0 + timedelta(minutes=2)))
    c = run(runtime, ix("forms:site:3", **form, occurred_at=T0 + timedelta(minutes=20)))
    assert b.outcome == "merged" and b.lead_id == a.lead_id
    assert c.created and c.lead_id != a.lead_id


def test_missed_call_callback_loop(runtime: Any) -> None:
    phone = [IdentityRef(kind=IdentityKind.PHONE, value="79031112233")]
    call = {"channel": Channel.MANGO, "kind": Kind.CALL, "identities": phone, "source": "Call to number 74951234567"}
    missed = run(runtime, ix("mango:main:1", **call, call=CallInfo(answered=False, result="missed", complete=True)))
    assert rows(runtime, leads)[0]["needs_callback"] is True
    back = ix("mango:main:2", **call, direction=Direction.OUT, occurred_at=T0 + timedelta(minutes=7),
              call=CallInfo(answered=True, result="answered", duration_s=63, complete=True))
    run(runtime, back)
    first = next(r for r in rows(runtime, leads) if r["id"] == missed.lead_id)
    assert first["needs_callback"] is False and first["time_to_callback_s"] == 420
    out = next(r for r in rows(runtime, leads) if r["id"] != missed.lead_id)
    assert out["advertising"] is False and out["status"] == "attached"


def test_short_and_internal_calls_are_non_target(runtime: Any) -> None:
    phone = [IdentityRef(kind=IdentityKind.PHONE, value="79031112233")]
    run(runtime, ix("mango:main:s", channel=Channel.MANGO, kind=Kind.CALL, identities=phone,
                    call=CallInfo(answered=True, duration_s=4, complete=True)))
    run(runtime, ix("mango:main:i", channel=Channel.MANGO, kind=Kind.CALL, direction=Direction.INTERNAL,
                    call=CallInfo(answered=True, duration_s=60, complete=True)))
    reasons = sorted(r["non_target_reason"] for r in rows(runtime, leads))
    assert reasons == ["internal", "short call"]
    assert all(r["quality"] == "non_target" for r in rows(runtime, leads))


def test_a_later_revision_updates_and_an_older_one_does_not(runtime: Any) -> None:
    phone = [IdentityRef(kind=IdentityKind.PHONE, value="79031112233")]
    base = {"channel": Channel.MANGO, "kind": Kind.CALL, "identities": phone}
    run(runtime, ix("mango:main:r", **base, revision=1, call=CallInfo(result="in_progress")))
    run(runtime, ix("mango:main:r", **base, revision=3, call=CallInfo(result="answered", answered=True,
                                                                      duration_s=90, complete=True)))
    run(runtime, ix("mango:main:r", **base, revision=2, call=CallInfo(result="in_progress")))
    [lead] = rows(runtime, leads)
    assert (lead["result"], lead["duration_s"], lead["status"]) == ("answered", 90, "unsorted")


def test_one_contact_per_identity_twice_in_a_row(runtime: Any) -> None:
    """Both stores, one transaction: the second creation finds the first's identity (no race here)."""
    with runtime.engine.begin() as conn:
        repo = CrmRepo(conn, T0)
        a, created_a = repo.create_contact("A", [("phone", "+79161234567")])
        b, created_b = repo.create_contact("B", [("phone", "+79161234567")])
    assert a == b and created_a and not created_b
    with runtime.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(contacts)).scalar() == 1


def test_one_contact_per_identity_when_two_workers_overlap_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    """PostgreSQL only: the second worker creates the contact while the first's is made but not committed.

    A look-then-insert would find nothing and make a second contact; the insert that waits on the
    identity's unique key and then yields gives the second worker the first one's contact.
    """
    rt = build_runtime(make_settings(tmp_path, database_url=pg_url))
    bootstrap(rt.engine, rt.settings)
    try:
        first, second = overlapping(
            rt.engine, lambda conn: CrmRepo(conn, T0).create_contact("A", [("phone", "+79161234567")]),
            lambda conn: CrmRepo(conn, T0).create_contact("B", [("phone", "+79161234567"), ("email", "b@x.ru")]))
        assert isinstance(first, tuple) and isinstance(second, tuple), (first, second)
        assert first[1] is True and second == (first[0], False)
        assert [r["id"] for r in rows(rt, contacts)] == [first[0]]
        assert {r["contact_id"] for r in rows(rt, identities)} == {first[0]}
    finally:
        rt.close()


def test_statement_cache_keeps_returning_apart(runtime: Any) -> None:
    from gateway.store.dialect import insert_ignore_once

    with runtime.engine.connect() as conn:
        plain = insert_ignore_once(conn, identities, ["kind", "value"])
        returning = insert_ignore_once(conn, identities, ["kind", "value"], identities.c.id)
    assert plain is not returning
    # a known contact's identities first (no RETURNING), then a new contact (RETURNING): both work
    with runtime.engine.begin() as conn:
        repo = CrmRepo(conn, T0)
        first, _ = repo.create_contact("A", [("phone", "+79160000001")])
        repo.add_identities(first, [("email", "a@example.com")])
        second, created = repo.create_contact("B", [("phone", "+79160000002")])
    assert created and second != first


def test_a_batch_of_new_leads_gets_the_ids_its_events_report(runtime: Any) -> None:
    """On SQLite a batch's new leads are written together at the end of each chunk: every event still names the
    lead that was stored for it, repeats join their contact, and a second event of the same lead updates it."""
    people = [manual(f"p{i}", name=f"Клиент {i}", phone=f"+7916{i % 40:07d}", text="Хочу узнать цену")
              for i in range(120)]
    with runtime.engine.begin() as conn:
        stored = event_log.append(conn, people)
    process_all(runtime)
    by_event = {lead["event_id"]: lead for lead in rows(runtime, leads)}
    assert len(by_event) == 120
    with runtime.engine.connect() as conn:
        done = {r.id: r for r in conn.execute(select(events.c.id, events.c.status, events.c.result))}
    for event_id, _ in stored:
        assert done[event_id].status == "done"
        assert done[event_id].result["leads"] == [by_event[event_id]["id"]]
    contacts_of: dict[str, set[int]] = {lead["phone"]: set() for lead in by_event.values()}
    for lead in by_event.values():
        contacts_of[lead["phone"]].add(lead["contact_id"])
    assert len(contacts_of) == 40 and all(len(ids) == 1 for ids in contacts_of.values())
    assert sorted(lead["status"] for lead in by_event.values()).count("unsorted") == 40


def test_deferred_leads_are_written_when_read_and_a_taken_key_is_refused(sqlite_runtime: Any) -> None:
    runtime = sqlite_runtime
    values = {"channel": "manual", "kind": "manual", "direction": "in", "status": "unsorted",
              "quality": "unverified", "advertising": False, "received_at": T0}
    with runtime.engine.begin() as conn:
        repo = CrmRepo(conn, T0, defer_leads=True)
        repo.prefetch(["k1", "k2"], [])
        first, second = repo.insert_lead({**values, "key": "k1"}), repo.insert_lead({**values, "key": "k2"})
        assert conn.execute(select(func.count()).select_from(leads)).scalar() == 0  # not written yet
        found = repo.lead_by_key("k2")
        assert found is not None and found["id"] == second and second == first + 1
        assert conn.execute(select(func.count()).select_from(leads)).scalar() == 2
    with pytest.raises(Exception, match="created by another worker"), runtime.engine.begin() as conn:
        repo = CrmRepo(conn, T0, defer_leads=True)
        repo.insert_lead({**values, "key": "k3"})
        CrmRepo(conn, T0).insert_lead({**values, "key": "k3"})  # another writer's lead with that key
        repo.flush()


def test_deferred_contacts_are_written_with_their_leads_and_a_taken_identity_is_refused(runtime: Any) -> None:
    """Both stores: a deferred contact has its id at once, takes what later leads add, and is written at the flush;
    an identity another writer took meanwhile refuses the flush (the batch is then redone without deferring)."""
    with runtime.engine.begin() as conn:
        repo = CrmRepo(conn, T0, defer_leads=True)
        repo.prefetch([], ["+79161234567", "a@example.com"])
        cid, created = repo.create_contact("Анна", [("phone", "+79161234567")])
        assert created and repo.find_contacts([("phone", "+79161234567")]) == [cid]
        repo.add_identities(cid, [("phone", "+79161234567"), ("email", "a@example.com")])
        repo.fill_contact(cid, name=None, position="Закупщик")
        assert conn.execute(select(func.count()).select_from(contacts)).scalar() == 0  # not written yet
        repo.flush()
        assert conn.execute(select(contacts.c.id, contacts.c.name, contacts.c.position)).all() == [
            (cid, "Анна", "Закупщик")]
        assert sorted(conn.execute(select(identities.c.contact_id, identities.c.kind, identities.c.value)).all()) == [
            (cid, "email", "a@example.com"), (cid, "phone", "+79161234567")]
    with pytest.raises(Exception, match="taken by another worker"), runtime.engine.begin() as conn:
        repo = CrmRepo(conn, T0, defer_leads=True)
        repo.prefetch([], ["+79160000002"])
        repo.create_contact("Б", [("phone", "+79160000002")])
        # another writer's contact with that phone (an id of its own: SQLite's ids after the largest are ours)
        conn.execute(contacts.insert().values(id=1000, name="В", created_at=T0, updated_at=T0))
        conn.execute(identities.insert().values(contact_id=1000, kind="phone", value="+79160000002", created_at=T0))
        repo.flush()


def test_overlapping_batches_on_one_person_wait_for_each_other_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    """PostgreSQL: while worker A's batch (a new person, deferred) is open, worker B's batch about the same person
    (the phone spelled otherwise) waits for A before it reads anything; once A commits, B finds A's contact: one
    contact, B's lead a repeat on it, and B's batch is not refused and redone event by event. (Without the wait,
    B made its contact beside A's uncommitted one and was refused at its flush; two such batches touching two
    people in opposite orders deadlocked, which PostgreSQL takes a second to notice.)"""
    from gateway.dispatch.processor import BatchReport

    rt = build_runtime(make_settings(tmp_path, database_url=pg_url))
    bootstrap(rt.engine, rt.settings)
    try:
        with rt.engine.begin() as conn:
            event_log.append(conn, [manual("a1", name="Анна", phone="+79161234567", text="Цена?")])
        first_report, second_report = BatchReport(), BatchReport()
        with rt.engine.begin() as conn:
            claim_a = event_log.claim_batch(conn, limit=10, lease_s=60, now=datetime.now(UTC), owner="A")
        with rt.engine.begin() as conn:
            event_log.append(conn, [manual("b1", name="Анна", phone="8 916 123-45-67", text="Ещё вопрос")])
        with rt.engine.begin() as conn:
            claim_b = event_log.claim_batch(conn, limit=10, lease_s=60, now=datetime.now(UTC), owner="B")
        assert [e.key for e in claim_a.events] == ["a1"] and [e.key for e in claim_b.events] == ["b1"]
        proc = rt.processor
        parsed_a = [(ev, proc._parse(ev, _ctx(rt))) for ev in claim_a.events]
        parsed_b = [(ev, proc._parse(ev, _ctx(rt))) for ev in claim_b.events]
        a, b = overlapping(rt.engine, lambda conn: proc._apply(conn, parsed_a, "A", first_report, defer=True),
                           lambda conn: proc._apply(conn, parsed_b, "B", second_report, defer=True))
        assert (a, b) == (1, 1)
        people = rows(rt, contacts)
        assert len(people) == 1
        assert [(lead["contact_id"], lead["quality"]) for lead in rows(rt, leads)] == [
            (people[0]["id"], "unverified"), (people[0]["id"], "repeat")]
        assert sorted(e["status"] for e in rows(rt, events)) == ["done", "done"]
    finally:
        rt.close()


def test_lock_keys_are_one_order_for_any_batch() -> None:
    """Every worker takes a batch's advisory locks in one order (sorted numbers), each key once."""
    from gateway.store.crm import lock_keys

    one = lock_keys(["mango:a:1", "mango:a:2", "mango:a:1"], ["+79161234567"])
    other = lock_keys(["mango:a:2", "mango:a:1"], ["+79161234567", "+79161234567"])
    assert one == other == sorted(one) and len(one) == 3
    assert lock_keys(["+79161234567"], []) != lock_keys([], ["+79161234567"])  # a lead key is not an identity


def _ctx(rt: Any) -> Any:
    from gateway.dispatch.processor import _Context

    return _Context(rt.engine, rt.files, rt.http, datetime.now(UTC))


def test_a_new_source_is_committed_at_once_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    """PostgreSQL: a source met for the first time is created in a transaction of its own, so a batch never holds
    a new source's row lock while it works on (two workers making two new sources in opposite orders deadlocked,
    and PostgreSQL took a second to notice)."""
    from gateway.store.schema import sources

    rt = build_runtime(make_settings(tmp_path, database_url=pg_url))
    bootstrap(rt.engine, rt.settings)
    try:
        with rt.engine.begin() as conn:
            repo = CrmRepo(conn, T0)
            first, _ = repo.source("Линия 1", "mango")
            with rt.engine.connect() as other:  # another worker, while this batch is still open
                seen = other.execute(select(sources.c.id).where(sources.c.name == "Линия 1")).scalar()
            assert seen == first
            assert repo.source("Линия 1", "mango") == (first, True)
    finally:
        rt.close()


def test_only_the_worker_holding_an_event_marks_it_done(runtime: Any) -> None:
    """A worker whose lease lapsed (another claimed the event since) cannot mark it done; the holder can, and
    its result and time are stored as they are read back (the JSON of the result, `null` for none)."""
    with runtime.engine.begin() as conn:
        stored = event_log.append(conn, [manual("k1", name="Анна"), manual("k2", name="Борис")])
    ids = [event_id for event_id, _ in stored]
    with runtime.engine.begin() as conn:
        assert len(event_log.claim_batch(conn, limit=10, lease_s=1, now=T0, owner="A").events) == 2
    later = T0 + timedelta(seconds=5)  # A's lease has lapsed: B takes both
    with runtime.engine.begin() as conn:
        assert len(event_log.claim_batch(conn, limit=10, lease_s=60, now=later, owner="B").events) == 2
    with runtime.engine.begin() as conn:
        event_log.complete(conn, ids, now=later, owner="A", results={ids[0]: {"leads": [1]}})
    assert {e["status"] for e in rows(runtime, events)} == {"processing"}
    with runtime.engine.begin() as conn:
        event_log.complete(conn, ids, now=later, owner="B", results={ids[0]: {"leads": [7]}})
    done = {e["id"]: e for e in rows(runtime, events)}
    assert [(done[i]["status"], done[i]["result"], done[i]["processed_at"], done[i]["lease_until"]) for i in ids] \
        == [("done", {"leads": [7]}, later, None), ("done", None, later, None)]
    with runtime.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(events).where(events.c.result.is_(None))).scalar() \
            == 0  # no SQL NULL: `null` JSON, as SQLAlchemy's JSON type writes None


def test_a_claim_gives_its_events_in_the_order_they_were_received(runtime: Any) -> None:
    """A batch is processed in the order its events came in (a call's notifications fold in that order), not the
    order of their ids or of the rows the claim happened to take; on PostgreSQL the claim is one statement whose
    rows come back in no particular order."""
    order = [4, 1, 5, 0, 3, 2]  # seconds after T0, appended in this order
    with runtime.engine.begin() as conn:
        event_log.append(conn, [NewEvent(connector="manual", account="tester", key=f"k{s}", body=b"{}",
                                         received_at=T0 + timedelta(seconds=s)) for s in order])
    with runtime.engine.begin() as conn:
        claim = event_log.claim_batch(conn, limit=10, lease_s=60, now=T0 + timedelta(seconds=10), owner="A")
    assert [e.key for e in claim.events] == [f"k{s}" for s in sorted(order)]
    assert {e["status"]: e["claimed_by"] for e in rows(runtime, events)} == {"processing": "A"}


def test_a_claim_takes_the_limit_of_the_events_due_first_and_leaves_the_rest(runtime: Any) -> None:
    """A claim takes at most `limit` events: those due first, among the pending and failed ones that are due and
    the ones whose lease lapsed; it leaves the others as they were (a claim whose pick ran once per row, or without
    its limit, took every due event)."""
    with runtime.engine.begin() as conn:
        event_log.append(conn, [NewEvent(connector="manual", account="tester", key=f"k{s}", body=b"{}",
                                         received_at=T0 + timedelta(seconds=s)) for s in (3, 1, 2, 4)])
        event_log.append(conn, [NewEvent(connector="manual", account="tester", key="later", body=b"{}",
                                         received_at=T0, not_before=T0 + timedelta(hours=1))])
    with runtime.engine.begin() as conn:
        first = event_log.claim_batch(conn, limit=2, lease_s=30, now=T0 + timedelta(seconds=10), owner="A")
    assert [e.key for e in first.events] == ["k1", "k2"]
    assert {e["key"]: (e["status"], e["claimed_by"]) for e in rows(runtime, events)} == {
        "k1": ("processing", "A"), "k2": ("processing", "A"), "k3": ("pending", None), "k4": ("pending", None),
        "later": ("pending", None)}
    with runtime.engine.begin() as conn:  # A's lease has lapsed: its events are due again, before k3 and k4
        second = event_log.claim_batch(conn, limit=3, lease_s=30, now=T0 + timedelta(seconds=50), owner="B")
    assert [e.key for e in second.events] == ["k1", "k2", "k3"]
    assert {e["key"]: e["claimed_by"] for e in rows(runtime, events) if e["status"] == "processing"} == {
        "k1": "B", "k2": "B", "k3": "B"}
