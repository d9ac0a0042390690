"""The client-side rate limit keeps its spacing even when the event loop stalls: the waiters a stall kept
from their moments go out one interval apart afterwards, not together (a remote counting a sliding second
would answer 429)."""

from __future__ import annotations

import asyncio
import itertools
import time

from gateway.sinks.pacing import Pacer


async def test_waiters_held_up_by_a_stalled_loop_still_go_one_interval_apart() -> None:
    pacer = Pacer(20, margin=0)  # one every 50 ms
    went: list[float] = []

    async def send() -> None:
        await pacer.wait()
        went.append(time.monotonic())

    waiters = [asyncio.create_task(send()) for _ in range(6)]
    await asyncio.sleep(0.01)  # the first went; the others wait for their moments
    time.sleep(0.4)  # noqa: ASYNC251 (on purpose: the loop stalls past every moment)
    await asyncio.gather(*waiters)
    gaps = [b - a for a, b in itertools.pairwise(went)]
    assert len(went) == 6
    assert min(gaps) >= 0.045, gaps  # a stall only ever widens a gap

