"""amoCRM authorisation: a long-lived token, or OAuth 2.0 access tokens refreshed with the refresh token.

`POST {account}/oauth2/access_token` with `grant_type=refresh_token` answers a new access token *and*
a new refresh token; the old refresh token stops working. The pair is stored (every process reads
the newest); when two processes refresh at once, the one whose refresh token was already used
is refused and reads the pair the other one stored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from gateway.config.sinks import AmoCrmSettings
from gateway.core.errors import PermanentUpstreamError, TransientUpstreamError, UpstreamError
from gateway.egress import AsyncOutboundClient
from gateway.sinks.tokens import TokenKeeper, TokenPair

__all__ = ["AmoAuth"]

log = structlog.get_logger(__name__)
EARLY = timedelta(minutes=2)  # refresh a little before the token expires


class AmoAuth:
    def __init__(self, settings: AmoCrmSettings, http: AsyncOutboundClient, tokens: TokenKeeper, *,
                 pace: Callable[[], Awaitable[None]],
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.s, self.http, self.tokens, self.pace, self.clock = settings, http, tokens, pace, clock
        self._pair: TokenPair | None = None

    async def header(self) -> str:
        if not self.s.oauth:
            return f"Bearer {self.s.token}"
        pair = self._pair or await self.tokens.load()
        if pair is None and self.s.token:  # a first access token given with the OAuth settings
            pair = TokenPair(self.s.token, self.s.refresh_token or "", self.clock() + timedelta(hours=1))
            await self.tokens.save(pair, replaces=None)
        if pair is None or pair.expires_at - EARLY <= self.clock():
            pair = await self.refresh(pair)
        self._pair = pair
        return f"Bearer {pair.access_token}"

    async def refreshed_after_refusal(self) -> bool:
        """A 401: refresh once (OAuth only). False when there is nothing to refresh."""
        if not self.s.oauth:
            return False
        self._pair = await self.refresh(self._pair or await self.tokens.load())
        return True

    async def refresh(self, stale: TokenPair | None) -> TokenPair:
        used = stale.refresh_token if stale else self.s.refresh_token
        await self.pace()
        try:
            resp = await self.http.send_once("POST", f"{self.s.root()}/oauth2/access_token", json={
                "client_id": self.s.client_id, "client_secret": self.s.client_secret,
                "grant_type": "refresh_token", "refresh_token": used, "redirect_uri": self.s.redirect_uri})
        except UpstreamError as exc:
            raise TransientUpstreamError(f"amoCRM: обновить токен не удалось ({exc.message})") from None
        if resp.status_code >= 500 or resp.status_code == 429:
            raise TransientUpstreamError(f"amoCRM: обновить токен не удалось (ответ {resp.status_code})")
        if resp.status_code != 200:
            return await self._refused(used, resp.status_code)
        pair = self._pair_of(resp.json())
        if not await self.tokens.save(pair, replaces=stale.refresh_token if stale else None):
            newer = await self.tokens.load()  # another process refreshed meanwhile: theirs is the pair
            pair = newer or pair
        log.info("sink.token_refreshed", sink=self.s.name)
        self._pair = pair
        return pair

    async def _refused(self, used: str | None, status: int) -> TokenPair:
        current = await self.tokens.load()
        if current is not None and current.refresh_token != used:
            self._pair = current  # ours was already spent by another process, which stored the new pair
            return current
        raise PermanentUpstreamError(
            f"amoCRM не приняла refresh_token (ответ {status}): переподключите интеграцию и укажите новый "
            "refresh_token в настройках", status=status)

    def _pair_of(self, data: Any) -> TokenPair:
        try:
            return TokenPair(str(data["access_token"]), str(data["refresh_token"]),
                             self.clock() + timedelta(seconds=int(data.get("expires_in") or 86400)))
        except (KeyError, TypeError, ValueError):
            raise TransientUpstreamError("amoCRM: ответ на обновление токена без токенов") from None
