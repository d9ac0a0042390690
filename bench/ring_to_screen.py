"""Ring-to-screen: from a call's first Mango notification to its lead on the operators' live stream.

    .venv/bin/python bench/ring_to_screen.py [--seconds 60] [--rate 300] [--soak-seconds 600]
    .venv/bin/python bench/ring_to_screen.py --postgres --redis --workers 2

Starts `gateway serve` as a subprocess on a temporary settings file (the embedded default: SQLite
and the worker process it starts; or PostgreSQL, Redis and `--workers` `gateway worker` processes),
signs in on /login as the page does and listens on `/api/v1/live`, then sends realistic signed
Mango call flows (as `gateway simulate mango` builds them) at a steady `--rate` of notifications
per second. Prints the time from each call's first notification being sent to its lead's first
appearance on the stream (p50/p95/p99), notifications acknowledged per second against events
processed per second and the backlog sampled through the run, and the resident memory of the server
and each of its workers sampled through the run. Goal (issue 16): p99 under 1 s, backlog not growing,
memory flat. `--log-level info --keep-log FILE` keeps the servers' log (batches redone, retries).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import servers  # noqa: E402
from bench.common import median, pct, postgres_url  # noqa: E402
from gateway.connectors.telephony.mango.flows import FlowFactory  # noqa: E402
from gateway.connectors.telephony.mango.signature import sign  # noqa: E402

ACCOUNT = "bench"
KEY = "benchkey000000000000000000000001"
SALT = "benchsalt00000000000000000000001"
USER, PASSWORD = "bench", "bench password 1"
GATEWAY = [sys.executable, "-m", "gateway"]


def _config(workdir: Path, database_url: str, redis_url: str | None, log_level: str = "warning") -> Path:
    lines = [f'database_url = "{database_url}"', f'files_dir = "{workdir / "files"}"']
    if redis_url:
        lines.append(f'redis_url = "{redis_url}"')
    lines += [f'log_level = "{log_level}"', "", "[dispatch]", f'queue = "bench-{uuid.uuid4().hex[:8]}"', "",
              "[[telephony.mango]]", f'account = "{ACCOUNT}"', f'api_key = "{KEY}"', f'api_salt = "{SALT}"',
              "fetch_recordings = false", "[telephony.mango.lines]", '"74951234567" = "Линия 1"',
              '"74957654321" = "Линия 2"', "[telephony.mango.extensions]", '"101" = "bench"']
    path = workdir / "bench.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _cli(config: Path, *args: str) -> str:
    out = subprocess.run([*GATEWAY, "--config", str(config), *args], cwd=ROOT, check=True, capture_output=True,
                         text=True)
    return out.stdout


def rss_mb(pid: int) -> float:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return float("nan")
    found = re.search(r"VmRSS:\s+(\d+)", text)
    return int(found.group(1)) / 1024 if found else float("nan")


def label(pid: int, server: int) -> str:
    """What a process of the run is: the server, its worker process, its resource tracker, a `gateway worker`."""
    if pid == server:
        return "server"
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return f"pid {pid}"
    if "resource_tracker" in cmd:
        return "resource tracker"
    return "gateway worker" if " worker" in cmd else "worker process"


def _labelled(server: int, others: list[int]) -> dict[str, int]:
    """The run's processes by label; the server's children are looked up each time (one is restarted, or late)."""
    out: dict[str, int] = {}
    for pid in [server, *servers.children(server), *others]:
        name = label(pid, server)
        if name == "gateway worker":
            name = f"{name} {sum(1 for seen in out if seen.startswith(name)) + 1}"
        out[name] = pid
    return out


def memory(server: int, others: list[int]) -> dict[str, float]:
    """MB resident by process label."""
    return {name: rss_mb(pid) for name, pid in _labelled(server, others).items()}


def cpu(server: int, others: list[int]) -> dict[str, float]:
    """CPU seconds used so far by process label, and by this process (the sender and the listener)."""
    pids = {**_labelled(server, others), "benchmark (sender, listener)": os.getpid()}
    used = servers.cpu_seconds(list(pids.values()))
    return {name: used[pid] for name, pid in pids.items() if pid in used}


class Run:
    """What one run saw: send times by call, first sight of each lead, answers, samples."""

    def __init__(self) -> None:
        self.first_sent: dict[str, float] = {}  # entry_id -> monotonic time its first notification left
        self.seen: dict[int, float] = {}  # lead id -> monotonic time it first came on the stream
        self.seen_wall: dict[int, float] = {}  # the same, as wall-clock time (to compare with the store's stamps)
        self.answers: Counter[str] = Counter()
        self.acked = 0
        self.ack_ms: list[float] = []  # per acknowledged notification: sent -> answered
        self.samples: list[tuple[float, int, int]] = []  # (t, processed, backlog)
        self.rss: list[tuple[float, dict[str, float]]] = []  # (t, MB by process: the server, then its workers)
        self.cpu: list[tuple[float, dict[str, float]]] = []  # (t, CPU seconds by process) as sending starts and ends
        self.sent_seconds = 0.0


async def _login(session: object, base: str) -> None:
    import aiohttp

    assert isinstance(session, aiohttp.ClientSession)
    async with session.get(f"{base}/login") as resp:
        page = await resp.text()
    csrf = re.search(r'name="csrf" value="([^"]*)"', page)
    if csrf is None:
        raise SystemExit("no login form at /login")
    form = {"csrf": csrf.group(1), "next": "/", "name": USER, "password": PASSWORD}
    async with session.post(f"{base}/login", data=form, allow_redirects=False) as resp:
        if resp.status != 302:
            raise SystemExit(f"sign-in failed: {resp.status}")


async def _listen(session: object, base: str, run: Run, ready: asyncio.Event) -> None:
    import aiohttp

    assert isinstance(session, aiohttp.ClientSession)
    since = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(time.time() - 1))
    async with session.get(f"{base}/api/v1/live", params={"since": since},
                           timeout=aiohttp.ClientTimeout(total=None, sock_read=None)) as resp:
        if resp.status != 200:
            raise SystemExit(f"/api/v1/live answered {resp.status}")
        ready.set()
        kind = "message"
        async for raw in resp.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and kind == "leads":
                now, wall = time.monotonic(), time.time()
                for change in json.loads(line.split(":", 1)[1]):
                    run.seen.setdefault(int(change["id"]), now)
                    run.seen_wall.setdefault(int(change["id"]), wall)


def _flows(rate: float, seconds: float) -> list[tuple[str, str, str]]:
    """(entry_id, event path, json) in sending order, enough for `seconds` at `rate`."""
    factory = FlowFactory(seed=7, start=int(time.time()) - 3600, lines=["74951234567", "74957654321"],
                          extensions=["101", "102", "103"])
    out: list[tuple[str, str, str]] = []
    while len(out) < rate * seconds:
        flow = factory.next()
        for name, text in flow.deliveries:
            path = f"result/{name.removeprefix('result/')}" if name.startswith("result/") else f"events/{name}"
            out.append((flow.entry_id, path, text))
    return out[:int(rate * seconds)]


async def _send(session: object, base: str, run: Run, rate: float, seconds: float) -> float:
    import aiohttp

    assert isinstance(session, aiohttp.ClientSession)
    plan = _flows(rate, seconds)
    slots = asyncio.Semaphore(64)
    url = f"{base}/hooks/mango/{ACCOUNT}/"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}

    async def one(entry: str, path: str, text: str) -> None:
        body = urlencode({"vpbx_api_key": KEY, "sign": sign(KEY, text, SALT), "json": text})
        async with slots:
            sent = time.monotonic()
            run.first_sent.setdefault(entry, sent)
            try:
                async with session.post(url + path, data=body, headers=headers) as resp:
                    await resp.read()
                    run.answers[str(resp.status)] += 1
                    if resp.status == 200:
                        run.acked += 1
                        run.ack_ms.append((time.monotonic() - sent) * 1000)
            except aiohttp.ClientError as exc:
                run.answers[type(exc).__name__] += 1

    started = time.monotonic()
    tasks = []
    for i, (entry, path, text) in enumerate(plan):
        delay = started + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(entry, path, text)))
    await asyncio.gather(*tasks)
    return time.monotonic() - started


def _counts(engine: object) -> tuple[int, int]:
    from sqlalchemy import Engine, func, select

    from gateway.store.schema import events

    assert isinstance(engine, Engine)
    with engine.connect() as conn:
        rows: dict[str, int] = dict(conn.execute(select(events.c.status, func.count()).group_by(events.c.status)).all())
    return int(rows.get("done", 0)) + int(rows.get("failed", 0)) + int(rows.get("dead", 0)), \
        int(rows.get("pending", 0)) + int(rows.get("processing", 0))


async def _sample(engine: object, run: Run, every: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        processed, backlog = await asyncio.to_thread(_counts, engine)
        run.samples.append((time.monotonic(), processed, backlog))
        try:
            await asyncio.wait_for(stop.wait(), timeout=every)
        except TimeoutError:
            pass


def _lead_entries(engine: object) -> dict[int, tuple[str, float]]:
    """Per lead: its call's entry_id and when the lead was created (wall-clock seconds, the server's clock)."""
    from sqlalchemy import Engine, select

    from gateway.store.schema import leads

    assert isinstance(engine, Engine)
    prefix = f"mango:{ACCOUNT}:"
    with engine.connect() as conn:
        rows = conn.execute(select(leads.c.id, leads.c.key, leads.c.created_at)
                            .where(leads.c.key.startswith(prefix))).all()
    return {int(i): (k.removeprefix(prefix), _utc(created).timestamp()) for i, k, created in rows}


async def measure(base: str, engine: object, args: argparse.Namespace, processes: Callable[[], dict[str, float]],
                  cpu_used: Callable[[], dict[str, float]]) -> Run:
    import aiohttp

    run = Run()
    seconds = args.soak_seconds or args.seconds
    jar = aiohttp.CookieJar(unsafe=True)
    conn = aiohttp.TCPConnector(limit=80)
    async with aiohttp.ClientSession(cookie_jar=jar, connector=conn) as session:
        await _login(session, base)
        ready = asyncio.Event()
        listener = asyncio.create_task(_listen(session, base, run, ready))
        await asyncio.wait_for(ready.wait(), 10)
        stop = asyncio.Event()
        sampler = asyncio.create_task(_sample(engine, run, max(1.0, seconds / 12), stop))
        rss: list[tuple[float, dict[str, float]]] = [(time.monotonic(), processes())]
        run.cpu.append((time.monotonic(), cpu_used()))
        sending = asyncio.create_task(_send(session, base, run, args.rate, seconds))
        while not sending.done():
            await asyncio.wait({sending}, timeout=max(1.0, seconds / 12))
            rss.append((time.monotonic(), processes()))
        run.sent_seconds = sending.result()
        run.cpu.append((time.monotonic(), cpu_used()))
        stop.set()
        await sampler
        deadline = time.monotonic() + 15  # let the last calls reach the stream
        while time.monotonic() < deadline:
            _, backlog = await asyncio.to_thread(_counts, engine)
            if backlog == 0 and time.monotonic() > deadline - 12:
                await asyncio.sleep(1.5)  # one more poll of the live hub
                break
            await asyncio.sleep(0.25)
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
    run.rss = rss
    return run


def _stored_after(engine: object) -> list[float]:
    """Per lead: ms from its call's first notification being received to the lead being created (the server's
    clock both times): the part of ring-to-screen spent before the live stream."""
    from sqlalchemy import Engine, func, select

    from gateway.store.schema import events, leads

    assert isinstance(engine, Engine)
    prefix = f"mango:{ACCOUNT}:"
    with engine.connect() as conn:
        first = dict(conn.execute(select(events.c.group_key, func.min(events.c.received_at))
                                  .where(events.c.connector == "mango").group_by(events.c.group_key)).all())
        rows = conn.execute(select(leads.c.key, leads.c.created_at).where(leads.c.key.startswith(prefix))).all()
    out = []
    for key, created in rows:
        received = first.get(key.removeprefix(prefix))
        if received is not None and created is not None:
            out.append((_utc(created) - _utc(received)).total_seconds() * 1000)
    return sorted(out)


def _utc(ts: Any) -> Any:
    from datetime import UTC

    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts


def report(run: Run, engine: object, label: str, seconds: float) -> None:
    entries = _lead_entries(engine)
    stored = _stored_after(engine)
    latencies = sorted((run.seen[lead] - run.first_sent[entry]) * 1000 for lead, (entry, _) in entries.items()
                       if lead in run.seen and entry in run.first_sent)
    shown = sorted((run.seen_wall[lead] - created) * 1000 for lead, (_, created) in entries.items()
                   if lead in run.seen_wall)
    calls = len(run.first_sent)
    elapsed = run.sent_seconds
    first, last = run.samples[0], run.samples[-1]
    processed_rate = (last[1] - first[1]) / max(1e-9, last[0] - first[0])
    backlogs = [b for _, _, b in run.samples]
    rss = run.rss
    print(f"{label}:")
    print(f"  calls {calls}, leads on the stream {len(latencies)} "
          f"(leads stored {len(entries)}), answers {dict(run.answers)}")
    print(f"  ring-to-screen p50 {median(latencies):.0f} ms  p95 {pct(latencies, 95):.0f} ms  "
          f"p99 {pct(latencies, 99):.0f} ms  max {max(latencies, default=float('nan')):.0f} ms")
    print(f"    of which stored (first notification received -> lead created): p50 {median(stored):.0f} ms  "
          f"p99 {pct(stored, 99):.0f} ms")
    print(f"    and after (lead created -> on the stream, the worker's commit and the live hub): "
          f"p50 {median(shown):.0f} ms  p99 {pct(shown, 99):.0f} ms")
    acks = sorted(run.ack_ms)
    print(f"  acknowledged {run.acked / elapsed:,.0f}/s (answered in p50 {median(acks):.0f} ms, "
          f"p99 {pct(acks, 99):.0f} ms)  processed {processed_rate:,.0f}/s  "
          f"(ratio {processed_rate / max(1e-9, run.acked / elapsed):.2f}); backlog samples {backlogs}")
    (t0, cpu0), (t1, cpu1) = run.cpu
    print("  CPU while sending, share of one core: " + ", ".join(
        f"{name} {100 * (used - cpu0.get(name, 0.0)) / (t1 - t0):.0f}%" for name, used in cpu1.items()))
    totals = [sum(each.values()) for _, each in rss]
    print(f"  server RSS {totals[0]:.0f} MB at start, {totals[-1]:.0f} MB at the end of {seconds:.0f} s "
          f"(max {max(totals):.0f} MB), with its workers")
    names = list(dict.fromkeys(name for _, each in rss for name in each))
    print(f"    MB every {rss[1][0] - rss[0][0]:.0f} s: " + "; ".join(
        f"{name} " + " ".join(f"{each.get(name, float('nan')):.0f}" for _, each in rss) for name in names))


def _start(config: Path, args: argparse.Namespace, port: int) -> tuple[subprocess.Popen[bytes],
                                                                       list[subprocess.Popen[bytes]]]:
    log = open(config.parent / "serve.log", "wb")  # kept open as long as the process runs
    server = subprocess.Popen([*GATEWAY, "--config", str(config), "serve", "--port", str(port)], cwd=ROOT,
                              stdout=log, stderr=log)
    workers = [subprocess.Popen([*GATEWAY, "--config", str(config), "worker"], cwd=ROOT, stdout=log, stderr=log)
               for _ in range(args.workers if args.redis else 0)]
    servers.wait_ready(port, server)
    return server, workers


def run(args: argparse.Namespace) -> int:
    from sqlalchemy import create_engine

    seconds = args.soak_seconds or args.seconds
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lg-ring-")))
        url = stack.enter_context(postgres_url()) if args.postgres else f"sqlite:///{workdir / 'gateway.db'}"
        redis_url = "redis://127.0.0.1:6379/0" if args.redis else None
        config = _config(workdir, url, redis_url, args.log_level)
        _cli(config, "migrate")
        _cli(config, "user", "add", USER, "--role", "operator", "--extension", "101")
        _cli(config, "user", "password", USER, "--password", PASSWORD)
        port = servers.free_port()
        server, workers = _start(config, args, port)
        try:
            time.sleep(1.0)  # the embedded worker process starts after the server listens
            engine = create_engine(url)
            others = [w.pid for w in workers]
            result = asyncio.run(measure(f"http://127.0.0.1:{port}", engine, args, partial(memory, server.pid, others),
                                         partial(cpu, server.pid, others)))
            set_up = ("PostgreSQL + Redis + " f"{args.workers} workers" if args.redis else
                      "PostgreSQL, embedded worker") if args.postgres else "embedded default (SQLite, FULL)"
            report(result, engine, f"{set_up}, {args.rate:.0f} notifications/s for {seconds:.0f} s", seconds)
            engine.dispose()
        finally:
            for proc in [*workers, server]:
                servers.stop(proc)
            if args.keep_log:
                shutil.copyfile(config.parent / "serve.log", args.keep_log)
    bad = set(result.answers) - {"200"}
    return 1 if bad else 0


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=60.0, help="how long to send (default 60)")
    p.add_argument("--rate", type=float, default=300.0, help="notifications per second (default 300)")
    p.add_argument("--soak-seconds", type=float, default=0.0, help="a longer soak instead of --seconds (600)")
    p.add_argument("--postgres", action="store_true", help="PostgreSQL on 127.0.0.1 instead of SQLite")
    p.add_argument("--redis", action="store_true", help="Redis on 127.0.0.1:6379 and separate workers")
    p.add_argument("--workers", type=int, default=2, help="`gateway worker` processes with --redis (default 2)")
    p.add_argument("--log-level", default="warning", help="the server's and workers' log level (default warning)")
    p.add_argument("--keep-log", type=Path, help="copy the server's and workers' log (JSON lines) to this file")
    args = p.parse_args(argv)
    os.environ.pop("GATEWAY_CONFIG", None)
    return run(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
