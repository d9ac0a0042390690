"""Dispatchers: the embedded default (a worker process beside the server) and the rq one (with Redis).

The embedded worker runs in a child process, not a thread of the server: the pipeline is
CPU-bound Python, and in a thread it would hold the GIL against the event loop and the
SQLite write lock against the edge's group commits (measured: acknowledgements fell about
tenfold). The child claims batches from the same store; the server wakes it through a pipe
when events are stored, and it also polls, so nothing depends on the wake-up. Once caught up (a batch
came back short, or it was woken from idle), it waits `dispatch.gather_ms` before its next claim, so that
a steady flow is processed in fewer, larger batches: each batch costs a claim, a transaction and an fsync
(at 300 Mango notifications a second, batches of one or two took three quarters of a core). The way back is a
second pipe: after a batch that changed leads the child says so, and the server tells its
`on_leads_changed` listeners (the live page's poller, which also polls).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from multiprocessing.connection import Connection as Pipe
from multiprocessing.sharedctypes import Synchronized
from typing import Protocol

import structlog

from gateway.config import Settings
from gateway.dispatch.gate import WriteGate
from gateway.dispatch.processor import BatchReport, Processor

__all__ = ["Dispatcher", "EmbeddedDispatcher", "ThreadDispatcher", "behind_gate", "run_embedded_worker", "work"]

log = structlog.get_logger(__name__)


class Dispatcher(Protocol):
    on_leads_changed: list[Callable[[], None]]  # called on the event loop after processing changed leads

    def wake(self, n: int = 1) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


class SharedTotals:
    """Counters the child process updates and the server's /metrics reads."""

    def __init__(self, ctx: multiprocessing.context.SpawnContext) -> None:
        keys = ("claimed", "done", "failed", "dead")
        self._values: dict[str, Synchronized[int]] = {k: ctx.Value("q", 0) for k in keys}

    def add(self, report: BatchReport) -> None:
        for key, value in self._values.items():
            with value.get_lock():
                value.value += getattr(report, key)

    def __getattr__(self, key: str) -> int:
        values = self.__dict__.get("_values", {})
        if key in values:
            return int(values[key].value)
        raise AttributeError(key)


def _say_changed(changed: Pipe) -> None:
    """Tell the parent that leads changed; a full pipe already holds such news, so nothing is lost by skipping."""
    try:
        changed.send_bytes(b"l")  # a few bytes: written whole or not at all (the pipe is non-blocking)
    except BlockingIOError:
        pass


def behind_gate(processor: Processor, gate: WriteGate) -> None:
    """The processor writes at the gate, and ends a transaction early for the edge waiting there."""
    processor.write_turn = gate.worker
    processor.hear_edge(gate.edge_waiting)


def run_embedded_worker(settings: Settings, wake: Pipe, totals: SharedTotals, parent_pid: int,
                        gate: WriteGate | None = None, changed: Pipe | None = None) -> None:
    """The child process: claim and process batches until the parent goes away; say when leads changed."""
    from gateway.dispatch.runtime import build_runtime
    from gateway.heap import settle
    from gateway.logs import configure_logging
    from gateway.store.event_log import worker_id

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    # Acknowledgements are what providers wait for; processing may lag a burst and catch up after it.
    os.nice(settings.dispatch.embedded_worker_nice)
    configure_logging(settings.log_format, settings.log_level)
    runtime = build_runtime(settings)
    if gate is not None:
        behind_gate(runtime.processor, gate)
    owner = worker_id()
    if changed is not None:
        os.set_blocking(changed.fileno(), False)  # never wait on a parent that is slow to read
        # after each commit, not each batch: a batch of Mango calls is many short SQLite transactions
        runtime.processor.on_committed = lambda _leads: _say_changed(changed)
    d = settings.dispatch
    settle()
    try:
        work(lambda: runtime.processor.run_batch(owner), wake, totals.add, batch_size=d.batch_size,
             gather_s=d.gather_ms / 1000, idle_s=d.idle_poll_seconds, alive=lambda: os.getppid() == parent_pid)
    except (EOFError, OSError):
        return
    finally:
        runtime.close()


def work(run_batch: Callable[[], BatchReport], wake: Pipe, count: Callable[[BatchReport], None], *,
         batch_size: int, gather_s: float, idle_s: float, alive: Callable[[], bool]) -> None:
    """The worker's loop: batches back to back while they come back full; once caught up, a wait of `gather_s`
    before the next claim; when idle, a wait for a wake-up (or `idle_s`). The wake-ups on the pipe are read
    before every claim, busy or idle: a worker working off a backlog never went idle to read them, and a full
    pipe blocked the server's next wake-up, and its event loop with it. Returns when the parent asks it to stop
    or goes away."""
    while alive():
        if _stop_asked(wake):
            return
        try:
            report = run_batch()
        except Exception:  # keep going; the store may be back soon
            log.exception("dispatch.batch_crashed")
            report = BatchReport()
            wake.poll(1.0)
        count(report)
        if report.claimed >= batch_size:
            continue  # more may be waiting
        if report.claimed:  # caught up: let the next batch gather (a steady flow, in fewer and larger batches)
            time.sleep(gather_s)
        elif wake.poll(idle_s):  # idle: until woken (or `idle_s`: events due later), then let the batch gather
            time.sleep(gather_s)


def _stop_asked(wake: Pipe) -> bool:
    """Read every wake-up waiting on the pipe; whether the parent asked the worker to stop."""
    while wake.poll(0):
        if wake.recv_bytes() == b"stop":
            return True
    return False


class EmbeddedDispatcher:
    """Starts and wakes the embedded worker process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._ctx = multiprocessing.get_context("spawn")
        self.totals = SharedTotals(self._ctx)
        self.gate = self._new_gate() if settings.is_sqlite else None
        self._recv, self._send = self._ctx.Pipe(duplex=False)
        # a wake-up never waits: a full pipe (13,104 unread) already holds news enough, and a blocking write would
        # stop the event loop until the worker read
        os.set_blocking(self._send.fileno(), False)
        self._changed_recv, self._changed_send = self._ctx.Pipe(duplex=False)
        self.on_leads_changed: list[Callable[[], None]] = []
        self._proc: multiprocessing.process.BaseProcess | None = None
        self._pending_wake = False
        self._monitor: asyncio.Task[None] | None = None

    def _new_gate(self) -> WriteGate:
        return WriteGate(self._ctx, overload_pause_s=self.settings.dispatch.overload_pause_ms / 1000)

    def edge_turn(self) -> AbstractContextManager[None]:
        """The edge's turn at the store (the current gate: a restarted worker gets a new one)."""
        return self.gate.edge() if self.gate is not None else nullcontext()

    def edge_load(self, requests: int) -> None:
        """How many requests the edge's next group commit holds (from the writer's thread)."""
        if self.gate is not None:
            self.gate.edge_load(requests)

    def wake(self, n: int = 1) -> None:
        if self._pending_wake:
            return
        self._pending_wake = True
        asyncio.get_running_loop().call_soon(self._send_wake)

    def _send_wake(self) -> None:
        self._pending_wake = False
        try:
            self._send.send_bytes(b"w")  # five bytes: written whole or not at all
        except BlockingIOError:
            pass  # the worker has not read the wake-ups before (it polls the store too)
        except OSError:
            log.warning("dispatch.worker_gone")

    async def start(self) -> None:
        asyncio.get_running_loop().add_reader(self._changed_recv.fileno(), self._leads_changed)
        await self._spawn()
        self._monitor = asyncio.create_task(self._watch(), name="embedded-worker-watch")

    def _leads_changed(self) -> None:
        """The child's news that leads changed: read all that is waiting, tell the listeners once."""
        try:
            while self._changed_recv.poll():
                self._changed_recv.recv_bytes()
        except (EOFError, OSError):
            log.warning("dispatch.worker_pipe_failed", exc_info=True)
        for listener in self.on_leads_changed:
            listener()

    async def _spawn(self) -> None:
        self._proc = self._ctx.Process(target=run_embedded_worker, name="gateway-embedded-worker",
                                       args=(self.settings, self._recv, self.totals, os.getpid(), self.gate,
                                             self._changed_send),
                                       daemon=True)
        await asyncio.to_thread(self._proc.start)

    async def _watch(self) -> None:
        """Start the worker again if it dies (its claimed events come back when their lease expires)."""
        while True:
            await asyncio.sleep(2)
            if self._proc is not None and not self._proc.is_alive():
                log.error("dispatch.worker_died", exitcode=self._proc.exitcode)
                if self.gate is not None:
                    self.gate = self._new_gate()  # it may have died holding the old one
                await self._spawn()

    async def stop(self) -> None:
        if self._monitor is not None:
            self._monitor.cancel()
            await asyncio.gather(self._monitor, return_exceptions=True)
        asyncio.get_running_loop().remove_reader(self._changed_recv.fileno())
        if self._proc is None:
            return
        try:
            self._send.send_bytes(b"stop")
        except (BrokenPipeError, OSError):
            pass
        await asyncio.to_thread(self._proc.join, 30)
        if self._proc.is_alive():
            self._proc.terminate()
            await asyncio.to_thread(self._proc.join, 5)
        self._proc = None


class ThreadDispatcher:
    """The worker as a thread of the server: simpler, for tests that intercept outbound calls in-process
    (`dispatch.embedded_worker = "thread"`). It competes with the event loop for the GIL."""

    def __init__(self, processor: Processor, idle_seconds: float) -> None:
        from gateway.store.event_log import worker_id

        self.processor = processor
        self.idle_seconds = idle_seconds
        self.owner = worker_id()
        self.totals = BatchReport()
        self.on_leads_changed: list[Callable[[], None]] = []
        self._wake = asyncio.Event()
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="processor")
        self._task: asyncio.Task[None] | None = None

    def wake(self, n: int = 1) -> None:
        self._wake.set()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()

        def committed(_leads: list[int]) -> None:  # on the processing thread: the listeners run on the loop
            loop.call_soon_threadsafe(self._leads_changed)

        self.processor.on_committed = committed
        self._task = asyncio.create_task(self._run(), name="thread-dispatcher")

    def _leads_changed(self) -> None:
        for listener in self.on_leads_changed:
            listener()

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._thread.shutdown(wait=True)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                report = await loop.run_in_executor(self._thread, self.processor.run_batch, self.owner)
            except Exception:  # keep the loop alive; the store may be back soon
                log.exception("dispatch.batch_crashed")
                report = BatchReport()
                await asyncio.sleep(1)
            for key in ("claimed", "done", "failed", "dead"):
                setattr(self.totals, key, getattr(self.totals, key) + getattr(report, key))
            if report.claimed:
                continue
            self._wake.clear()
            try:
                # not wait_for: on Python 3.11 a cancel that meets a wake-up is swallowed, and `stop` waited forever
                async with asyncio.timeout(self.idle_seconds):
                    await self._wake.wait()
            except TimeoutError:
                pass
