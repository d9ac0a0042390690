"""`gateway deliver`: only the outbox runner, so that outbound work scales over several processes.

Every `gateway serve` runs a runner too; more `gateway deliver` processes (on any machine, over one
PostgreSQL) share the outbox under leases: each job is performed by one of them at a time.
`--burst` performs what is due now and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Sequence

import structlog

from gateway.config import Settings, load_settings
from gateway.delivery.registry import build_performers
from gateway.delivery.runner import OutboxRunner
from gateway.egress import AsyncOutboundClient
from gateway.options import config_option
from gateway.store.bootstrap import bootstrap
from gateway.store.database import Database
from gateway.store.db import make_engine

__all__ = ["deliver", "main"]

log = structlog.get_logger(__name__)


async def deliver(settings: Settings, *, burst: bool = False, stop: asyncio.Event | None = None) -> int:
    """Run the runner until `stop` is set (or, with `burst`, until nothing is due); how many jobs it claimed."""
    engine = make_engine(settings.database_url, synchronous=settings.sqlite_synchronous, pool_size=10)
    await asyncio.to_thread(bootstrap, engine, settings)
    db = Database(engine)
    http = AsyncOutboundClient(settings.http.outbound_policy())
    runner = OutboxRunner(db, build_performers(settings, http, db))
    claimed = 0
    try:
        if burst:
            while n := await runner.run_once():
                claimed += n
            return claimed
        stop = stop or asyncio.Event()
        runner.start()
        log.info("deliver.started", kinds=sorted(runner.performers))
        await stop.wait()
        return claimed
    finally:
        await runner.stop()
        await http.aclose()
        db.close()
        engine.dispose()


def main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="gateway deliver", parents=[config_option()], description=(
        "Perform outbound jobs from the outbox (webhooks, deliveries to other CRMs, PBX commands, mail replies) "
        "in a process of their own. Every `gateway serve` performs them too; run more of these to share the work."))
    p.add_argument("--burst", action="store_true", help="perform what is due now, then exit")
    args = p.parse_args(list(argv))
    from gateway.logs import configure_logging

    settings = load_settings(getattr(args, "config", None))
    configure_logging(settings.log_format, settings.log_level)
    import uvloop

    async def run() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        return await deliver(settings, burst=args.burst, stop=stop)

    claimed = uvloop.run(run())
    if args.burst:
        print(f"performed {claimed} job(s)")
    return 0
