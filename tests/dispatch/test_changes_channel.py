"""News that leads changed through a real redis-server, and what a Redis outage does to it: nothing lasting."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from redis import Redis

from gateway.dispatch.changes_channel import ChangesListener, changes_channel, publish_changes
from tests.conftest import RedisServer, make_settings, until


async def test_the_listener_outlives_a_redis_outage_and_hears_again(tmp_path: Path,
                                                                    redis_server: RedisServer) -> None:
    settings = make_settings(tmp_path, redis_url=redis_server.url, dispatch={"queue": f"q-{uuid.uuid4().hex[:6]}"})
    channel = changes_channel(settings).encode()
    heard: list[int] = []
    listener = ChangesListener(settings, [lambda: heard.append(1)])
    redis = Redis.from_url(redis_server.url, socket_connect_timeout=1)

    async def subscribed() -> bool:
        return bool(await asyncio.to_thread(lambda: dict(redis.pubsub_numsub(channel)).get(channel)))

    async def heard_news() -> bool:
        before = len(heard)
        await asyncio.to_thread(publish_changes, redis, settings, 3)
        return await until(lambda: asyncio.sleep(0.05, result=len(heard) > before), within_s=2)

    await listener.start()
    try:
        await until(subscribed)
        assert await heard_news()
        redis_server.kill()
        await asyncio.to_thread(publish_changes, redis, settings, 1)  # a worker during the outage: logged only
        await asyncio.sleep(1)  # the listener finds the connection gone and waits to try again
        redis_server.start()
        await until(subscribed)
        assert await heard_news()
    finally:
        await listener.stop()
        redis.close()
