"""A real webhook receiver on 127.0.0.1 that verifies what it gets, written from the Standard Webhooks text."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

SECRET = "whsec_" + base64.b64encode(b"receiver-test-key-0123456789abcd").decode()


def verify(secret: str, headers: dict[str, str], body: bytes, *, now: float | None = None,
           tolerance_s: int = 300) -> bool:
    """The receiving side, written from the specification, not from the sender's code.

    The signed content is `{webhook-id}.{webhook-timestamp}.{body}`; the key is the base64 after
    `whsec_`; the header holds space-separated `v1,<base64 HMAC-SHA256>` entries; a timestamp
    further than the tolerance from now is refused (replay protection).
    """
    msg_id, ts = headers.get("webhook-id", ""), headers.get("webhook-timestamp", "")
    if not msg_id or not ts.isdigit():
        return False
    if abs((now if now is not None else time.time()) - int(ts)) > tolerance_s:
        return False
    key = base64.b64decode(secret.split("_", 1)[1]) if secret.startswith("whsec_") else secret.encode()
    expected = base64.b64encode(hmac.new(key, msg_id.encode() + b"." + ts.encode() + b"." + body,
                                         hashlib.sha256).digest())
    for entry in headers.get("webhook-signature", "").split(" "):
        version, _, sig = entry.partition(",")
        if version == "v1" and hmac.compare_digest(sig.encode(), expected):
            return True
    return False


@dataclass
class Receiver:
    url: str
    fail_first: int = 0  # answer 500 to this many requests, then 200
    status: int = 200
    secret: str = SECRET
    got: list[dict[str, Any]] = field(default_factory=list)

    @property
    def verified(self) -> list[bool]:
        return [g["verified"] for g in self.got]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver(url="")

    async def hook(request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        rec.got.append({"headers": headers, "body": body, "verified": verify(rec.secret, headers, body)})
        if len(rec.got) <= rec.fail_first:
            return web.Response(status=500, text="not yet")
        return web.Response(status=rec.status, text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    rec.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield rec
    finally:
        await runner.cleanup()
