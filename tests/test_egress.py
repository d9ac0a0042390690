"""The outbound guard connects to the address it checked, never to a second answer of the DNS (rebinding)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from gateway.core.errors import TransientUpstreamError
from gateway.egress import AsyncOutboundClient, OutboundClient, OutboundPolicy


class Rebinding:
    """A DNS that answers `first` once, then `later` (what a rebinding attacker's server does)."""

    def __init__(self, first: str, later: str) -> None:
        self.answers = [first, later]
        self.asked: list[str] = []

    def __call__(self, host: str) -> list[str]:
        self.asked.append(host)
        return [self.answers[min(len(self.asked), 2) - 1]]


@pytest.fixture
async def origin() -> AsyncIterator[tuple[int, list[str]]]:
    """A plain HTTP server on 127.0.0.1: the Host header of each request it gets."""
    hosts: list[str] = []

    async def ping(request: web.Request) -> web.Response:
        hosts.append(request.headers["Host"])
        return web.Response(text="pong")

    async def go(request: web.Request) -> web.Response:
        hosts.append(request.headers["Host"])
        raise web.HTTPFound("/ping")

    app = web.Application()
    app.router.add_get("/ping", ping)
    app.router.add_get("/go", go)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield site._server.sockets[0].getsockname()[1], hosts  # type: ignore[union-attr]
    finally:
        await runner.cleanup()


async def test_the_connection_goes_to_the_first_answer_with_the_name_as_host(origin: tuple[int, list[str]]) -> None:
    port, hosts = origin
    policy = OutboundPolicy(allow_private=True, attempts=1, timeout_s=10)
    dns = Rebinding("127.0.0.1", "10.255.255.1")  # the second answer leads nowhere
    client = AsyncOutboundClient(policy, resolver=dns)
    try:
        resp = await client.request("GET", f"http://api.rebind.test:{port}/ping")
    finally:
        await client.aclose()
    assert resp.text == "pong" and resp.url.host == "api.rebind.test"
    assert hosts == [f"api.rebind.test:{port}"] and dns.asked == ["api.rebind.test"]

    sync_dns = Rebinding("127.0.0.1", "10.255.255.1")
    sync = OutboundClient(policy, resolver=sync_dns)
    try:
        answer = await asyncio.to_thread(sync.request, "GET", f"http://api.rebind.test:{port}/ping")
    finally:
        sync.close()
    assert answer.text == "pong" and sync_dns.asked == ["api.rebind.test"]


async def test_a_relative_redirect_stays_with_the_name(origin: tuple[int, list[str]]) -> None:
    port, hosts = origin
    client = AsyncOutboundClient(OutboundPolicy(allow_private=True, attempts=1, timeout_s=10),
                                 resolver=lambda host: ["127.0.0.1"])
    try:
        resp = await client.request("GET", f"http://api.rebind.test:{port}/go")
    finally:
        await client.aclose()
    assert resp.text == "pong" and str(resp.url) == f"http://api.rebind.test:{port}/ping"
    assert hosts == [f"api.rebind.test:{port}"] * 2


class Recording(httpx.AsyncBaseTransport):
    """Where the connection would go: the request as the transport gets it (then no route to it)."""

    def __init__(self) -> None:
        self.seen: list[tuple[httpx.URL, str, object]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.url, request.headers["Host"], request.extensions.get("sni_hostname")))
        raise httpx.ConnectError("no route in this test", request=request)


async def test_a_checked_public_answer_is_where_the_connection_goes_not_a_later_private_one() -> None:
    dns = Rebinding("93.184.216.34", "127.0.0.1")
    transport = Recording()
    client = AsyncOutboundClient(OutboundPolicy(allow_private=False, attempts=1), resolver=dns, transport=transport)
    with pytest.raises(TransientUpstreamError):
        await client.request("POST", "https://hooks.rebind.test/in", json={"a": 1})
    await client.aclose()
    [(url, host, sni)] = transport.seen
    assert url.host == "93.184.216.34" and url.path == "/in" and host == "hooks.rebind.test"
    assert sni == "hooks.rebind.test"  # the TLS server name, and so the certificate, is checked for the name
    assert dns.asked == ["hooks.rebind.test"]
