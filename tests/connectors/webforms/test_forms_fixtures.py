"""Recorded-shape requests in tests/fixtures/forms/*.http against their expected leads.

Regenerate the expected files after a deliberate change, then review the diff:
    FORMS_REGENERATE=1 .venv/bin/pytest tests/connectors/webforms/test_forms_fixtures.py
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from multidict import CIMultiDict

from gateway.config.forms import FormSettings, SourceRule
from gateway.connectors.base import InboundRequest
from gateway.connectors.webforms import FormsConnector
from gateway.store.files import FileStore
from tests.connectors.webforms.forms_requests import RECEIVED, Body, Context, make_settings, stored
from tests.golden import regenerating

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "forms"
FORM = FormSettings(
    id="site-ru", name="Сайт", pipeline="Продажи", stage="Лид",
    allowed_origins=["https://okna.example.ru", "https://example.ru"],
    source_rules=[SourceRule(utm_source="yandex", utm_medium="cpc", source="Яндекс.Директ"),
                  SourceRule(utm_source="google", source="Google Ads")],
)


def load_http(path: Path) -> InboundRequest:
    raw = path.read_bytes()
    head, _, body = raw.partition(b"\r\n\r\n")
    request_line, *lines = head.decode().split("\r\n")
    method, target, _ = request_line.split(" ")
    headers = CIMultiDict(line.split(": ", 1) for line in lines)
    source = Body(body)
    return InboundRequest(
        method=method, path=target, match={"form_id": target.rsplit("/", 1)[-1]}, headers=headers, query={},
        remote="203.0.113.7", content_type=headers["Content-Type"].split(";")[0],
        content_length=int(headers["Content-Length"]), read=source.read, stream=source.stream, received_at=RECEIVED,
    )


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.http")), ids=lambda p: p.stem)
async def test_fixture(tmp_path: Path, path: Path) -> None:
    files = FileStore(tmp_path / "files")
    connector = FormsConnector(make_settings(tmp_path, FORM), files=files, new_id=lambda: "sub1")
    post = next(r for r in connector.routes() if r.method == "POST")
    outcome = await post.handler(load_http(path))
    reply = outcome.build_reply(["ev-1"])
    [interaction] = connector.process(stored(outcome.events[0]), Context(files)).interactions
    got = {
        "reply": {"status": reply.status, "body": str(reply.body), "headers": reply.headers},
        "stored": json.loads(outcome.events[0].body),
        "interaction": interaction.model_dump(mode="json", exclude_defaults=True),
    }
    expected = path.with_suffix(".expected.json")
    if regenerating("FORMS_REGENERATE"):
        expected.write_text(json.dumps(got, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert got == json.loads(expected.read_text(encoding="utf-8"))
