"""The triage store on SQLite and PostgreSQL: decisions, concurrency at the row, merging, match hints, health."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, insert, select

from gateway.config import Settings
from gateway.core.errors import Conflict, PayloadError
from gateway.core.models import Channel, Direction, IdentityKind, IdentityRef, Interaction, Kind, MessageRef
from gateway.core.pipeline import PipelineConfig, process_interaction
from gateway.store.bootstrap import bootstrap
from gateway.store.crm import CrmRepo
from gateway.store.db import make_engine
from gateway.store.matching import matches_for_lead, merge_contacts
from gateway.store.schema import contacts, events, identities, leads, mailbox_state, outbox
from gateway.store.triage import AcceptRequest, Actor, DeclineRequest, LinkRequest, accept, decline, link
from gateway.store.users import create_user
from gateway.web.health import health_report, silence
from tests.conftest import make_settings
from tests.store.overlap import overlapping

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


class Store:
    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self.cfg = PipelineConfig(region="RU", short_call_seconds=10, default_pipeline=settings.pipelines[0].name)
        self.n = 0
        with engine.begin() as conn:
            self.anna = Actor(create_user(conn, "anna", "operator")[0], "anna", "operator")
            self.boris = Actor(create_user(conn, "boris", "operator")[0], "boris", "operator")
            self.vera = Actor(create_user(conn, "vera", "manager")[0], "vera", "manager")

    def lead(self, *, name: str | None = None, phone: str | None = None, email: str | None = None,
             text: str | None = None, kind: Kind = Kind.MANUAL, at: datetime = NOW,
             source: str | None = None, messages: list[MessageRef] | None = None, **extra: Any) -> int:
        self.n += 1
        idents = [IdentityRef(kind=IdentityKind.PHONE, value=phone)] if phone else []
        idents += [IdentityRef(kind=IdentityKind.EMAIL, value=email)] if email else []
        channel = {Kind.MAIL: Channel.IMAP, Kind.CALL: Channel.MANGO}.get(kind, Channel.MANUAL)
        ix = Interaction(key=f"t:{self.n}", channel=channel, kind=kind, direction=Direction.IN, occurred_at=at,
                         name=name, identities=idents, text=text, source=source, messages=messages or [], **extra)
        with self.engine.begin() as conn:
            result = process_interaction(CrmRepo(conn, at), ix, event_id=None, cfg=self.cfg)
        assert result.lead_id is not None
        return result.lead_id

    def contact_of(self, lead_id: int) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(leads.c.contact_id).where(leads.c.id == lead_id)).scalar_one())

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with self.engine.begin() as conn:
            return fn(conn, *args, **kwargs)


def at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls in threads released together; each one's result or Conflict.

    On SQLite `BEGIN IMMEDIATE` runs them one after the other, so there this proves the outcome of two
    decisions in a row; on PostgreSQL they may or may not overlap. The overlap itself is forced by
    `test_two_operators_with_overlapping_transactions_on_postgresql` below.
    """
    barrier = threading.Barrier(len(calls))
    outcomes: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            outcomes[i] = calls[i]()
        except Conflict as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


@pytest.fixture
def store(database_url: str, tmp_path: Path) -> Iterator[Store]:
    settings = make_settings(tmp_path, database_url=database_url)
    engine = make_engine(database_url)
    bootstrap(engine, settings)
    try:
        yield Store(engine, settings)
    finally:
        engine.dispose()


def test_decisions_are_idempotent_and_exclusive(store: Store) -> None:
    a, b = store.lead(name="А", phone="+79160001001"), store.lead(name="Б", phone="+79160001002")
    first = store.run(accept, a, store.anna, AcceptRequest(), now=NOW)
    again = store.run(accept, a, store.anna, AcceptRequest(), now=NOW + timedelta(minutes=1))
    assert again["repeated"] and again["deal_id"] == first["deal_id"] and again["taken_at"] == first["taken_at"]
    with pytest.raises(Conflict) as taken:
        store.run(accept, a, store.boris, AcceptRequest(), now=NOW)
    assert taken.value.details == {"taken_by": "anna", "at": first["taken_at"]}
    store.run(decline, b, store.boris, DeclineRequest(reason="Спам"), now=NOW)
    with pytest.raises(Conflict):
        store.run(link, b, store.anna, LinkRequest(deal_id=first["deal_id"]), now=NOW)
    with pytest.raises(PayloadError):
        store.run(accept, store.lead(phone="+79160001003"), store.anna, AcceptRequest(stage="Нет"), now=NOW)


def test_decisions_queue_outbound_events_in_the_same_transaction(database_url: str, tmp_path: Path) -> None:
    hooks = [{"url": "https://crm.example/hook", "secret": "s3cret-value", "events": ["*"]}]
    settings = make_settings(tmp_path, database_url=database_url, webhooks=hooks)
    engine = make_engine(database_url)
    bootstrap(engine, settings)
    try:
        store = Store(engine, settings)
        a, b = store.lead(name="А", phone="+79160009001"), store.lead(name="Б", phone="+79160009002")
        with engine.begin() as conn:
            conn.execute(outbox.delete())
        first = store.run(accept, a, store.anna, AcceptRequest(), now=NOW, settings=settings)
        store.run(accept, a, store.anna, AcceptRequest(), now=NOW, settings=settings)  # a repeat queues nothing
        store.run(decline, b, store.anna, DeclineRequest(reason="Спам"), now=NOW, settings=settings)
        with pytest.raises(Conflict):
            store.run(decline, b, store.boris, DeclineRequest(), now=NOW, settings=settings)
        with engine.connect() as conn:
            rows = conn.execute(select(outbox.c.event_type, outbox.c.payload).order_by(outbox.c.created_at,
                                                                                      outbox.c.id)).all()
    finally:
        engine.dispose()
    assert sorted(r[0] for r in rows) == ["deal.created", "lead.accepted", "lead.declined"]
    by_type = {r[0]: r[1]["data"] for r in rows}
    assert by_type["lead.accepted"]["id"] == a and by_type["deal.created"]["id"] == first["deal_id"]
    assert by_type["lead.declined"]["status"] == "declined"


def test_accept_without_identities_creates_a_contact(store: Store) -> None:
    lead_id = store.lead(name="Только имя", text="Позвоните мне")
    result = store.run(accept, lead_id, store.anna, AcceptRequest(), now=NOW)
    assert result["contact_id"] is not None and result["lead"]["contact"]["name"] == "Только имя"


@pytest.mark.parametrize("decision", ["accept", "decline"])
def test_two_operators_at_the_same_moment(store: Store, decision: str) -> None:
    """Two connections released together: exactly one wins, the other sees who took it.

    On SQLite the two run one after the other (BEGIN IMMEDIATE); the real overlap is proven on PostgreSQL
    by `test_two_operators_with_overlapping_transactions_on_postgresql`.
    """
    fn, req = (accept, AcceptRequest()) if decision == "accept" else (decline, DeclineRequest(reason="Спам"))
    for round_ in range(4):
        lead_id = store.lead(name=f"Гонка {round_}", phone=f"+7916000200{round_}")
        outcomes = at_once([lambda a=actor, i=lead_id: store.run(fn, i, a, req, now=datetime.now(UTC))
                            for actor in (store.anna, store.boris)])
        wins = [v for v in outcomes if isinstance(v, dict)]
        losses = [v for v in outcomes if isinstance(v, Conflict)]
        assert len(wins) == 1 and len(losses) == 1
        assert losses[0].details["taken_by"] == wins[0]["taken_by"]
    with store.engine.connect() as conn:
        assert conn.execute(select(leads.c.status).where(leads.c.name.like("Гонка%"))).scalars().all() == \
            ["accepted" if decision == "accept" else "declined"] * 4


@pytest.mark.parametrize("decision", ["accept", "decline"])
def test_two_operators_with_overlapping_transactions_on_postgresql(pg_url: str, tmp_path: Path,
                                                                   decision: str) -> None:
    """PostgreSQL only: Boris decides while Anna's decision is made but not committed (he waits on her row).

    A read-then-update claim would let both win here; the conditional UPDATE gives Boris a Conflict.
    """
    engine = make_engine(pg_url)
    bootstrap(engine, make_settings(tmp_path, database_url=pg_url))
    try:
        store = Store(engine, make_settings(tmp_path, database_url=pg_url))
        fn, req = (accept, AcceptRequest()) if decision == "accept" else (decline, DeclineRequest(reason="Спам"))
        lead_id = store.lead(name="Гонка", phone="+79160002101")
        anna, boris = overlapping(engine, lambda conn: fn(conn, lead_id, store.anna, req, now=NOW),
                                  lambda conn: fn(conn, lead_id, store.boris, req, now=NOW))
        assert isinstance(anna, dict) and anna["taken_by"] == "anna", anna
        assert isinstance(boris, Conflict) and boris.details["taken_by"] == "anna", boris
        with engine.connect() as conn:
            row = conn.execute(select(leads.c.status, leads.c.taken_by, leads.c.deal_id)
                               .where(leads.c.id == lead_id)).one()
        assert (row.status, row.taken_by) == ("accepted" if decision == "accept" else "declined", store.anna.id)
        assert (row.deal_id is not None) == (decision == "accept")
    finally:
        engine.dispose()


def test_merge_both_ways_at_once_leaves_no_cycle(store: Store) -> None:
    a, b = (store.contact_of(store.lead(name="Один", phone="+79160003001")),
            store.contact_of(store.lead(name="Два", email="two@firm.example")))
    outcomes = at_once([lambda: store.run(merge_contacts, a, b, store.vera, now=NOW),
                        lambda: store.run(merge_contacts, b, a, store.vera, now=NOW)])
    assert sum(isinstance(o, Conflict) for o in outcomes) == 1
    with store.engine.connect() as conn:
        merged = dict(conn.execute(select(contacts.c.id, contacts.c.merged_into)).all())
        owners = set(conn.execute(select(identities.c.contact_id)).scalars())
    assert sorted([merged[a], merged[b]], key=lambda x: x is None) in ([b, None], [a, None])
    assert len(owners) == 1 and merged[owners.pop()] is None


def test_merges_both_ways_with_overlapping_transactions_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    """PostgreSQL only: B into A starts while A into B is done but not committed (it waits on the rows)."""
    engine = make_engine(pg_url)
    bootstrap(engine, make_settings(tmp_path, database_url=pg_url))
    try:
        store = Store(engine, make_settings(tmp_path, database_url=pg_url))
        a, b = (store.contact_of(store.lead(name="Один", phone="+79160003101")),
                store.contact_of(store.lead(name="Два", email="two@firm.example")))
        first, second = overlapping(engine, lambda conn: merge_contacts(conn, a, b, store.vera, now=NOW),
                                    lambda conn: merge_contacts(conn, b, a, store.vera, now=NOW))
        assert isinstance(first, dict) and first["merged"] == a, first
        assert isinstance(second, Conflict) and f"contact {a} was merged into {b}" in str(second), second
        with engine.connect() as conn:
            merged = dict(conn.execute(select(contacts.c.id, contacts.c.merged_into)).all())
        assert (merged[a], merged[b]) == (b, None)
    finally:
        engine.dispose()


def test_matches_rank_and_explain(store: Store) -> None:
    known = store.lead(name="Ольга Смирнова", phone="+79160004001", email="olga@stroy-trest.ru")
    store.run(accept, known, store.anna, AcceptRequest(), now=NOW)
    mail = store.lead(name="Смирнова Ольга", email="o.smirnova@stroy-trest.ru", kind=Kind.MAIL,
                      text="Мой второй номер 8-916-000-40-01, пишите olga@stroy-trest.ru")
    [m] = store.run(matches_for_lead, mail, region="RU")
    assert m["reasons"] == ["same phone", "same e-mail", "same e-mail domain and similar name", "same name"]
    assert m["strength"] == "strong" and m["deals"][0]["pipeline"] == "Продажи"
    domain_only = store.lead(name="Бухгалтерия", email="buh@stroy-trest.ru")
    [hint] = [x for x in store.run(matches_for_lead, domain_only, region="RU") if x["deals"]]
    assert hint["reasons"] == ["same e-mail domain"] and hint["strength"] == "weak"
    free = store.lead(name="Кто-то", email="someone@mail.ru")
    store.lead(name="Другой", email="other@mail.ru")
    assert store.run(matches_for_lead, free, region="RU") == []  # a free-mail domain says nothing


def test_silence_rule() -> None:
    hourly = [NOW - timedelta(hours=h) for h in range(10, 30)]
    assert silence(hourly, NOW)["typical_gap_s"] == 3600  # type: ignore[index]
    assert silence(hourly, NOW - timedelta(hours=8)) is None  # 2 h of quiet < 3 × 1 h
    assert silence(hourly[:4], NOW) is None  # too few leads to know what is usual
    minutes = [NOW - timedelta(minutes=m) for m in range(20, 40)]
    assert silence(minutes, NOW) is None  # 20 min of quiet: under the one-hour floor


def test_health_report(store: Store) -> None:
    for h in range(20):
        store.lead(name=f"Реклама {h}", phone=f"+791600050{h:02d}", source="Яндекс.Директ",
                   at=NOW - timedelta(hours=30 - h))
    with store.engine.begin() as conn:
        for i, status in enumerate(["done", "failed", "dead"]):
            conn.execute(insert(events).values(
                id=f"ev{i}", connector="mango", account="main", key=f"k{i}", received_at=NOW, headers={},
                body=b"{}", status=status, attempts=1, next_attempt_at=NOW, last_error="Traceback\nboom"))
        conn.execute(insert(mailbox_state).values(mailbox="sales", folder="INBOX", last_uid=5, last_poll_at=NOW,
                                                  last_error="LOGIN failed"))
        report = health_report(conn, store.settings, NOW)
    [mango] = report["connectors"]
    assert (mango["failed"], mango["dead"], mango["last_error"]) == (1, 1, "boom")
    assert report["mailboxes"][0]["last_error"] == "LOGIN failed"
    assert [w["name"] for w in report["silent"] if w["what"] == "source"] == ["Яндекс.Директ"]
