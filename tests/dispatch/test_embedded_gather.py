"""The embedded worker process, once caught up, lets the next batch gather for `dispatch.gather_ms`."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from gateway.http.keys import DB
from gateway.store import event_log
from gateway.store.schema import events
from tests.conftest import make_settings, start_server

LEADS = 60


async def _transactions_for_a_steady_flow(tmp_path: Path, gather_ms: float) -> tuple[int, float]:
    """Leads posted one after another to the gateway with its worker process; how many processing transactions
    stored them (events done in one share its time) and the seconds from the first post to the last done."""
    settings = make_settings(tmp_path, dispatch={"embedded_worker": "process", "gather_ms": gather_ms})
    runner, server = await start_server(settings)
    try:
        engine = server.app[DB].engine
        async with httpx.AsyncClient() as client:

            async def post(phone: str) -> None:
                answer = await client.post(f"{server.url}/api/v1/leads", json={"phone": phone},
                                           headers=server.headers())
                assert answer.status_code == 202

            async def done(n: int) -> None:
                for _ in range(600):
                    with engine.connect() as conn:
                        if event_log.count_by_status(conn).get("done") == n:
                            return
                    await asyncio.sleep(0.02)

            await post("+79030000000")  # the worker process is up and idle before the flow begins
            await done(1)
            started = time.monotonic()
            for i in range(LEADS):
                await post(f"+7916{i:07d}")
                await asyncio.sleep(0.005)  # a steady flow, not a burst
            await done(1 + LEADS)
        span = time.monotonic() - started
        with engine.connect() as conn:
            assert event_log.count_by_status(conn) == {"done": 1 + LEADS}
            commits = conn.execute(select(func.count(func.distinct(events.c.processed_at)))).scalar_one() - 1
        return commits, span
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("gather_ms", [150])
async def test_a_steady_flow_is_processed_in_batches_that_gathered(tmp_path: Path, gather_ms: float) -> None:
    """Each claim after a short batch waits `gather_ms`: the leads of a steady flow are stored by at most two
    transactions (a transaction may end early for the edge waiting to store) for each such wait in the time they
    took, however fast the machine; without the wait, the worker took them a few at a time."""
    commits, span = await _transactions_for_a_steady_flow(tmp_path, gather_ms)
    assert commits <= 2 * (span / (gather_ms / 1000) + 2), (commits, span)
