"""One form submission as stored in the event log, and the readers of non-multipart bodies."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field

from gateway.connectors.webforms.upload import decode_text
from gateway.core.errors import PayloadError, PayloadTooLarge

__all__ = ["Client", "StoredUpload", "Submission", "json_fields", "read_capped", "urlencoded_fields"]

MAX_FIELDS = 256
_MAX_DEPTH = 4


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore")


class StoredUpload(_Body):
    field: str
    id: str  # file store id
    name: str  # safe to show
    original_name: str  # as sent: data only, never a path
    size: int
    content_type: str  # what the content is
    declared_type: str


class Client(_Body):
    ip: str | None = None
    user_agent: str | None = None
    referer: str | None = None  # the Referer header: usually the page with the form
    origin: str | None = None


class Submission(_Body):
    """The event body: every value a list of strings, in the order sent."""

    form: str
    id: str
    received_at: datetime
    encoding: str  # multipart | urlencoded | json
    fields: dict[str, list[str]] = Field(default_factory=dict)
    files: list[StoredUpload] = Field(default_factory=list)
    client: Client = Field(default_factory=Client)


async def read_capped(stream: AsyncIterator[bytes], limit: int) -> bytes:
    """The whole body, refused with 413 as soon as it passes `limit` bytes."""
    body = bytearray()
    async for chunk in stream:
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"request over {limit} bytes")
    return bytes(body)


def urlencoded_fields(body: bytes, charset: str | None = None) -> dict[str, list[str]]:
    try:
        pairs = parse_qsl(decode_text(body, charset), keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError as exc:
        raise PayloadTooLarge(f"form over {MAX_FIELDS} fields") from exc
    fields: dict[str, list[str]] = {}
    for key, value in pairs:
        fields.setdefault(key, []).append(value)
    return fields


def _flatten(prefix: str, value: Any, out: dict[str, list[str]], depth: int) -> None:
    if isinstance(value, dict) and depth < _MAX_DEPTH:
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, out, depth + 1)
    elif isinstance(value, list) and depth < _MAX_DEPTH:
        for inner in value:
            _flatten(prefix, inner, out, depth + 1)
    elif isinstance(value, str):
        out.setdefault(prefix, []).append(value)
    elif value is None:
        out.setdefault(prefix, [])
    else:
        out.setdefault(prefix, []).append(json.dumps(value, ensure_ascii=False))
    if len(out) > MAX_FIELDS:
        raise PayloadTooLarge(f"form over {MAX_FIELDS} fields")


def json_fields(body: bytes) -> dict[str, list[str]]:
    """A JSON object as form fields; nested objects become `outer.inner` names."""
    try:
        data = json.loads(decode_text(body))
    except (ValueError, RecursionError) as exc:
        raise PayloadError(f"malformed JSON body: {exc}") from None
    if not isinstance(data, dict):
        raise PayloadError("the JSON body must be an object")
    fields: dict[str, list[str]] = {}
    _flatten("", data, fields, 0)
    return fields
