"""Fetching recordings: 302 to a one-time link, not ready yet, refusals, limits (respx)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from gateway.connectors.base import NewEvent
from gateway.connectors.telephony.mango import MangoConnector
from gateway.connectors.telephony.mango.signature import sign
from gateway.connectors.telephony.mango.vpbx import LockoutGuard, RateLimiter, VpbxClient
from gateway.core.errors import PermanentUpstreamError, TransientUpstreamError
from tests.connectors.telephony.mango.mango_support import (
    TEST_KEY,
    TEST_SALT,
    WorkerContext,
    edge_events,
    load,
    run,
    settings,
)

POST_URL = "https://app.mango-office.ru/vpbx/queries/recording/post"
LINK = "https://files.mango-office.ru/3f1c0e7a-one-time"
RID = "MToxMDAwMDAwMDAxOkE6cmVjOjE="
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + bytes(413) * 40


def redirect() -> httpx.Response:
    return httpx.Response(302, headers={"Location": LINK})


def audio() -> httpx.Response:
    return httpx.Response(200, content=MP3, headers={"Content-Type": "audio/mp3"})


@pytest.fixture
def scenario_a() -> list[NewEvent]:
    return asyncio.run(edge_events(MangoConnector(settings()), load("incoming_answered_via_group")))


def fetch_task(ctx: WorkerContext, connector: MangoConnector, events: list[NewEvent]):
    """Process the call's events; return the stored fetch task they asked for."""
    follow: list[NewEvent] = []
    for ev in events:
        stored = ctx.store(ev)
        follow += connector.process(stored, ctx).follow_ups
    [task] = follow
    return ctx.store(task)


@respx.mock
def test_recording_is_fetched_through_the_one_time_link(scenario_a, files, http) -> None:
    connector = MangoConnector(settings())
    post = respx.post(POST_URL).mock(return_value=redirect())
    link = respx.get(LINK).mock(return_value=audio())
    ctx = WorkerContext(files=files, http=http)
    interaction = run(connector, ctx, scenario_a, follow=True)
    assert post.call_count == 1 and link.call_count == 1
    form = {k: v[0] for k, v in parse_qs(post.calls[0].request.content.decode()).items()}
    assert form["json"] == '{"recording_id":"MToxMDAwMDAwMDAxOkE6cmVjOjE=","action":"download"}'
    assert form["vpbx_api_key"] == TEST_KEY and form["sign"] == sign(TEST_KEY, form["json"], TEST_SALT)
    [attachment] = interaction.attachments
    assert attachment.role == "recording" and attachment.content_type == "audio/mpeg"
    assert attachment.size == len(MP3) and files.read(attachment.file_id) == MP3
    task = next(e for e in ctx.events if e.name == "fetch_recording")
    assert task.result == {"file_id": attachment.file_id, "size": len(MP3), "content_type": "audio/mpeg",
                           "recording_id": RID}
    assert interaction.call.duration_s == 125  # the refold keeps everything else


@respx.mock
def test_not_ready_then_ready(scenario_a, files, http) -> None:
    connector = MangoConnector(settings())
    respx.post(POST_URL).mock(side_effect=[httpx.Response(404), redirect()])
    respx.get(LINK).mock(return_value=audio())
    ctx = WorkerContext(files=files, http=http)
    task = fetch_task(ctx, connector, scenario_a)
    with pytest.raises(TransientUpstreamError) as err:
        connector.process(task, ctx)
    assert err.value.retry_after == 60 and err.value.details["waiting"] is True
    outcome = connector.process(task, ctx)  # the event log asks again later
    assert outcome.result["size"] == len(MP3)
    assert [a.file_id for a in outcome.interactions[0].attachments] == [outcome.result["file_id"]]


@respx.mock
def test_not_found_result_code_waits_too(scenario_a, files, http) -> None:
    connector = MangoConnector(settings())
    respx.post(POST_URL).mock(return_value=httpx.Response(200, json={"result": 3320}))
    ctx = WorkerContext(files=files, http=http)
    with pytest.raises(TransientUpstreamError) as err:
        connector.process(fetch_task(ctx, connector, scenario_a), ctx)
    assert err.value.details["waiting"] is True


@respx.mock
def test_still_missing_after_the_wait_is_given_up(scenario_a, files, http) -> None:
    connector = MangoConnector(settings(recording_wait_hours=24))
    respx.post(POST_URL).mock(return_value=httpx.Response(404))
    ctx = WorkerContext(files=files, http=http)
    task = fetch_task(ctx, connector, scenario_a)
    ctx.now = task.received_at + timedelta(hours=25)
    with pytest.raises(PermanentUpstreamError):
        connector.process(task, ctx)


@respx.mock
def test_invalid_request_result_is_not_retried(scenario_a, files, http) -> None:
    connector = MangoConnector(settings())
    post = respx.post(POST_URL).mock(return_value=httpx.Response(200, json={"result": 3102}))
    ctx = WorkerContext(files=files, http=http)
    task = fetch_task(ctx, connector, scenario_a)
    with pytest.raises(PermanentUpstreamError) as err:
        connector.process(task, ctx)
    assert err.value.details["result"] == 3102
    with pytest.raises(TransientUpstreamError, match="holding back"):
        connector.process(task, ctx)  # a replay within 2 minutes never reaches Mango
    assert post.call_count == 1


@pytest.mark.parametrize(
    ("response", "retry_after"),
    [
        (httpx.Response(429, json={"name": "Service Unavailable", "message": "Rate limit exceeded.", "code": 0,
                                   "status": 429}, headers={"Retry-After": "3"}), 3.0),
        (httpx.Response(401), 120.0),
        (httpx.Response(503), None),
        (httpx.Response(200, json={"result": 5008}), None),
    ],
)
@respx.mock
def test_upstream_trouble_is_transient(scenario_a, files, http, response, retry_after) -> None:
    connector = MangoConnector(settings())
    respx.post(POST_URL).mock(return_value=response)
    ctx = WorkerContext(files=files, http=http)
    with pytest.raises(TransientUpstreamError) as err:
        connector.process(fetch_task(ctx, connector, scenario_a), ctx)
    assert err.value.retry_after == retry_after


@respx.mock
def test_too_large_recording_is_recorded_as_omitted(scenario_a, files, http) -> None:
    connector = MangoConnector(settings(recording_max_mb=1))
    respx.post(POST_URL).mock(return_value=redirect())
    big = httpx.Response(200, content=bytes(2 << 20), headers={"Content-Type": "audio/mp3"})
    respx.get(LINK).mock(return_value=big)
    ctx = WorkerContext(files=files, http=http)
    outcome = connector.process(fetch_task(ctx, connector, scenario_a), ctx)
    assert outcome.result["omitted"] is True
    [attachment] = outcome.interactions[0].attachments
    assert attachment.omitted and attachment.file_id is None
    assert list((files.root / "tmp").iterdir()) == []


def test_no_fetch_when_recordings_are_off(scenario_a) -> None:
    connector = MangoConnector(settings(fetch_recordings=False))
    ctx = WorkerContext()
    assert all(connector.process(ctx.store(e), ctx).follow_ups == [] for e in scenario_a)


def test_rate_limiter_allows_ten_a_second() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    limiter = RateLimiter.per_second(10, clock=lambda: now[0], sleep=sleep)
    for _ in range(10):
        limiter.acquire()
    assert slept == []
    limiter.acquire()
    assert slept == [1.0]
    assert RateLimiter.per_second(0.5, clock=lambda: now[0], sleep=sleep)._per == 2.0


@respx.mock
def test_lockout_guard_releases_after_two_minutes(http) -> None:
    now = [0.0]
    guard = LockoutGuard(clock=lambda: now[0])
    conf = settings().telephony.mango[0]
    route = respx.post("https://app.mango-office.ru/vpbx/stats/calls/request").mock(
        return_value=httpx.Response(200, json={"result": 3104}))
    client = VpbxClient(conf, http, guard=guard)
    client.post("stats/calls/request", {"start_date": "x"})
    now[0] = 119.0
    with pytest.raises(TransientUpstreamError):
        client.post("stats/calls/request", {"start_date": "x"})
    now[0] = 121.0
    client.post("stats/calls/request", {"start_date": "x"})
    assert route.call_count == 2
