"""Signed requests to Mango's VPBX API (gateway → Mango), paced by a per-process limiter."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import httpx

from gateway.config.mango import MangoSettings
from gateway.connectors.telephony.mango.signature import signed_form
from gateway.core.errors import PermanentUpstreamError, TransientUpstreamError

__all__ = ["LOCKOUT_SECONDS", "LockoutGuard", "RateLimiter", "VpbxClient", "raise_for_mango", "result_code"]

LOCKOUT_SECONDS = 120.0  # Mango blocks a key for 2 minutes after invalid requests (§1.4.1)


class RateLimiter:
    """At most `calls` calls per `per` seconds in this process: `acquire()` waits for a slot."""

    def __init__(self, calls: int, per: float = 1.0, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._slots = max(1, calls)
        self._per = per
        self._clock = clock
        self._sleep = sleep
        self._calls: deque[float] = deque()
        self._lock = threading.Lock()

    @classmethod
    def per_second(cls, rate: float, **kwargs: Any) -> RateLimiter:
        """`10` → 10 calls a second; `0.5` → one call every 2 seconds."""
        return cls(int(rate), 1.0, **kwargs) if rate >= 1 else cls(1, 1.0 / rate, **kwargs)

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = self._clock()
                while self._calls and now - self._calls[0] >= self._per:
                    self._calls.popleft()
                if len(self._calls) < self._slots:
                    self._calls.append(now)
                    return
                wait = self._per - (now - self._calls[0])
            self._sleep(max(wait, 0.001))


class LockoutGuard:
    """Mango locks a key out after more than one 3xxx answer in 2 minutes: after one, hold back."""

    def __init__(self, window: float = LOCKOUT_SECONDS, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._window = window
        self._clock = clock
        self._last_invalid: float | None = None
        self._lock = threading.Lock()

    def check(self) -> None:
        """Raise TransientUpstreamError (an attempt used) while a recent 3xxx answer is in the window."""
        with self._lock:
            if self._last_invalid is None:
                return
            left = self._window - (self._clock() - self._last_invalid)
        if left > 0:
            raise TransientUpstreamError("holding back after an invalid-request answer", retry_after=left)

    def record(self, code: int | None) -> None:
        if code is not None and 3000 <= code < 4000:
            with self._lock:
                self._last_invalid = self._clock()


def is_file(response: httpx.Response) -> bool:
    """A 200 whose content is not Mango's JSON or text: the recording itself."""
    ctype = response.headers.get("content-type", "").lower()
    return response.status_code == 200 and not ctype.startswith(("application/json", "text/"))


def result_code(response: httpx.Response) -> int | None:
    """Mango's `result` code from a JSON answer, if there is one."""
    if "json" not in response.headers.get("content-type", "") and not response.content.lstrip().startswith(b"{"):
        return None
    try:
        data = response.json()
    except ValueError:
        return None
    result = data.get("result") if isinstance(data, dict) else None
    try:
        return int(result) if result is not None else None
    except (TypeError, ValueError):
        return None


def raise_for_mango(response: httpx.Response, what: str) -> None:
    """Translate HTTP statuses and Mango result codes; never retry a 3xxx (it risks a lockout)."""
    status, code = response.status_code, result_code(response)
    if status == 429 or code == 4290:
        raise TransientUpstreamError(f"{what}: rate limited", retry_after=_retry_after(response) or 1.0)
    if status == 401:
        raise TransientUpstreamError(f"{what}: key locked out", retry_after=LOCKOUT_SECONDS, status=401)
    if status >= 500 or (code is not None and code >= 5000):
        raise TransientUpstreamError(f"{what}: upstream {status}/{code}", retry_after=_retry_after(response))
    if code is not None and code != 1000 and code != 1001:
        raise PermanentUpstreamError(f"{what}: Mango result {code}", status=status, result=code)
    if status >= 400:
        raise PermanentUpstreamError(f"{what}: upstream answered {status}", status=status)


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers["retry-after"]))
    except (KeyError, ValueError):
        return None


class VpbxClient:
    """POSTs signed forms to `{api_url}{path}` through the gateway's outbound client."""

    def __init__(self, conf: MangoSettings, http: Any, limiter: RateLimiter | None = None,
                 guard: LockoutGuard | None = None) -> None:
        self.conf = conf
        self._http = http
        self._limiter = limiter
        self._guard = guard

    def post(self, path: str, payload: dict[str, Any], limiter: RateLimiter | None = None, *,
             stream: bool = False) -> httpx.Response:
        """One signed request, redirects followed; the caller judges the answer.

        With `stream`, a file answer is left unread (the caller iterates and closes it); any other answer
        is read, as without.
        """
        if self._guard is not None:
            self._guard.check()
        gate = limiter or self._limiter
        if gate is not None:
            gate.acquire()
        form = signed_form(self.conf.api_key, self.conf.api_salt, payload)
        url = self.conf.base_url() + path.lstrip("/")
        response: httpx.Response = self._http.send_once("POST", url, data=form, stream=stream) if stream \
            else self._http.send_once("POST", url, data=form)
        if stream and is_file(response):
            return response
        if stream:
            response.read()
        if self._guard is not None:
            self._guard.record(result_code(response))
        return response

    def query(self, path: str, payload: dict[str, Any], limiter: RateLimiter | None = None) -> httpx.Response:
        """A signed request whose error answers are raised as ours."""
        response = self.post(path, payload, limiter)
        raise_for_mango(response, path)
        return response
