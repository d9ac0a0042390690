"""Adapt connectors' framework-neutral edge handlers to aiohttp routes."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

from aiohttp import web
from aiohttp.typedefs import Handler

from gateway.connectors.base import InboundRequest, Reply, Route
from gateway.core.errors import PayloadTooLarge
from gateway.http.keys import WRITER

__all__ = ["client_ip", "connector_routes", "is_trusted", "to_response"]


def is_trusted(addr: str | None, trusted_proxies: Sequence[str]) -> bool:
    """Whether `addr` is one of the configured proxies (addresses or networks)."""
    try:
        ip = ipaddress.ip_address((addr or "").strip())
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(p, strict=False) for p in trusted_proxies)


def client_ip(request: web.Request, trusted_proxies: Sequence[str]) -> str | None:
    """The peer address, or the first untrusted hop of X-Forwarded-For when the peer is a trusted proxy."""
    peer = request.remote
    if not peer or not trusted_proxies or not is_trusted(peer, trusted_proxies):
        return peer
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not is_trusted(hop, trusted_proxies):
            return hop
    return hops[0] if hops else peer


async def _read_limited(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"body over {limit} bytes")
    if request.content_length is not None and "Content-Encoding" not in request.headers \
            and request.content_length <= request.client_max_size:
        return await request.read()  # a declared, plain body within both limits: one read
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _stream(request: web.Request, limit: int) -> AsyncIterator[bytes]:
    async def gen() -> AsyncIterator[bytes]:
        if request.content_length is not None and request.content_length > limit:
            raise PayloadTooLarge(f"body over {limit} bytes")
        size = 0
        async for chunk in request.content.iter_chunked(1 << 16):
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"body over {limit} bytes")
            yield chunk
    return gen()


def to_response(reply: Reply) -> web.Response:
    body = reply.body.encode() if isinstance(reply.body, str) else reply.body
    if not body and reply.status == 204:
        return web.Response(status=204, headers=reply.headers)
    charset = reply.charset
    if not any(name.lower() == "content-type" for name in reply.headers):
        # the type given to the constructor: a third of the cost of setting it afterwards, per request
        return web.Response(status=reply.status, body=body, headers=reply.headers or None,
                            content_type=reply.content_type, charset=charset)
    resp = web.Response(status=reply.status, body=body, headers=reply.headers)
    resp.content_type = reply.content_type
    if charset:
        resp.charset = charset
    return resp


def _handler(route: Route, trusted_proxies: Sequence[str]) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        inbound = InboundRequest(
            method=request.method, path=request.path, match=dict(request.match_info), headers=request.headers,
            query=request.query, remote=client_ip(request, trusted_proxies), content_type=request.content_type,
            content_length=request.content_length, read=lambda: _read_limited(request, route.max_body_bytes),
            stream=lambda: _stream(request, route.max_body_bytes), received_at=datetime.now(UTC),
        )
        outcome = await route.handler(inbound)
        try:
            stored = await request.app[WRITER].store(outcome.events)
        finally:
            if outcome.cleanup is not None:
                outcome.cleanup()
        return to_response(outcome.build_reply([event_id for event_id, _ in stored]))

    return handle


def connector_routes(routes: Sequence[Route], trusted_proxies: Sequence[str]) -> list[web.RouteDef]:
    return [web.route(r.method, r.path, _handler(r, trusted_proxies), name=r.name) for r in routes]
