"""Egress: the one guarded way out to the network (httpx clients with timeouts, an SSRF guard, one retry policy).

* `guard_url()` refuses loopback, private, link-local, multicast and reserved addresses
  (a literal IP, or every address a name resolves to) unless private targets are allowed.
  Redirects are followed by hand so that each hop is checked.
* The connection goes to the address the guard checked, not to a second lookup of the name
  (which a rebinding DNS server could answer differently): the request's URL carries that
  address while its Host header and TLS server name (SNI, and so the certificate check) stay the name.
* `retrying()` is the tenacity policy for transient errors only (timeouts, connection
  errors, 5xx, 429), with jittered exponential backoff and `Retry-After` honoured.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import httpx
from tenacity import AsyncRetrying, RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_random_exponential

from gateway.core.errors import PermanentUpstreamError, TransientUpstreamError, UpstreamError

__all__ = [
    "AsyncOutboundClient",
    "OutboundClient",
    "OutboundPolicy",
    "guard_url",
    "raise_for_status",
]

Resolver = Callable[[str], list[str]]
MAX_REDIRECTS = 5


def _system_resolver(host: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return []
    return [str(info[4][0]) for info in infos]


def _forbidden(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
        or ip.is_reserved or ip.is_unspecified or not ip.is_global
    )


def guard_url(url: str | httpx.URL, *, allow_private: bool = False,
              resolver: Resolver = _system_resolver) -> str | None:
    """Raise PermanentUpstreamError when `url` would reach a forbidden address.

    Otherwise the address to connect to: the first one the name resolved to, every one of them checked
    (None for a literal IP, or a name the resolver does not know, which the transport cannot reach either).
    """
    u = httpx.URL(str(url))
    if u.scheme not in ("http", "https"):
        raise PermanentUpstreamError(f"outbound scheme not allowed: {u.scheme}")
    host = u.host
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        addresses = [ipaddress.ip_address(a.split("%")[0]) for a in resolver(host)]
    else:
        if not allow_private and _forbidden(literal):
            raise PermanentUpstreamError("outbound address not allowed", host=host)
        return None
    if not allow_private and any(_forbidden(ip) for ip in addresses):
        raise PermanentUpstreamError("outbound address not allowed", host=host)
    return str(addresses[0]) if addresses else None


@contextmanager
def _pinned(request: httpx.Request, address: str | None) -> Iterator[httpx.Request]:
    """The request sent to `address` (its Host header and TLS server name still the URL's host), then as it was."""
    if address is None:
        yield request
        return
    url = request.url
    request.url = url.copy_with(host=address)
    request.extensions = {**request.extensions, "sni_hostname": url.host}
    try:
        yield request
    finally:
        request.url = url  # the response's URL (and a redirect's base) is the name, not the address


@dataclass(frozen=True, slots=True)
class OutboundPolicy:
    timeout_s: float = 30.0
    attempts: int = 4
    backoff_max_s: float = 30.0
    allow_private: bool = False


def raise_for_status(response: httpx.Response) -> httpx.Response:
    """Translate an HTTP error status into our error tree (transient or permanent)."""
    code = response.status_code
    if code < 400:
        return response
    if code == 429 or code >= 500:
        retry_after = _retry_after(response)
        raise TransientUpstreamError(f"upstream answered {code}", retry_after=retry_after, status=code)
    raise PermanentUpstreamError(f"upstream answered {code}", status=code, body=response.text[:500])


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _wait(policy: OutboundPolicy) -> Callable[[RetryCallState], float]:
    jitter = wait_random_exponential(multiplier=0.5, max=policy.backoff_max_s)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, TransientUpstreamError) and exc.retry_after is not None:
            return min(exc.retry_after, policy.backoff_max_s)
        return jitter(state)

    return wait


def _translate(exc: httpx.HTTPError) -> UpstreamError:
    if isinstance(exc, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError):
        return TransientUpstreamError(f"upstream unreachable: {exc.__class__.__name__}")
    return PermanentUpstreamError(f"upstream request failed: {exc.__class__.__name__}")


class OutboundClient:
    """Synchronous client for workers (recordings, media)."""

    def __init__(self, policy: OutboundPolicy | None = None, *, resolver: Resolver = _system_resolver,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.policy = policy or OutboundPolicy()
        self._resolver = resolver
        self._client = httpx.Client(timeout=self.policy.timeout_s, follow_redirects=False, transport=transport)

    def retrying(self) -> Retrying:
        return Retrying(
            retry=retry_if_exception_type(TransientUpstreamError),
            stop=stop_after_attempt(self.policy.attempts),
            wait=_wait(self.policy),
            reraise=True,
        )

    def send_once(self, method: str, url: str, *, stream: bool = False, **kwargs: Any) -> httpx.Response:
        """One request, redirects followed hop by hop through the guard; no retry.

        With `stream`, the body of the final answer is not read: iterate it and close the response.
        """
        for _ in range(MAX_REDIRECTS + 1):
            address = guard_url(url, allow_private=self.policy.allow_private, resolver=self._resolver)
            try:
                with _pinned(self._client.build_request(method, url, **kwargs), address) as request:
                    response = self._client.send(request, stream=stream)
            except httpx.HTTPError as exc:
                raise _translate(exc) from exc
            if response.is_redirect and "location" in response.headers:
                response.close()
                url = urljoin(str(response.url), response.headers["location"])
                method, kwargs = "GET", {k: v for k, v in kwargs.items() if k in ("headers", "timeout")}
                continue
            return response
        raise PermanentUpstreamError("too many redirects")

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """A request retried on transient errors only; error statuses raised as ours."""
        for attempt in self.retrying():
            with attempt:
                return raise_for_status(self.send_once(method, url, **kwargs))
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._client.close()


class AsyncOutboundClient:
    """Asynchronous client for the HTTP process (operator replies, webhooks)."""

    def __init__(self, policy: OutboundPolicy | None = None, *, resolver: Resolver = _system_resolver,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.policy = policy or OutboundPolicy()
        self._resolver = resolver
        self._client = httpx.AsyncClient(timeout=self.policy.timeout_s, follow_redirects=False, transport=transport)

    def retrying(self) -> AsyncRetrying:
        return AsyncRetrying(
            retry=retry_if_exception_type(TransientUpstreamError),
            stop=stop_after_attempt(self.policy.attempts),
            wait=_wait(self.policy),
            reraise=True,
        )

    async def send_once(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        for _ in range(MAX_REDIRECTS + 1):
            address = guard_url(url, allow_private=self.policy.allow_private, resolver=self._resolver)
            try:
                with _pinned(self._client.build_request(method, url, **kwargs), address) as request:
                    response = await self._client.send(request)
            except httpx.HTTPError as exc:
                raise _translate(exc) from exc
            if response.is_redirect and "location" in response.headers:
                url = urljoin(str(response.url), response.headers["location"])
                method, kwargs = "GET", {k: v for k, v in kwargs.items() if k in ("headers", "timeout")}
                continue
            return response
        raise PermanentUpstreamError("too many redirects")

    async def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async for attempt in self.retrying():
            with attempt:
                return raise_for_status(await self.send_once(method, url, **kwargs))
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        await self._client.aclose()
