"""1,000 leads pushed through several `gateway deliver` processes over one PostgreSQL: each arrives exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select

from gateway.connectors.base import NewEvent
from gateway.store.schema import outbox
from tests.sinks.fake_amocrm import FakeAmo, Fault
from tests.sinks.harness import harness, serve, sink_settings

LEADS = 1000
WORKERS = 3


def _config(path: Path, amo_url: str) -> Path:
    path.write_text(f'''
[http]
allow_private_outbound = true
outbound_timeout_seconds = 3.0

[[sinks.amocrm]]
name = "amo"
base_url = "{amo_url}"
token = "long-lived-token"
concurrency = 16
rate_per_second = 1000
delays = [0.1, 0.2, 0.5, 1, 1, 2, 2, 2, 2, 2, 2, 2]
''', encoding="utf-8")
    return path


async def test_a_thousand_leads_through_several_workers_arrive_exactly_once(pg_url: str, tmp_path: Path) -> None:
    amo = FakeAmo(rate_limit=None, latency_s=0.005)
    # trouble on the way: answers lost after the item was made (the client gives up after 3 s), server errors,
    # rate limiting
    amo.faults += [Fault("/api/v4/leads/unsorted/forms", status=200, after_create_sleep=4) for _ in range(5)]
    amo.faults += [Fault("/api/v4/leads/unsorted/forms", status=500) for _ in range(5)]
    amo.faults += [Fault("/api/v4/contacts", status=429, retry_after=0.2) for _ in range(5)]
    async with serve(amo.app()) as url:
        amo.url = url
        settings = sink_settings(tmp_path, pg_url, amocrm=[{"name": "amo", "base_url": url, "token": amo.token}])
        async with harness(settings) as gw:
            events = [NewEvent(connector="manual", account="tester", key=f"k{i}", name="lead",
                               body=f'{{"name": "Клиент {i}", "phone": "+7916{i:07d}"}}'.encode(),
                               received_at=gw.runtime.processor.clock()) for i in range(LEADS)]
            assert len(gw.store(events)) == LEADS
            config = _config(tmp_path / "gateway.toml", url)
            env = {**os.environ, "GATEWAY_DATABASE_URL": pg_url, "GATEWAY_CONFIG": str(config),
                   "GATEWAY_LOG_LEVEL": "warning"}
            workers = [subprocess.Popen(  # noqa: ASYNC220 - started once here, waited for below
                [sys.executable, "-m", "gateway", "deliver"], env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(WORKERS)]
            try:
                for _ in range(600):
                    with gw.runtime.engine.connect() as conn:
                        left = conn.execute(select(func.count()).select_from(outbox).where(
                            outbox.c.status != "done")).scalar_one()
                    if left == 0:
                        break
                    await asyncio.sleep(0.5)
            finally:
                for w in workers:
                    w.send_signal(signal.SIGTERM)
                for w in workers:
                    w.wait(timeout=30)
            jobs = gw.jobs(event_type="sink.lead")
    assert len(jobs) == LEADS
    assert {j["status"] for j in jobs} == {"done"}, [j["last_error"] for j in jobs if j["status"] != "done"][:5]
    uids = Counter(u["source_uid"] for u in amo.unsorted)
    assert len(uids) == LEADS and max(uids.values()) == 1  # every lead once, none twice
    assert {j["result"]["remote_id"] for j in jobs} == {str(u["_embedded"]["leads"][0]["id"]) for u in amo.unsorted}
    assert all(w.returncode == 0 for w in workers)
    assert not amo.faults  # the trouble did happen
