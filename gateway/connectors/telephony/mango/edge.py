"""The HTTP edge: verify a Mango notification and turn it into one raw event to store."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import structlog

from gateway.config.mango import MangoSettings
from gateway.connectors.base import EdgeOutcome, InboundRequest, NewEvent, Reply
from gateway.connectors.telephony.mango.signature import verify
from gateway.connectors.urlencoded import decode_form
from gateway.core.errors import GatewayError, PayloadError, SignatureError

__all__ = ["CHANNEL", "KNOWN_EVENTS", "MangoEdge", "event_key", "parse_form"]

log = structlog.get_logger(__name__)

CHANNEL = "mango"
FORM_TYPE = "application/x-www-form-urlencoded"
KNOWN_EVENTS = frozenset({"call", "summary", "recording", "record/added", "record/tagged", "dtmf"})
ID_FIELDS = ("entry_id", "call_id", "seq", "recording_id")
MAX_KEY = 512
MAX_NAME = 128


def parse_form(body: bytes, content_type: str) -> dict[str, str]:
    """The three form fields, URL-decoded; PayloadError when the body is not such a form."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media and media != FORM_TYPE:
        raise PayloadError(f"expected {FORM_TYPE}, got {media}")
    try:
        pairs = decode_form(body)
    except (UnicodeDecodeError, ValueError):
        raise PayloadError("body is not a URL-encoded form") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            raise PayloadError(f"form field {name} appears twice")
        fields[name] = value
    missing = [f for f in ("vpbx_api_key", "sign", "json") if not fields.get(f)]
    if missing:
        raise PayloadError(f"missing form field(s): {', '.join(missing)}")
    return fields


def _id_value(data: Mapping[str, Any], field: str) -> str | None:
    value = data.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PayloadError(f"{field} must be a string or a number")
    text = str(value).strip()
    if field == "seq" and text.lstrip("-").isdigit():
        text = str(int(text))  # "2" and 2 are the same delivery
    return text


def event_key(name: str, data: Mapping[str, Any], json_text: str) -> str:
    """The idempotency key: event name and the ids Mango gives, or a hash of the payload."""
    ids = [_id_value(data, f) for f in ID_FIELDS]
    parts = [name, *(v or "" for v in ids)]
    if name not in KNOWN_EVENTS or not any(ids):
        parts.append(hashlib.sha256(json_text.encode("utf-8")).hexdigest())
    key = ":".join(parts)
    if len(key) > MAX_KEY:
        key = f"{name[:64]}:sha256:{hashlib.sha256(key.encode('utf-8')).hexdigest()}"
    return key


class MangoEdge:
    """Checks account, key and signature, then hands back the event to store."""

    def __init__(self, accounts: Mapping[str, MangoSettings]) -> None:
        self._accounts = accounts

    async def events(self, request: InboundRequest) -> EdgeOutcome:
        return await self._handle(request, request.match.get("name", ""))

    async def results(self, request: InboundRequest) -> EdgeOutcome:
        return await self._handle(request, "result/" + request.match.get("name", ""))

    def quick_events(self, match: Mapping[str, str], body: bytes, content_type: str,
                     received_at: datetime) -> EdgeOutcome | None:
        """`events` for a body that came whole, without a request object; None where `events` would refuse."""
        return self._quick(match, match.get("name", ""), body, content_type, received_at)

    def quick_results(self, match: Mapping[str, str], body: bytes, content_type: str,
                      received_at: datetime) -> EdgeOutcome | None:
        return self._quick(match, "result/" + match.get("name", ""), body, content_type, received_at)

    def _quick(self, match: Mapping[str, str], name: str, body: bytes, content_type: str,
               received_at: datetime) -> EdgeOutcome | None:
        try:
            return self._outcome(match.get("account", ""), name, body, content_type, received_at)
        except GatewayError:
            return None  # the full path answers it, and logs why

    async def _handle(self, request: InboundRequest, name: str) -> EdgeOutcome:
        account = request.match.get("account", "")
        if account not in self._accounts:
            log.warning("mango.edge.refused", reason="unknown account", account=account[:64])
            raise SignatureError("unknown account or bad signature")
        try:
            return self._outcome(account, name, await request.read(), request.content_type, request.received_at)
        except SignatureError as exc:
            log.warning("mango.edge.refused", reason=exc.details.get("reason"), account=account)
            raise

    def _outcome(self, account: str, name: str, body: bytes, content_type: str,
                 received_at: datetime) -> EdgeOutcome:
        """The event a notification to `account` is stored as; SignatureError or PayloadError, not logged."""
        conf = self._accounts.get(account)
        if conf is None:
            raise SignatureError("unknown account or bad signature", reason="unknown account")
        fields = parse_form(body, content_type)
        json_text = self._verified_json(conf, fields)
        data = _json_object(json_text)
        name = name.strip("/")[:MAX_NAME] or "unnamed"
        entry_id = _id_value(data, "entry_id")
        if name.startswith("result/") and entry_id is None and _id_value(data, "command_id"):
            entry_id = f"command:{_id_value(data, 'command_id')}"  # a command's result, found by its id
        event = NewEvent(
            connector=CHANNEL,
            account=account,
            key=event_key(name, data, json_text),
            body=json_text.encode("utf-8"),
            received_at=received_at,
            name=name,
            group_key=entry_id,
            headers={"content-type": "application/json"},
        )
        return EdgeOutcome(events=[event], reply=Reply(status=200))

    @staticmethod
    def _verified_json(conf: MangoSettings, fields: Mapping[str, str]) -> str:
        json_text = fields["json"]
        key_ok = hmac.compare_digest(fields["vpbx_api_key"].encode("utf-8"), conf.api_key.encode("utf-8"))
        sign_ok = verify(conf.api_key, json_text, conf.api_salt, fields["sign"])
        if not (key_ok and sign_ok):
            raise SignatureError("unknown account or bad signature", reason="api key" if not key_ok else "signature")
        return json_text


def _json_object(json_text: str) -> dict[str, Any]:
    try:
        data = json.loads(json_text)
    except ValueError:
        raise PayloadError("json field is not valid JSON") from None
    if not isinstance(data, dict):
        raise PayloadError("json field is not a JSON object")
    return data
