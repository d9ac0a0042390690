"""Calls to a provider's API through the outbound clients, with its own reading of errors.

Inside `process()` a call is made once: a transient failure propagates, and the event log
retries the event with backoff (one layer retries). An operator's reply is sent through the
async client's retry policy, since somebody is waiting for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from gateway.egress import AsyncOutboundClient, OutboundClient, raise_for_status

__all__ = ["call", "call_once", "download"]

T = TypeVar("T")
Check = Callable[[httpx.Response], T]


def call_once(http: OutboundClient, method: str, url: str, check: Check[T], **kwargs: Any) -> T:
    """One request; `check` turns the answer into a result or one of our errors."""
    return check(http.send_once(method, url, **kwargs))


async def call(http: AsyncOutboundClient, method: str, url: str, check: Check[T], **kwargs: Any) -> T:
    """A request retried on transient errors only (the client's policy)."""
    async for attempt in http.retrying():
        with attempt:
            return check(await http.send_once(method, url, **kwargs))
    raise AssertionError("unreachable")


def download(http: OutboundClient, url: str, *, limit: int | None = None, **kwargs: Any) -> bytes:
    """The bytes at `url` (one attempt; redirects checked hop by hop by the SSRF guard).

    With `limit`, reading stops one chunk past it: the caller sees more than `limit` bytes and records
    the file as omitted, and memory never holds much more than the limit.
    """
    response = http.send_once("GET", url, stream=True, **kwargs)
    try:
        if response.status_code >= 400:
            response.read()
        raise_for_status(response)
        data = bytearray()
        for chunk in response.iter_bytes(1 << 16):
            data += chunk
            if limit is not None and len(data) > limit:
                break
        return bytes(data)
    finally:
        response.close()
