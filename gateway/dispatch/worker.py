"""`gateway worker`: an rq worker for batch jobs, with a sweeper thread beside it."""

from __future__ import annotations

import os
import threading

import structlog
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker
from sqlalchemy import make_url

from gateway.config import Settings
from gateway.core.errors import ConfigError
from gateway.dispatch.rq_dispatch import sweep_once
from gateway.heap import settle
from gateway.store.bootstrap import bootstrap
from gateway.store.db import make_engine

__all__ = ["reachable_redis", "run_worker"]

log = structlog.get_logger(__name__)


def _sweeper(settings: Settings, stop: threading.Event) -> None:
    engine = make_engine(settings.database_url, synchronous=settings.sqlite_synchronous, pool_size=1)
    redis = Redis.from_url(settings.redis_url or "")
    while not stop.wait(settings.dispatch.sweep_seconds):
        try:
            sweep_once(settings, engine, redis)
        except Exception:
            log.warning("sweeper.failed", exc_info=True)


def reachable_redis(url: str) -> Redis:
    """A Redis client that has answered a PING, or ConfigError in one line naming the cause and the fix."""
    redis = Redis.from_url(url)
    try:
        redis.ping()
    except RedisError as exc:
        shown = make_url(url).render_as_string(hide_password=True)
        raise ConfigError(f"config error: redis_url: cannot reach Redis at {shown} ({exc}); start Redis there, or "
                          "unset GATEWAY_REDIS_URL and let `gateway serve` process events itself") from None
    return redis


def run_worker(settings: Settings, *, burst: bool = False) -> int:
    """Run jobs until stopped; with `burst`, enqueue what is due and drain it, then exit."""
    os.nice(settings.dispatch.worker_nice)  # acknowledgements first where the server shares the machine
    engine = make_engine(settings.database_url, synchronous=settings.sqlite_synchronous, pool_size=1)
    bootstrap(engine, settings)
    redis = reachable_redis(settings.redis_url or "")
    queue = Queue(settings.dispatch.queue, connection=redis)
    stop = threading.Event()
    if burst:
        while sweep_once(settings, engine, redis) or queue.count:
            SimpleWorker([queue], connection=redis).work(burst=True, logging_level="WARNING")
        return 0
    from gateway.dispatch.jobs import warm_up

    warm_up(settings)  # the first job after a start would otherwise build the runtime while events wait
    settle()
    sweeper = threading.Thread(target=_sweeper, args=(settings, stop), name="sweeper", daemon=True)
    sweeper.start()
    try:
        SimpleWorker([queue], connection=redis).work(logging_level="WARNING", with_scheduler=False)
    finally:
        stop.set()
    return 0
