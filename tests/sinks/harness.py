"""A gateway without HTTP for sink tests: leads stored through the real pipeline, the real outbox runner."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import select

from gateway.config import Settings
from gateway.connectors.base import NewEvent
from gateway.connectors.telephony.mango.edge import event_key
from gateway.delivery.registry import build_performers
from gateway.delivery.runner import OutboxRunner
from gateway.dispatch.runtime import Runtime, build_runtime
from gateway.egress import AsyncOutboundClient
from gateway.store import event_log
from gateway.store.bootstrap import bootstrap
from gateway.store.database import Database
from gateway.store.db import make_engine
from gateway.store.schema import leads, outbox, users
from gateway.store.users import create_user
from gateway.store.views import lead_json
from tests.conftest import make_settings
from tests.connectors.telephony.mango.mango_support import TEST_KEY, TEST_SALT, load

STRAIGHT = "Прямо в работу"  # the source our routing sends straight to the stage "Лид"
FAST = [0.05, 0.05, 0.05, 0.05]  # test backoff: the 1st, 2nd... retries come at once


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """A fake remote on a free port; its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def sink_settings(tmp_path: Path, database_url: str, **sinks: Any) -> Settings:
    return make_settings(
        tmp_path, database_url=database_url, sinks=sinks,
        http={"allow_private_outbound": True, "outbound_timeout_seconds": 1.0},
        telephony={"mango": [{"account": "main", "api_key": TEST_KEY, "api_salt": TEST_SALT,
                              "lines": {"74951234567": "Яндекс.Директ"}, "extensions": {"101": "ivanov"},
                              "fetch_recordings": False}]},
        messengers={"telegram": [{"bot": "sales_bot", "token": "123456:ABC", "secret_token": "tg-secret",
                                  "api_url": "http://127.0.0.1:9/"}]},
        routing=[{"source": STRAIGHT, "pipeline": "Продажи", "stage": "Лид"}])


@dataclass
class Harness:
    settings: Settings
    runtime: Runtime
    db: Database
    http: AsyncOutboundClient
    runner: OutboxRunner

    # --- leads through the pipeline -------------------------------------------------------------
    def store(self, events: list[NewEvent]) -> list[int]:
        """Store events and process them; the leads they made."""
        with self.runtime.engine.begin() as conn:
            ids = [i for i, _ in event_log.append(conn, events)]
        while self.runtime.processor.run_batch("test").claimed:
            pass
        with self.runtime.engine.connect() as conn:
            found = [event_log.get(conn, i) for i in ids]
        return [lead for ev in found if ev for lead in (ev["result"] or {}).get("leads", [])]

    def manual(self, **fields: Any) -> int:
        [lead_id] = self.store([NewEvent(connector="manual", account="tester", key=uuid.uuid4().hex, name="lead",
                                         body=json.dumps(fields).encode(), received_at=datetime.now(UTC))])
        return lead_id

    def mango(self, scenario: str, only: list[str] | None = None) -> list[int]:
        events = []
        for d in load(scenario):
            if only is not None and d.id not in only:
                continue
            data = json.loads(d.json)
            events.append(NewEvent(connector="mango", account="main", key=event_key(d.event, data, d.json),
                                   name=d.event, group_key=data.get("entry_id"), body=d.json.encode(),
                                   received_at=datetime.now(UTC)))
        return self.store(events)

    def lead_by_key(self, key_part: str) -> int:
        with self.runtime.engine.connect() as conn:
            found = conn.execute(select(leads.c.id).where(leads.c.key.like(f"%{key_part.split(':')[-1]}%"))).scalar()
        assert found is not None, key_part
        return int(found)

    def lead(self, lead_id: int) -> dict[str, Any]:
        with self.runtime.engine.connect() as conn:
            found = lead_json(conn, lead_id)
        assert found is not None
        return found

    def jobs(self, **where: Any) -> list[dict[str, Any]]:
        with self.runtime.engine.connect() as conn:
            q = select(outbox)
            for k, v in where.items():
                q = q.where(outbox.c[k] == v)
            return [dict(r) for r in conn.execute(q.order_by(outbox.c.created_at)).mappings()]

    # --- the runner -----------------------------------------------------------------------------
    async def drain(self, within_s: float = 10.0) -> None:
        """Run the runner until nothing is pending or sending (waiting jobs included), or time is up."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while loop.time() < deadline:
            await self.runner.run_once()
            if not [j for j in self.jobs() if j["status"] in ("pending", "sending")]:
                return
            await asyncio.sleep(0.05)


@asynccontextmanager
async def harness(settings: Settings) -> AsyncIterator[Harness]:
    engine = make_engine(settings.database_url, synchronous=settings.sqlite_synchronous, pool_size=10)
    bootstrap(engine, settings)
    with engine.begin() as conn:
        if not conn.execute(select(users.c.id).where(users.c.name == "ivanov")).first():
            create_user(conn, "ivanov", "manager", extension="101")
    runtime = build_runtime(settings, engine=engine)
    db = Database(engine)
    http = AsyncOutboundClient(settings.http.outbound_policy())
    runner = OutboxRunner(db, build_performers(settings, http, db), jitter=lambda: 0.5)
    try:
        yield Harness(settings, runtime, db, http, runner)
    finally:
        await http.aclose()
        db.close()
        runtime.close()
