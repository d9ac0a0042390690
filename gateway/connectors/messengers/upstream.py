"""Calls to a provider's API through the outbound clients, with its own reading of errors.

Inside `process()` a call is made once: a transient failure propagates, and the event log
retries the event with backoff (one layer retries). An operator's reply is sent through the
async client's retry policy, since somebody is waiting for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from gateway.outbound import AsyncOutboundClient, OutboundClient, raise_for_status

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


def download(http: OutboundClient, url: str, **kwargs: Any) -> bytes:
    """The bytes at `url` (one attempt; redirects checked hop by hop by the SSRF guard)."""
    return raise_for_status(http.send_once("GET", url, **kwargs)).content
