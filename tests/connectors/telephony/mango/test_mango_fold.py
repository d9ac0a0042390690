"""Folding a call's events into one Interaction: order, duplicates, partial knowledge."""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from gateway.connectors.base import NewEvent
from gateway.connectors.telephony.mango import MangoConnector
from gateway.core.models import Direction
from tests.connectors.telephony.mango.mango_support import (
    FIXTURES,
    SCENARIOS,
    WorkerContext,
    dump,
    edge_events,
    load,
    run,
    settings,
)
from tests.golden import regenerating

EXPECTED = FIXTURES / "expected"
CONNECTOR = MangoConnector(settings(fetch_recordings=False))
EVENTS: dict[str, list[NewEvent]] = {s: asyncio.run(edge_events(CONNECTOR, load(s))) for s in SCENARIOS}


def fold(events: list[NewEvent], connector: MangoConnector = CONNECTOR) -> dict | None:
    return dump(run(connector, WorkerContext(), events))


def pick(scenario: str, *ids: str) -> list[NewEvent]:
    index = {d.id: i for i, d in enumerate(load(scenario))}
    return [EVENTS[scenario][index[i]] for i in ids]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_fold_matches_the_reviewed_expectation(scenario: str) -> None:
    """Expected outputs live in tests/fixtures/mango/expected; MANGO_REGENERATE=1 rewrites them."""
    got = fold(EVENTS[scenario])
    path = EXPECTED / f"{scenario}.json"
    if regenerating("MANGO_REGENERATE"):
        EXPECTED.mkdir(exist_ok=True)
        path.write_text(json.dumps(got, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    assert got == json.loads(path.read_text(encoding="utf-8"))


@st.composite
def deliveries(draw: st.DrawFn, scenario: str) -> list[NewEvent]:
    events = EVENTS[scenario]
    repeats = draw(st.lists(st.sampled_from(events), max_size=len(events)))
    return draw(st.permutations(events + repeats))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_any_order_and_any_duplication_folds_the_same(scenario: str) -> None:
    reference = fold(EVENTS[scenario])

    @hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(deliveries(scenario))
    def check(order: list[NewEvent]) -> None:
        assert fold(order) == reference

    check()


def test_expected_outcomes_of_the_section_7_vectors() -> None:
    a = fold(EVENTS["incoming_answered_via_group"])
    assert a["identities"] == [{"kind": "phone", "value": "79161234567"}]
    assert (a["direction"], a["call"]["answered"], a["call"]["duration_s"]) == ("in", True, 125)
    assert (a["call"]["employee_extension"], a["manager"]) == ("101", "ivanov")
    assert a["call"]["recording_ids"] == ["MToxMDAwMDAwMDAxOkE6cmVjOjE="]
    assert a["source"] == "Яндекс.Директ" and a["call"]["line"] == "74951234567"
    b = fold(EVENTS["missed_in_queue_numbers_as_strings"])
    assert (b["call"]["answered"], b["call"]["result"], b["call"]["duration_s"]) == (False, "missed", 0)
    assert b["call"]["employee_extension"] is None and b["manager_extension"] is None  # 300 is a group
    c = fold(EVENTS["outgoing_answered"])
    assert (c["direction"], c["call"]["duration_s"], c["source_advertising"]) == ("out", 63, False)
    assert c["identities"] == [{"kind": "phone", "value": "79261234567"}]


def test_a3_a1_a2_ends_disconnected() -> None:
    got = fold(pick("incoming_answered_via_group", "A3", "A1", "A2"))
    [leg] = got["call"]["legs"]
    assert leg["state"] == "Disconnected" and leg["disconnect_reason"] == 1110
    assert got["call"]["result"] == "answered" and not got["call"]["complete"]
    assert got["call"]["duration_s"] == 125


def test_a_ringing_call_is_visible_from_its_first_event() -> None:
    got = fold(pick("incoming_answered_via_group", "A1"))
    assert got["call"]["result"] == "in_progress" and got["call"]["answered"] is None
    assert got["direction"] == "in" and got["identities"] == [{"kind": "phone", "value": "79161234567"}]
    assert got["source"] == "Яндекс.Директ" and got["key"] == "mango:main:MTAwMDAwMDAwMTpBOjE="


def test_summary_twice_is_one_interaction() -> None:
    ctx = WorkerContext()
    a4 = pick("incoming_answered_via_group", "A4")[0]
    first = run(CONNECTOR, ctx, [a4])
    assert run(CONNECTOR, ctx, [a4]) is None  # the log ignored the duplicate: nothing processed
    assert len(ctx.events) == 1 and first is not None


def test_summary_alone_makes_the_lead() -> None:
    got = fold(pick("incoming_answered_via_group", "A4"))
    assert got["call"]["complete"] and got["call"]["answered"] and got["call"]["duration_s"] == 125
    assert got["manager"] == "ivanov" and got["identities"][0]["value"] == "79161234567"
    assert got["call"]["ring_s"] == 15 and got["call"]["pbx_result"] == "1"


def test_recording_alone_makes_a_lead_and_asks_for_the_file() -> None:
    connector = MangoConnector(settings())
    ctx = WorkerContext()
    stored = ctx.store(pick("incoming_answered_via_group", "A5")[0])
    outcome = connector.process(stored, ctx)
    [interaction] = outcome.interactions
    assert interaction.key == "mango:main:MTAwMDAwMDAwMTpBOjE="
    assert interaction.call.recording_ids == ["MToxMDAwMDAwMDAxOkE6cmVjOjE="]
    assert interaction.occurred_at.timestamp() == 1767261790
    [task] = outcome.follow_ups
    assert (task.name, task.key, task.group_key) == ("fetch_recording", "fetch:MToxMDAwMDAwMDAxOkE6cmVjOjE=",
                                                     "MTAwMDAwMDAwMTpBOjE=")


def test_missed_call_without_summary_is_missed_but_not_complete() -> None:
    got = fold(pick("missed_in_queue_numbers_as_strings", "B1", "B2"))
    assert (got["call"]["result"], got["call"]["complete"], got["call"]["ring_s"]) == ("missed", False, 27)


def test_direction_before_the_summary() -> None:
    assert fold(pick("outgoing_answered", "C1"))["direction"] == Direction.OUT
    assert fold(pick("internal_101_to_102", "G1"))["direction"] == Direction.INTERNAL
    assert fold(pick("callback_to_missed_number", "F1"))["direction"] == Direction.OUT
    assert fold(pick("missed_in_queue_numbers_as_strings", "B1"))["direction"] == Direction.IN


def test_transfer_is_followed_to_the_last_employee() -> None:
    without_summary = fold(pick("transfer_blind_101_to_102", "E6", "E5", "E4", "E3", "E2", "E1"))
    assert without_summary["call"]["employee_extension"] == "102"
    assert [leg["depth"] for leg in without_summary["call"]["legs"]] == [0, 1]
    full = fold(EVENTS["transfer_blind_101_to_102"])
    assert (full["manager_extension"], full["call"]["duration_s"], full["custom"]["transferred"]) == ("102", 165, True)


def test_ivr_digits_and_group_answer() -> None:
    got = fold(EVENTS["incoming_via_ivr_to_group"])
    assert got["custom"]["ivr_digits"] == ["2"] and got["source"] == "Сайт"
    assert got["call"]["employee_extension"] == "102" and got["call"]["ring_s"] == 15


def test_callback_client_is_the_dialled_number_never_the_employee() -> None:
    got = fold(EVENTS["callback_to_missed_number"])
    assert got["identities"] == [{"kind": "phone", "value": "79031112233"}]
    assert got["direction"] == "out" and got["source_advertising"] is False and got["manager"] == "ivanov"


def test_internal_call_has_no_client_and_no_source() -> None:
    got = fold(EVENTS["internal_101_to_102"])
    assert got["identities"] == [] and got["source"] is None and got["non_target_reason"] == "internal"


def test_numbers_typed_both_ways_parse() -> None:
    got = fold(EVENTS["busy_numbers_typed_both_ways"])
    assert (got["call"]["result"], got["call"]["disconnect_reason"], got["call"]["pbx_result"]) == ("busy", 1121, "0")


@pytest.mark.parametrize("name", ["dtmf", "sms", "recognized/offline", "result/callback", "whatever/new"])
def test_side_events_alone_give_nothing(name: str) -> None:
    body = {"dtmf": {"seq": 1, "dtmf": "5", "timestamp": 1, "call_id": "c", "entry_id": "lonely"},
            }.get(name, {"command_id": "x", "result": 1000})
    event = NewEvent(connector="mango", account="main", key=f"{name}:1", body=json.dumps(body).encode(),
                     received_at=pick("outgoing_answered", "C1")[0].received_at, name=name,
                     group_key=body.get("entry_id"))
    ctx = WorkerContext()
    outcome = CONNECTOR.process(ctx.store(event), ctx)
    assert outcome.interactions == [] and outcome.follow_ups == []


def test_dtmf_of_a_known_call_refolds_it() -> None:
    d3 = pick("incoming_via_ivr_to_group", "D3")[0]
    got = fold([*pick("incoming_via_ivr_to_group", "D1"), d3])
    assert got["custom"]["ivr_digits"] == ["2"] and got["call"]["result"] == "in_progress"


def test_invalid_event_is_skipped_not_fatal() -> None:
    broken = NewEvent(connector="mango", account="main", key="call:x", name="call", group_key="MTAwMDAwMDAwMzpDOjE=",
                      body=b'{"entry_id":"MTAwMDAwMDAwMzpDOjE=","call_id":"c","seq":"nan"}',
                      received_at=pick("outgoing_answered", "C1")[0].received_at)
    with_broken, clean = fold([broken, *EVENTS["outgoing_answered"]]), fold(EVENTS["outgoing_answered"])
    with_broken.pop("revision", None)
    clean.pop("revision", None)
    assert with_broken == clean


def test_cyrillic_lookalikes_in_callback_initiator_are_latin() -> None:
    from gateway.connectors.telephony.mango.payloads import CallEvent

    base = {"entry_id": "e", "call_id": "c", "timestamp": 1, "seq": 1, "call_state": "Appeared"}
    assert CallEvent.model_validate({**base, "callback_initiator": "СС"}).callback_initiator == "CC"
    event = CallEvent.model_validate({**base, "callback_initiator": "MissGroupСallCallback"})
    assert event.callback_initiator == "MissGroupCallCallback"


LONG = "long_transfer_chain_seq_past_nine"


def test_seq_past_nine_is_ordered_as_a_number_not_as_text() -> None:
    """Each leg sends 12-13 notifications: '10' sorts before '2' as text, the fold must order by number."""
    calls = [e for e in EVENTS[LONG] if e.name == "call"]
    assert max(json.loads(e.body)["seq"] for e in calls) >= 10
    keys = [e.key for e in calls]
    assert sorted(keys) != sorted(keys, key=lambda k: int(k.split(":")[3]))  # the fixture tells them apart
    got = fold(calls)  # no summary: what the legs say is all there is
    legs = got["call"]["legs"]
    assert [(leg["to_extension"], leg["depth"], leg["state"], leg["disconnect_reason"]) for leg in legs] == [
        ("101", 0, "Disconnected", 1100), ("102", 1, "Disconnected", 1100), ("103", 2, "Disconnected", 1110)]
    assert (got["call"]["result"], got["call"]["employee_extension"]) == ("answered", "103")


@pytest.mark.parametrize("upto", [11, 12])
def test_a_leg_cut_after_seq_ten_shows_its_latest_state(upto: int) -> None:
    """The first leg up to seq 11 is on hold with 101; with seq 12 it has ended (transferred)."""
    first_leg = json.loads(EVENTS[LONG][0].body)["call_id"]
    calls = [e for e in EVENTS[LONG] if e.name == "call" and json.loads(e.body)["call_id"] == first_leg
             and int(json.loads(e.body)["seq"]) <= upto]
    [leg] = fold(calls)["call"]["legs"]
    assert (leg["state"], leg["location"], leg["to_extension"]) == (
        ("OnHold", "abonent", "101") if upto == 11 else ("Disconnected", "abonent", "101"))


def test_fold_legs_keeps_each_legs_notifications_in_numeric_seq_order() -> None:
    from gateway.connectors.telephony.mango.legs import fold_legs
    from gateway.connectors.telephony.mango.payloads import CallEvent

    calls = [CallEvent.model_validate_json(e.body) for e in EVENTS[LONG] if e.name == "call"]

    @hsettings(max_examples=60, deadline=None)
    @given(st.permutations(calls))
    def check(order: list[CallEvent]) -> None:
        legs = fold_legs(order)
        assert [len(leg.events) for leg in legs] == [12, 11, 13]
        for leg in legs:
            assert [e.seq for e in leg.events] == list(range(1, len(leg.events) + 1))

    check()



def test_each_stored_event_is_parsed_once_however_often_its_call_is_refolded(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every notification refolds the whole call (the goldens above check what the fold gives); its stored
    events are parsed once each, not once per refold."""
    from gateway.connectors.telephony.mango import group

    parsed: list[str] = []
    real = group._parse

    def counting(model: type, event: NewEvent) -> object:
        parsed.append(event.id)  # type: ignore[attr-defined]
        return real(model, event)  # type: ignore[arg-type]

    monkeypatch.setattr(group, "_parse", counting)
    connector = MangoConnector(settings(fetch_recordings=False))
    modelled = {"call", "summary", "stats", "recording", "record/added", "record/tagged", "dtmf"}
    events = max(EVENTS.values(), key=lambda evs: len({ev.key for ev in evs if ev.name in modelled}))
    assert run(connector, WorkerContext(), events) is not None
    stored = {ev.key for ev in events if ev.name in modelled}
    assert len(stored) > 3  # a call refolded several times
    assert sorted(parsed) == sorted(set(parsed)) and len(parsed) == len(stored)
