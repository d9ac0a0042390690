"""The webhook edge: what is stored, what is refused (InboundRequest built directly)."""

from __future__ import annotations

import hashlib
import json

import pytest

from gateway.connectors.telephony.mango import MangoConnector
from gateway.connectors.telephony.mango.signature import sign
from gateway.core.errors import PayloadError, SignatureError
from tests.connectors.telephony.mango.mango_support import (
    ACCOUNT,
    SCENARIOS,
    TEST_KEY,
    TEST_SALT,
    edge_events,
    form_body,
    load,
    request,
)

A1_WIRE = (  # protocols.md §7: the wire form of vector A1, byte for byte
    b"vpbx_api_key=testkey0000000000000000000000001&sign=c7d0ee5ede64c118723f62e19c42dca3f8902471bb820d807a9185ce424f"
    b"e9b4&json=%7B%22entry_id%22%3A%22MTAwMDAwMDAwMTpBOjE%3D%22%2C%22call_id%22%3A%22MTAwMDAwMDAwMTpBOmNhbGw6MQ%3D%3D"
    b"%22%2C%22timestamp%22%3A1767261600%2C%22seq%22%3A1%2C%22call_state%22%3A%22Appeared%22%2C%22location%22%3A%22ab"
    b"onent%22%2C%22from%22%3A%7B%22number%22%3A%2279161234567%22%7D%2C%22to%22%3A%7B%22extension%22%3A%22101%22%2C%22"
    b"number%22%3A%22sip%3Amanager101%40vpbx400000001.mangosip.ru%22%2C%22line_number%22%3A%2274951234567%22%2C%22acd_"
    b"group%22%3A%22300%22%7D%7D"
)


def handler(connector: MangoConnector, name: str = "mango.events"):
    return {r.name: r.handler for r in connector.routes()}[name]


def test_routes(connector: MangoConnector) -> None:
    assert connector.channel == "mango"
    assert {(r.method, r.path) for r in connector.routes()} == {
        ("POST", "/hooks/mango/{account}/events/{name:.+}"),
        ("POST", "/hooks/mango/{account}/result/{name:.+}"),
        ("POST", "/hooks/mango/{account}/vpbx/result/{name:.+}"),
    }


async def test_wire_form_of_a1_is_stored(connector: MangoConnector) -> None:
    outcome = await handler(connector)(request(A1_WIRE, name="call"))
    [event] = outcome.events
    assert outcome.build_reply(["x"]).status == 200
    assert event.connector == "mango" and event.account == ACCOUNT and event.name == "call"
    assert event.group_key == "MTAwMDAwMDAwMTpBOjE="
    assert event.key == "call:MTAwMDAwMDAwMTpBOjE=:MTAwMDAwMDAwMTpBOmNhbGw6MQ==:1:"
    assert event.body == load("incoming_answered_via_group")[0].json.encode()


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_every_fixture_is_accepted_with_distinct_keys(connector: MangoConnector, scenario: str) -> None:
    deliveries = load(scenario)
    events = await edge_events(connector, deliveries)
    assert [e.name for e in events] == [d.event for d in deliveries]
    assert len({e.key for e in events}) == len(events)
    for event, delivery in zip(events, deliveries, strict=True):
        assert event.body.decode() == delivery.json
        data = json.loads(delivery.json)
        entry = data.get("entry_id")
        if delivery.event.startswith("result/") and entry is None:  # a command's result: grouped by its command
            entry = f"command:{data['command_id']}"
        assert event.group_key == entry


async def test_numbers_as_strings_give_the_same_key(connector: MangoConnector) -> None:
    b2 = load("missed_in_queue_numbers_as_strings")[1].json
    as_ints = json.dumps({**json.loads(b2), "seq": 2, "timestamp": 1767262227}, separators=(",", ":"))
    [one] = (await handler(connector)(request(form_body(b2)))).events
    [two] = (await handler(connector)(request(form_body(as_ints)))).events
    assert one.key == two.key


@pytest.mark.parametrize("name", ["record/added", "recognized/offline", "ab/contacts", "user/status_changed", "ping"])
async def test_any_event_name_is_stored(connector: MangoConnector, name: str) -> None:
    body = json.dumps({"product_id": 400000001, "request_id": 7, "result": 1000})
    [event] = (await handler(connector)(request(form_body(body), name=name))).events
    assert event.name == name and event.group_key is None
    assert event.key.endswith(hashlib.sha256(body.encode()).hexdigest())


async def test_both_result_paths_store_the_same_event(connector: MangoConnector) -> None:
    body = form_body('{"command_id":"cb-0001","result":1000}')
    [a] = (await handler(connector, "mango.result")(request(body, name="callback", route="result"))).events
    [b] = (await handler(connector, "mango.vpbx_result")(request(body, name="callback", route="vpbx/result"))).events
    assert a.name == b.name == "result/callback" and a.key == b.key


async def test_uppercase_signature_and_charset_are_accepted(connector: MangoConnector) -> None:
    text = load("outgoing_answered")[0].json
    body = form_body(text, signature=sign(TEST_KEY, text, TEST_SALT).upper())
    outcome = await handler(connector)(request(body, content_type="application/x-www-form-urlencoded; charset=UTF-8"))
    assert len(outcome.events) == 1


async def test_unknown_account_is_refused(connector: MangoConnector) -> None:
    with pytest.raises(SignatureError) as err:
        await handler(connector)(request(A1_WIRE, account="other"))
    assert err.value.status == 403


async def test_wrong_api_key_is_refused(connector: MangoConnector) -> None:
    text = load("outgoing_answered")[0].json
    other = "testkey0000000000000000000000002"
    with pytest.raises(SignatureError):  # correctly signed, but with another product's key
        await handler(connector)(request(form_body(text, key=other)))


async def test_one_byte_tampered_json_is_refused(connector: MangoConnector) -> None:
    text = load("incoming_answered_via_group")[3].json
    signature = sign(TEST_KEY, text, TEST_SALT)
    tampered = text.replace('"talk_time":1767261609', '"talk_time":1767261608')
    with pytest.raises(SignatureError):
        await handler(connector)(request(form_body(tampered, signature=signature)))


async def test_tampered_wire_body_is_refused(connector: MangoConnector) -> None:
    with pytest.raises(SignatureError):
        await handler(connector)(request(A1_WIRE.replace(b"79161234567", b"79161234568")))


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b'{"json": "{}"}', "application/json", "expected application/x-www-form-urlencoded"),
        (b"vpbx_api_key=k&json=%7B%7D", "application/x-www-form-urlencoded", "missing form field(s): sign"),
        (b"", "application/x-www-form-urlencoded", "missing form field(s)"),
        (b"\xff\xfe=1", "application/x-www-form-urlencoded", "not a URL-encoded form"),
        (b"sign=a&sign=b&json=1&vpbx_api_key=k", "application/x-www-form-urlencoded", "appears twice"),
    ],
)
async def test_malformed_forms_are_400(connector: MangoConnector, body: bytes, content_type: str, reason: str) -> None:
    with pytest.raises(PayloadError) as err:
        await handler(connector)(request(body, content_type=content_type))
    assert err.value.status == 400 and reason in err.value.message


@pytest.mark.parametrize(
    ("text", "reason"),
    [("not json", "not valid JSON"), ("[1,2]", "not a JSON object"), ('{"entry_id":{"a":1}}', "entry_id must be")],
)
async def test_signed_but_malformed_json_is_400(connector: MangoConnector, text: str, reason: str) -> None:
    with pytest.raises(PayloadError) as err:
        await handler(connector)(request(form_body(text)))
    assert reason in err.value.message
