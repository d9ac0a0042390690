"""The connector contract: every connector of the registry keeps the shape the gateway relies on.

For each entry of `gateway.connectors.registry.CONNECTORS`, over a real server and store:
its `manifest.py` matches the connector (channel, routes, settings model) and its README.md names
what the manifest declares; its routes are mounted in the real application; a request with a bad
signature or secret is refused and stores nothing; and `process` gives the same outcome twice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import import_module
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from sqlalchemy import func, select

from gateway.config import Settings
from gateway.connectors.base import Connector, NewEvent, StoredEvent
from gateway.connectors.manifest import Manifest
from gateway.connectors.registry import CONNECTORS
from gateway.connectors.telephony.mango.signature import sign
from gateway.egress import OutboundClient, OutboundPolicy
from gateway.http.keys import CONNECTORS as APP_CONNECTORS
from gateway.http.keys import DB
from gateway.store import event_log
from gateway.store.files import FileStore
from gateway.store.schema import events
from tests.conftest import Server, make_settings, start_server

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ROOT = Path(__file__).resolve().parents[2]
CONFIG = """
[[telephony.mango]]
account = "main"
api_key = "vpbx-key"
api_salt = "vpbx-salt"

[[forms]]
id = "site"
secret = "form-secret"

[[messengers.telegram]]
bot = "sales_bot"
token = "123456:ABC"
secret_token = "tg-secret"

[[messengers.vk]]
group = "shop"
secret = "vk-secret"
confirmation = "abc123"

[[messengers.whatsapp]]
account = "wa"
verify_token = "wa-verify"
app_secret = "wa-app-secret"
"""


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    kwargs: dict[str, Any]


def _mango(sign_with: str) -> Call:
    body = (FIXTURES / "mango" / "outgoing_answered.json").read_text(encoding="utf-8")
    payload = json.loads(body)["deliveries"][1]["json"]  # the summary: a whole call in one event
    return Call("POST", "/hooks/mango/main/events/summary",
                {"data": {"vpbx_api_key": "vpbx-key", "sign": sign("vpbx-key", payload, sign_with), "json": payload}})


def _telegram(secret: str) -> Call:
    body = (FIXTURES / "telegram" / "message_from_new_person.json").read_bytes()
    return Call("POST", "/hooks/telegram/sales_bot",
                {"content": body, "headers": {"X-Telegram-Bot-Api-Secret-Token": secret,
                                              "Content-Type": "application/json"}})


def _vk(secret: str) -> Call:
    data = json.loads((FIXTURES / "vk" / "message_new.json").read_text(encoding="utf-8"))
    return Call("POST", "/hooks/vk/shop", {"json": {**data, "secret": secret}})


def _whatsapp(secret: str) -> Call:
    body = (FIXTURES / "whatsapp" / "text_message.json").read_bytes()
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return Call("POST", "/hooks/whatsapp/wa", {"content": body, "headers": {
        "X-Hub-Signature-256": f"sha256={digest}", "Content-Type": "application/json"}})


def _forms(secret: str) -> Call:
    return Call("POST", "/hooks/forms/site", {"data": {"name": "Анна", "phone": "+7 916 000 11 22",
                                                       "message": "Нужна консультация"},
                                              "headers": {"X-Form-Secret": secret, "Accept": "application/json"}})


# channel -> (requests signed wrongly, one request signed rightly); a connector with routes must be here
SIGNED: dict[str, tuple[list[Call], Call]] = {
    "mango": ([_mango("wrong-salt")], _mango("vpbx-salt")),
    "forms": ([_forms("wrong-secret")], _forms("form-secret")),
    "telegram": ([_telegram("wrong-secret")], _telegram("tg-secret")),
    "vk": ([_vk("wrong-secret")], _vk("vk-secret")),
    "whatsapp": ([_whatsapp("wrong-secret"),
                  Call("GET", "/hooks/whatsapp/wa", {"params": {
                      "hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "42"}})],
                 _whatsapp("wa-app-secret")),
}


def _mail_event() -> NewEvent:
    raw = (FIXTURES / "email" / "plain_utf8_with_phone.eml").read_bytes()
    from gateway.connectors.email.keys import event_key

    return NewEvent(connector="imap", account="sales", key=event_key(raw), body=raw, name="inbox",
                    received_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
                    headers={"folder": "INBOX", "role": "inbox", "uid": "7", "uidvalidity": "1", "size": str(len(raw))})


class _Context:
    """The `ParseContext` the worker gives, over the test's store: related events, files, outbound HTTP."""

    def __init__(self, server: Server) -> None:
        self._engine = server.app[DB].engine
        self.now = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
        self.files = FileStore(server.settings.files_dir)
        self.http = OutboundClient(OutboundPolicy(timeout_s=5))

    def related(self, connector: str, account: str, group_key: str,
                names: Sequence[str] | None = None) -> Sequence[StoredEvent]:
        with self._engine.connect() as conn:
            return event_log.related(conn, connector, account, group_key, names)


def _manifest(channel: str) -> Manifest:
    package = CONNECTORS[channel].partition(":")[0].rpartition(".")[0]
    manifest = import_module(f"{package}.manifest").MANIFEST
    assert isinstance(manifest, Manifest)
    return manifest


def _folder(channel: str) -> Path:
    package = CONNECTORS[channel].partition(":")[0].rpartition(".")[0]
    return ROOT.joinpath(*package.split("."))


def _settings_model_at(key: str) -> Any:
    model: Any = Settings
    for part in key.split("."):
        annotation = model.model_fields[part].annotation
        model = getattr(annotation, "__args__", (annotation,))[0]  # list[X] -> X
    return model


def _count(server: Server, channel: str) -> int:
    with server.app[DB].engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(events).where(events.c.connector == channel))
                   .scalar_one())


def _check_manifest(channel: str, connector: Connector, manifest: Manifest) -> None:
    assert manifest.channel == channel == connector.channel
    assert list(manifest.routes) == [(r.method, r.path) for r in connector.routes()]
    assert manifest.polls == bool(getattr(connector, "services", None)), "polls: the connector has services()"
    assert manifest.keys, "a connector names the keys its events are stored under"
    if manifest.settings is not None:
        assert issubclass(manifest.settings, BaseModel)
        assert manifest.settings_key is not None and _settings_model_at(manifest.settings_key) is manifest.settings
    readme = (_folder(channel) / "README.md").read_text(encoding="utf-8")
    named = [channel, *(path for _, path in manifest.routes), *manifest.keys, *manifest.docs]
    if manifest.settings is not None:
        named += [f"[[{manifest.settings_key}]]", manifest.settings.__name__]
    assert [n for n in named if n not in readme] == [], f"{channel}/README.md does not name these"


def _check_mounted(server: Server, manifest: Manifest) -> None:
    mounted = {(r.method, r.resource.canonical) for r in server.app.router.routes() if r.resource is not None}
    canonical = [(method, re.sub(r"\{(\w+):[^}]*\}", r"{\1}", path)) for method, path in manifest.routes]
    assert [r for r in canonical if r not in mounted] == []


async def _stored(server: Server, client: httpx.AsyncClient, channel: str) -> list[StoredEvent]:
    """A real event of this connector in the store, delivered the way its provider delivers it."""
    if channel == "manual":
        r = await client.post(f"{server.url}/api/v1/leads", json={"name": "Анна", "phone": "+7 916 000 11 22"},
                              headers=server.headers())
        assert r.status_code in (201, 202), r.text
    elif channel in SIGNED:
        good = SIGNED[channel][1]
        r = await client.request(good.method, server.url + good.path, **good.kwargs)
        assert r.status_code < 400, r.text
    else:
        with server.app[DB].engine.begin() as conn:
            event_log.append(conn, [_mail_event()])
    with server.app[DB].engine.begin() as conn:  # claimed as the worker claims them
        claim = event_log.claim_batch(conn, limit=100, lease_s=60, now=datetime.now(UTC), owner="contract")
    return [e for e in claim.events if e.connector == channel]


@pytest.fixture
async def contract_server(tmp_path: Path) -> Any:
    (tmp_path / "gateway.toml").write_text(CONFIG, encoding="utf-8")
    settings = make_settings(tmp_path, config_file=tmp_path / "gateway.toml")
    runner, server = await start_server(settings, run_dispatcher=False)  # events stay as stored
    try:
        yield server
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("channel", list(CONNECTORS))
async def test_every_connector_keeps_the_contract(channel: str, contract_server: Server) -> None:
    server = contract_server
    connector = server.app[APP_CONNECTORS][channel]
    manifest = _manifest(channel)
    _check_manifest(channel, connector, manifest)
    _check_mounted(server, manifest)
    assert any(m == "POST" for m, _ in manifest.routes) <= (channel in SIGNED), "add its signed requests to SIGNED"

    async with httpx.AsyncClient(timeout=10) as client:
        for bad in SIGNED.get(channel, ([], None))[0]:
            r = await client.request(bad.method, server.url + bad.path, **bad.kwargs)
            assert r.status_code in (401, 403), f"{bad.method} {bad.path}: {r.status_code} {r.text}"
        assert _count(server, channel) == 0
        stored = await _stored(server, client, channel)

    assert stored, "a rightly signed delivery is stored"
    ctx = _Context(server)
    try:
        for event in stored:
            first, second = connector.process(event, ctx), connector.process(event, ctx)
            assert first == second, f"{channel}: process({event.key}) differs between two runs"
            assert first.interactions or first.follow_ups or first.result, f"{channel}: {event.key} gave nothing"
    finally:
        ctx.http.close()
