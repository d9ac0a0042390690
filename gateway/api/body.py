"""Reading JSON bodies: 413 over the limit, 400 with the reason when malformed."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from gateway.core.errors import PayloadError, PayloadTooLarge
from gateway.http.keys import SETTINGS

__all__ = ["json_body", "json_response", "model_body"]

M = TypeVar("M", bound=BaseModel)


async def raw_body(request: web.Request) -> bytes:
    limit = request.app[SETTINGS].http.max_body_kb * 1024
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"body over {limit} bytes")
    data = bytearray()
    async for chunk in request.content.iter_chunked(1 << 16):
        data += chunk
        if len(data) > limit:
            raise PayloadTooLarge(f"body over {limit} bytes")
    return bytes(data)


async def json_body(request: web.Request, *, allow_empty: bool = False) -> Any:
    raw = await raw_body(request)
    if not raw.strip():
        if allow_empty:
            return {}
        raise PayloadError("empty body: a JSON object is expected")
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"malformed JSON: {exc}") from None


async def model_body(request: web.Request, model: type[M], *, allow_empty: bool = False) -> M:
    data = await json_body(request, allow_empty=allow_empty)
    if not isinstance(data, dict):
        raise PayloadError("a JSON object is expected")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise PayloadError(f"{where}: {first['msg']}") from None


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(data, ensure_ascii=False, default=str),
                        content_type="application/json")
