"""News that leads changed, from `gateway worker` processes to every `gateway serve`, by Redis pub/sub.

A worker publishes on the queue's channel after a batch that changed leads; each server subscribes for
its lifetime and tells its listeners (the live page's poller). Pub/sub keeps nothing, and needs
nothing kept: a message lost while Redis or the subscription is down only waits for the poller's own
poll. So a Redis outage is logged at warning, never raised: the worker goes on processing, the
server subscribes again with backoff.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog
from redis import Redis
from redis.asyncio import Redis as AsyncRedis
from redis.exceptions import RedisError

from gateway.config import Settings

__all__ = ["ChangesListener", "changes_channel", "publish_changes"]

log = structlog.get_logger(__name__)
FIRST_RETRY_S, LAST_RETRY_S = 0.5, 30.0


def changes_channel(settings: Settings) -> str:
    """The channel of one deployment: named after its queue, as its workers and servers share that."""
    return f"{settings.dispatch.queue}:leads-changed"


def publish_changes(redis: Redis, settings: Settings, leads: int) -> None:
    """Say that `leads` leads changed; a Redis error is logged, not raised (the servers also poll)."""
    try:
        redis.publish(changes_channel(settings), str(leads))
    except RedisError as exc:
        log.warning("live.publish_failed", error=str(exc))


class ChangesListener:
    """While started, subscribes to the channel and calls each of `listeners` on the event loop per message."""

    def __init__(self, settings: Settings, listeners: list[Callable[[], None]]) -> None:
        self.url, self.channel, self.listeners = settings.redis_url or "", changes_channel(settings), listeners
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="leads-changed-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    def _tell(self) -> None:
        for listener in self.listeners:
            listener()

    async def _run(self) -> None:
        delay = FIRST_RETRY_S
        while True:
            client = AsyncRedis.from_url(self.url, socket_connect_timeout=5)
            try:
                async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self.channel)
                    delay = FIRST_RETRY_S
                    self._tell()  # news may have been missed while not subscribed
                    async for _ in pubsub.listen():
                        self._tell()
            except (RedisError, OSError) as exc:
                log.warning("live.subscribe_failed", channel=self.channel, error=str(exc), retry_in_s=delay)
            finally:
                await client.aclose()
            await asyncio.sleep(delay)
            delay = min(2 * delay, LAST_RETRY_S)
