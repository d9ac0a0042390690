"""The forms edge and parser, driven with InboundRequest objects built by hand."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.config.forms import FormSettings, SourceRule
from gateway.connectors.base import EdgeOutcome
from gateway.connectors.webforms import FormsConnector
from gateway.connectors.webforms.connector import SubmissionIds
from gateway.core.errors import GatewayError, NotFound, PayloadTooLarge, PermissionDenied, RateLimited, SignatureError
from gateway.core.models import Channel, IdentityKind, Kind
from gateway.store.files import FileStore
from tests.connectors.webforms.forms_requests import (
    EXE,
    PDF,
    RECEIVED,
    Body,
    Context,
    FilePart,
    json_request,
    make_settings,
    multipart,
    multipart_request,
    request,
    stored,
    stored_files,
    temp_files,
    urlencoded_request,
)

TS_OK = str(int(RECEIVED.timestamp()) - 60)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def connector(tmp_path: Path, *forms: FormSettings, clock: Clock | None = None) -> FormsConnector:
    ids = (f"sub{i}" for i in itertools.count(1))
    return FormsConnector(make_settings(tmp_path, *forms), files=FileStore(tmp_path / "files"),
                          new_id=lambda: next(ids), clock=clock or Clock())


def submit_route(c: FormsConnector):
    return next(r for r in c.routes() if r.method == "POST").handler


def process(c: FormsConnector, outcome: EdgeOutcome, tmp_path: Path):
    [event] = outcome.events
    [interaction] = c.process(stored(event), Context(FileStore(tmp_path / "files"))).interactions
    return interaction


async def test_a_plain_form_post_is_stored_and_redirected(tmp_path: Path) -> None:
    c = connector(tmp_path, FormSettings(id="site-ru", name="Заявка с сайта", pipeline="Продажи", stage="Лид"))
    outcome = await submit_route(c)(urlencoded_request(
        [("Name", "Иван Петров"), ("Phone", "8 (916) 123-45-67"), ("Email", "ivan@example.ru"),
         ("Comments", "Нужен расчёт"), ("city", "Москва"), ("_ts", TS_OK), ("_hp", "")],
        headers={"Referer": "https://shop.example.ru/okna?utm_source=yandex&utm_medium=cpc&yclid=77",
                 "User-Agent": "Mozilla/5.0", "Accept": "text/html"}))
    [event] = outcome.events
    assert (event.connector, event.account, event.key, event.name) == ("forms", "site-ru", "sub1", "submission")
    reply = outcome.build_reply(["ev-1"])
    assert (reply.status, reply.headers["Location"]) == (303, "/hooks/forms/site-ru/thanks")

    lead = process(c, outcome, tmp_path)
    assert (lead.key, lead.channel, lead.kind, lead.account) == ("forms:site-ru:sub1", Channel.FORMS, Kind.FORM,
                                                                 "site-ru")
    assert lead.name == "Иван Петров" and lead.text == "Нужен расчёт"
    assert [(i.kind, i.value) for i in lead.identities] == [(IdentityKind.PHONE, "8 (916) 123-45-67"),
                                                            (IdentityKind.EMAIL, "ivan@example.ru")]
    assert lead.utm == {"utm_source": "yandex", "utm_medium": "cpc", "yclid": "77"}
    assert lead.source == "Заявка с сайта" and (lead.pipeline, lead.stage) == ("Продажи", "Лид")
    assert lead.custom["city"] == "Москва" and lead.custom["site"] == "shop.example.ru"
    assert lead.custom["ip"] == "203.0.113.7" and lead.custom["user_agent"] == "Mozilla/5.0"
    assert "_ts" not in lead.custom and "_hp" not in lead.custom
    assert lead.non_target_reason is None and lead.dedupe_window_s == 300
    assert lead.occurred_at == RECEIVED


async def test_a_multipart_post_with_files(tmp_path: Path) -> None:
    c = connector(tmp_path, FormSettings(id="site-ru", min_fill_seconds=0,
                                         source_rules=[SourceRule(utm_source="google", source="Google Ads")]))
    outcome = await submit_route(c)(multipart_request(
        [("your-name", "Анна"), ("your-tel", "+79161234567"), ("budget", "1,5 млн"), ("company", "ООО Ромашка"),
         ("position", "Директор"), ("page", "https://example.ru/?utm_source=google&gclid=abc")],
        [FilePart("brief", "../ТЗ.pdf", PDF, "application/pdf")], headers={"Accept": "application/json"}))
    reply = outcome.build_reply(["ev-42"])
    assert (reply.status, json.loads(reply.body)) == (200, {"ok": True, "lead": "ev-42"})
    lead = process(c, outcome, tmp_path)
    [att] = lead.attachments
    assert (att.name, att.size, att.content_type) == ("ТЗ.pdf", len(PDF), "application/pdf")
    assert FileStore(tmp_path / "files").read(att.file_id or "") == PDF
    assert (lead.company, lead.position, lead.budget) == ("ООО Ромашка", "Директор", 1_500_000.0)
    assert lead.source == "Google Ads" and lead.utm == {"utm_source": "google", "gclid": "abc"}
    body = json.loads(outcome.events[0].body)
    assert body["files"][0]["original_name"] == "../ТЗ.pdf"


async def test_a_json_body_gets_a_json_answer(tmp_path: Path) -> None:
    c = connector(tmp_path)
    outcome = await submit_route(c)(json_request({"name": "Олег", "contact": {"phone": "+7 495 000-00-00"},
                                                  "agree": True, "services": ["окна", "двери"]}))
    assert json.loads(outcome.build_reply(["e1"]).body) == {"ok": True, "lead": "e1"}
    lead = process(c, outcome, tmp_path)
    assert [i.value for i in lead.identities] == ["+7 495 000-00-00"]
    assert lead.custom["agree"] == "true" and lead.custom["services"] == ["окна", "двери"]


async def test_a_thank_you_url_is_where_the_browser_goes(tmp_path: Path) -> None:
    c = connector(tmp_path, FormSettings(id="site-ru", thank_you_url="https://example.ru/spasibo"))
    outcome = await submit_route(c)(urlencoded_request({"name": "x"}))
    assert outcome.build_reply(["e"]).headers["Location"] == "https://example.ru/spasibo"


async def test_the_thank_you_page(tmp_path: Path) -> None:
    c = connector(tmp_path, FormSettings(id="site-ru", name="<Заявка>"))
    thanks = next(r for r in c.routes() if r.method == "GET")
    reply = (await thanks.handler(request(b"", method="GET"))).build_reply([])
    assert reply.status == 200 and reply.content_type == "text/html"
    assert "Спасибо" in str(reply.body) and "&lt;Заявка&gt;" in str(reply.body)
    with pytest.raises(NotFound):
        await thanks.handler(request(b"", method="GET", form_id="nope"))


async def test_an_unknown_form_is_404(tmp_path: Path) -> None:
    with pytest.raises(NotFound):
        await submit_route(connector(tmp_path))(urlencoded_request({"a": "1"}, form_id="other"))


@pytest.mark.parametrize(("where", "given_secret", "ok"), [
    ("header", "s3cret-form", True), ("field", "s3cret-form", True), ("header", "wrong", False),
    ("field", "s3cret-form ", False), (None, None, False),
])
async def test_a_form_secret(tmp_path: Path, where: str | None, given_secret: str | None, ok: bool) -> None:
    c = connector(tmp_path, FormSettings(id="site-ru", secret="s3cret-form"))
    fields = [("name", "x")] + ([("_secret", given_secret or "")] if where == "field" else [])
    headers = {"X-Form-Secret": given_secret or ""} if where == "header" else {}
    req = multipart_request(fields, [FilePart("f", "a.pdf", PDF, "application/pdf")], headers=headers)
    if ok:
        outcome = await submit_route(c)(req)
        assert b"s3cret" not in outcome.events[0].body  # the secret is never stored
    else:
        with pytest.raises(SignatureError):
            await submit_route(c)(req)
        assert stored_files(FileStore(tmp_path / "files")) == []
    assert temp_files(FileStore(tmp_path / "files")) == []


async def test_the_secret_field_is_dropped_even_when_not_needed(tmp_path: Path) -> None:
    outcome = await submit_route(connector(tmp_path))(urlencoded_request({"_secret": "leak", "name": "x"}))
    assert b"leak" not in outcome.events[0].body


async def test_cors_preflight_only_for_allowed_origins(tmp_path: Path) -> None:
    c = connector(tmp_path, FormSettings(id="site-ru", allowed_origins=["https://example.ru"]))
    preflight = next(r for r in c.routes() if r.method == "OPTIONS").handler
    ok = (await preflight(request(b"", method="OPTIONS", headers={"Origin": "https://example.ru"}))).build_reply([])
    assert ok.status == 204 and ok.headers["Access-Control-Allow-Origin"] == "https://example.ru"
    assert "X-Form-Secret" in ok.headers["Access-Control-Allow-Headers"]
    assert "POST" in ok.headers["Access-Control-Allow-Methods"]
    other = (await preflight(request(b"", method="OPTIONS", headers={"Origin": "https://evil.example"}))).build_reply(
        [])
    assert "Access-Control-Allow-Origin" not in other.headers
    with pytest.raises(NotFound):
        await preflight(request(b"", method="OPTIONS", form_id="nope"))


async def test_cors_on_the_answer_and_foreign_origins_refused(tmp_path: Path) -> None:
    c = connector(tmp_path, FormSettings(id="site-ru", allowed_origins=["https://example.ru/"]))
    outcome = await submit_route(c)(json_request({"name": "x"}, headers={"Origin": "https://EXAMPLE.ru"}))
    assert outcome.build_reply(["e"]).headers["Access-Control-Allow-Origin"] == "https://EXAMPLE.ru"
    with pytest.raises(PermissionDenied):
        await submit_route(c)(json_request({"name": "x"}, headers={"Origin": "https://evil.example"}))
    server_to_server = await submit_route(c)(json_request({"name": "x"}))  # no Origin: a site's backend
    assert "Access-Control-Allow-Origin" not in server_to_server.build_reply(["e"]).headers


async def test_rate_limit_per_ip_and_form(tmp_path: Path) -> None:
    clock = Clock()
    c = connector(tmp_path, FormSettings(id="site-ru", rate_limit_per_minute=3), clock=clock)
    for _ in range(3):
        await submit_route(c)(urlencoded_request({"a": "1"}))
    with pytest.raises(RateLimited) as info:
        await submit_route(c)(urlencoded_request({"a": "1"}))
    assert info.value.status == 429
    await submit_route(c)(urlencoded_request({"a": "1"}, remote="198.51.100.1"))  # another address
    clock.now += 61
    await submit_route(c)(urlencoded_request({"a": "1"}))


async def test_declared_length_over_the_limit_is_refused_unread(tmp_path: Path) -> None:
    c = connector(tmp_path, FormSettings(id="site-ru", max_upload_mb=1))
    body = Body(multipart([("a", "1")]))
    req = request(body, content_type="multipart/form-data; boundary=x", content_length=(1 << 20) + 1)
    with pytest.raises(PayloadTooLarge):
        await submit_route(c)(req)
    assert body.consumed == 0


async def test_an_upload_over_the_forms_limit(tmp_path: Path) -> None:
    c = connector(tmp_path, FormSettings(id="site-ru", max_upload_mb=0.25))
    with pytest.raises(PayloadTooLarge):
        await submit_route(c)(multipart_request(files=[FilePart("f", "a.pdf", PDF + b"0" * 300_000)]))
    assert temp_files(FileStore(tmp_path / "files")) == []


async def test_an_executable_is_refused(tmp_path: Path) -> None:
    c = connector(tmp_path)
    with pytest.raises(GatewayError) as info:
        await submit_route(c)(multipart_request(files=[FilePart("f", "a.pdf", EXE, "application/pdf")]))
    assert info.value.status == 415


@pytest.mark.parametrize("content_type", ["text/plain", "", "application/octet-stream"])
async def test_other_content_types_are_415(tmp_path: Path, content_type: str) -> None:
    with pytest.raises(GatewayError) as info:
        await submit_route(connector(tmp_path))(request(b"name=x", content_type=content_type))
    assert info.value.status == 415


async def test_multipart_without_a_boundary_is_400(tmp_path: Path) -> None:
    with pytest.raises(GatewayError) as info:
        await submit_route(connector(tmp_path))(request(b"x", content_type="multipart/form-data"))
    assert info.value.status == 400


async def test_the_route_limit_covers_the_largest_form(tmp_path: Path) -> None:
    c = connector(tmp_path, FormSettings(id="a", max_upload_mb=5), FormSettings(id="b", max_upload_mb=50))
    post = next(r for r in c.routes() if r.method == "POST")
    assert post.max_body_bytes == 50 << 20 and post.path == "/hooks/forms/{form_id}"


async def test_spam_is_stored_but_marked(tmp_path: Path) -> None:
    c = connector(tmp_path, FormSettings(id="site-ru", min_fill_seconds=5))
    honeypot = await submit_route(c)(urlencoded_request({"name": "x", "_hp": "http://spam"}))
    assert honeypot.build_reply(["e"]).status == 303  # the sender is not told
    assert process(c, honeypot, tmp_path).non_target_reason == "honeypot"
    fast = await submit_route(c)(urlencoded_request({"name": "x", "_ts": str(int(RECEIVED.timestamp()) - 1)}))
    assert process(c, fast, tmp_path).non_target_reason == "filled too fast"


async def test_a_removed_form_still_processes(tmp_path: Path) -> None:
    outcome = await submit_route(connector(tmp_path))(urlencoded_request({"name": "x"}))
    lead = process(connector(tmp_path / "later", FormSettings(id="other")), outcome, tmp_path)
    assert lead.key == "forms:site-ru:sub1" and lead.source == "site-ru"


async def test_a_windows_1251_form(tmp_path: Path) -> None:
    body = "name=Иван&message=Привет".encode("cp1251").replace(b"&", b"&")
    outcome = await submit_route(connector(tmp_path))(
        request(body, content_type="application/x-www-form-urlencoded; charset=windows-1251"))
    assert process(connector(tmp_path), outcome, tmp_path).name == "Иван"


names = st.text(max_size=25)
values = st.text(max_size=120)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=st.lists(st.tuples(names, values), max_size=10), kind=st.sampled_from(["urlencoded", "json"]))
async def test_any_fields_give_a_lead_or_our_error(tmp_path: Path, fields, kind: str) -> None:
    c = connector(tmp_path, FormSettings(id="site-ru", fields={"x": "phone"}))
    req = urlencoded_request(fields) if kind == "urlencoded" else json_request(dict(fields))
    try:
        outcome = await submit_route(c)(req)
    except GatewayError:
        return
    lead = process(c, outcome, tmp_path)
    assert lead.key == "forms:site-ru:sub1"
    json.dumps(lead.model_dump(mode="json"))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=400), content_type=st.sampled_from(
    ["application/json", "application/x-www-form-urlencoded", "multipart/form-data; boundary=b"]))
async def test_any_body_is_a_lead_or_our_error(tmp_path: Path, body: bytes, content_type: str) -> None:
    c = connector(tmp_path)
    try:
        outcome = await submit_route(c)(request(body, content_type=content_type))
    except GatewayError:
        return
    lead = process(c, outcome, tmp_path)
    assert lead.channel == Channel.FORMS and lead.key == "forms:site-ru:sub1"


def test_submission_ids_are_unique_random_hex() -> None:
    ids = SubmissionIds(batch=4)
    drawn = [ids() for _ in range(1000)]
    assert len(set(drawn)) == 1000 and all(len(i) == 32 and int(i, 16) >= 0 for i in drawn)
