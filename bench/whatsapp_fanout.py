"""What one signed WhatsApp delivery of many statuses stores: bytes of bodies against the body's own size.

    .venv/bin/python bench/whatsapp_fanout.py [--statuses 3000]

The delivery has the attack run's shape (short `read` statuses, about 90 bytes each). The edge runs as the
gateway runs it (`WhatsAppConnector.receive`), and the events it would store are weighed; the baseline is
the body itself, and "a copy per part" is what storing the whole body on each part would have cost.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from gateway.config import Settings
from gateway.connectors.base import InboundRequest
from gateway.connectors.messengers.whatsapp import WhatsAppConnector

SECRET = "bench-app-secret"


def delivery(statuses: int) -> bytes:
    items = [{"id": f"wamid.HBgL{i:08d}", "status": "read", "timestamp": "1767261900", "recipient_id": "79161234567"}
             for i in range(statuses)]
    value = {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "74950000000",
                                                           "phone_number_id": "106540352242922"},
             "statuses": items}
    note = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
        {"field": "messages", "value": value}]}]}
    return json.dumps(note, separators=(",", ":")).encode()


async def weigh(statuses: int) -> None:
    settings = Settings(messengers={"whatsapp": [{"account": "bench", "verify_token": "v", "app_secret": SECRET,
                                                  "phone_number_id": "106540352242922", "max_parts": 50_000}]})
    body = delivery(statuses)

    async def read() -> bytes:
        return body

    async def stream() -> AsyncIterator[bytes]:
        yield body

    request = InboundRequest(
        method="POST", path="/hooks/whatsapp/bench", match={"account": "bench"},
        headers={"X-Hub-Signature-256": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()},
        query={}, remote="127.0.0.1", content_type="application/json", content_length=len(body), read=read,
        stream=stream, received_at=datetime.now(UTC))
    outcome = await WhatsAppConnector(settings).receive(request)
    stored = sum(len(e.body) for e in outcome.events)
    copies = statuses * len(body)
    print(f"body: {len(body):,} bytes, {statuses:,} statuses")
    print(f"stored: {len(outcome.events):,} events, {stored:,} bytes of bodies = {stored / len(body):.2f}x the body")
    print(f"a copy per part would be {copies:,} bytes = {statuses:,}x; now {copies / stored:,.0f}x less")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statuses", type=int, default=3000)
    asyncio.run(weigh(parser.parse_args().statuses))


if __name__ == "__main__":
    main()
