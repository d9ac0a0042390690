"""Reconciliation through Mango's extended statistics (respx)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from gateway.connectors.base import NewEvent
from gateway.connectors.telephony.mango import MangoConnector
from gateway.connectors.telephony.mango.reconcile import main, parse_since
from gateway.connectors.telephony.mango.signature import sign
from tests.connectors.telephony.mango.mango_support import (
    FIXTURES,
    TEST_KEY,
    TEST_SALT,
    WorkerContext,
    edge_events,
    load,
    run,
    settings,
)

REQUEST_URL = "https://app.mango-office.ru/vpbx/stats/calls/request"
RESULT_URL = "https://app.mango-office.ru/vpbx/stats/calls/result/"
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
STATS = json.loads((FIXTURES / "stats_result_two_calls.json").read_text(encoding="utf-8"))


class Store:
    """`store_events` over the in-memory event log of the tests."""

    def __init__(self, ctx: WorkerContext) -> None:
        self.ctx = ctx
        self.new: list[NewEvent] = []

    def store_events(self, events: list[NewEvent]) -> list[str]:
        ids = []
        for ev in events:
            stored = self.ctx.store(ev)
            if stored is not None:
                self.new.append(ev)
                ids.append(stored.id)
            else:
                ids.append(next(e.id for e in self.ctx.events if e.key == ev.key))
        return ids


def form(call: respx.models.Call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(call.request.content.decode()).items()}


def mock_mango() -> tuple[respx.Route, respx.Route]:
    request = respx.post(REQUEST_URL).mock(return_value=httpx.Response(200, json={"result": 1000, "key": "k-1"}))
    result = respx.post(RESULT_URL).mock(side_effect=[
        httpx.Response(204), httpx.Response(200, json={"result": 1000, "status": "work"}),
        httpx.Response(200, json=STATS),
    ] * 2)
    return request, result


@respx.mock
def test_reconcile_recovers_missing_and_completes_unfinished_calls(http) -> None:
    conf = settings()
    connector = MangoConnector(conf)
    ctx = WorkerContext(http=http, now=NOW)
    events = asyncio.run(edge_events(connector, load("incoming_answered_via_group")))
    before = run(connector, ctx, events[:3])  # A1–A3 arrived, the summary did not
    assert before.call.complete is False
    request, result = mock_mango()
    store = Store(ctx)

    assert main(["reconcile", "--account", "main", "--since", "2h"], store=store, settings=conf, http=http,
                now=NOW, sleep=lambda s: None) == 0
    sent = form(request.calls[0])
    assert json.loads(sent["json"]) == {"start_date": "01.01.2026 13:00:00", "end_date": "01.01.2026 15:00:00",
                                        "limit": "5000", "offset": "0"}
    assert sent["sign"] == sign(TEST_KEY, sent["json"], TEST_SALT)
    assert form(result.calls[0])["json"] == '{"key":"k-1"}'
    assert [e.key for e in store.new] == ["stats:MTAwMDAwMDAwOTpSOjE=", "stats:MTAwMDAwMDAwMTpBOjE="]

    [recovered] = connector.process(next(e for e in ctx.events if e.key == store.new[0].key), ctx).interactions
    assert recovered.recovered and recovered.call.complete and recovered.call.result == "missed"
    assert recovered.direction == "in" and recovered.identities[0].value == "79035550000"
    assert recovered.source == "Сайт" and recovered.occurred_at == datetime.fromtimestamp(1767268800, UTC)

    outcome = connector.process(next(e for e in ctx.events if e.key == "stats:MTAwMDAwMDAwMTpBOjE="), ctx)
    [completed] = outcome.interactions
    assert completed.call.complete and completed.call.answered and completed.call.duration_s == 125
    assert completed.recovered is False and completed.call.employee_extension == "101"
    assert [t.key for t in outcome.follow_ups] == ["fetch:MToxMDAwMDAwMDAxOkE6cmVjOjE="]

    again = Store(ctx)
    assert main(["reconcile", "--account", "main", "--since", "2h"], store=again, settings=conf, http=http,
                now=NOW, sleep=lambda s: None) == 0
    assert again.new == []  # idempotent: the keys are known


@respx.mock
def test_reconcile_refuses_a_failed_report(http, capsys) -> None:
    respx.post(REQUEST_URL).mock(return_value=httpx.Response(200, json={"key": "k-2"}))
    respx.post(RESULT_URL).mock(return_value=httpx.Response(200, json={"status": "not-found"}))
    code = main(["reconcile", "--account", "main"], store=Store(WorkerContext()), settings=settings(), http=http,
                now=NOW, sleep=lambda s: None)
    assert code == 1 and "not-found" in capsys.readouterr().err


@respx.mock
def test_reconcile_bad_parameters_answer_is_not_retried(http) -> None:
    route = respx.post(REQUEST_URL).mock(return_value=httpx.Response(200, json={"result": 3104}))
    code = main(["reconcile", "--account", "main"], store=Store(WorkerContext()), settings=settings(), http=http,
                now=NOW, sleep=lambda s: None)
    assert code == 1 and route.call_count == 1


def test_reconcile_unknown_account_and_bad_period(capsys) -> None:
    assert main(["reconcile", "--account", "nope"], store=Store(WorkerContext()), settings=settings()) == 2
    assert main(["reconcile", "--account", "main", "--since", "31d"], store=Store(WorkerContext()),
                settings=settings(), now=NOW) == 2
    assert "30 days" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2h", NOW - timedelta(hours=2)), ("90m", NOW - timedelta(minutes=90)), ("1d", NOW - timedelta(days=1)),
     ("2026-01-01T09:00:00+03:00", datetime(2026, 1, 1, 6, 0, tzinfo=UTC)),
     ("2026-01-01T09:00:00", datetime(2026, 1, 1, 9, 0, tzinfo=UTC))],
)
def test_parse_since(value: str, expected: datetime) -> None:
    assert parse_since(value, NOW) == expected


@respx.mock
def test_reconcile_into_the_real_event_log(http, tmp_path) -> None:
    from sqlalchemy import func, select

    from gateway.store.db import make_engine
    from gateway.store.schema import events

    conf = settings().model_copy(update={"database_url": f"sqlite:///{tmp_path}/gateway.db"})
    mock_mango()
    argv = ["reconcile", "--account", "main", "--since", "2h"]
    assert main(argv, settings=conf, http=http, now=NOW, sleep=lambda s: None) == 0
    assert main(argv, settings=conf, http=http, now=NOW, sleep=lambda s: None) == 0
    engine = make_engine(conf.database_url)
    with engine.connect() as conn:
        rows = conn.execute(select(events.c.key, events.c.name, events.c.group_key, events.c.status)).all()
        assert conn.execute(select(func.count()).select_from(events)).scalar_one() == 2
    engine.dispose()
    assert sorted(rows) == [("stats:MTAwMDAwMDAwMTpBOjE=", "stats", "MTAwMDAwMDAwMTpBOjE=", "pending"),
                            ("stats:MTAwMDAwMDAwOTpSOjE=", "stats", "MTAwMDAwMDAwOTpSOjE=", "pending")]
