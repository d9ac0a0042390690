"""Mango webhook benchmark: signed notifications acknowledged per second, p50/p99, against bare aiohttp.

    .venv/bin/python bench/mango.py [--seconds 5] [--connections 64] [--rounds 3] [--no-dispatch] [--layers]
                                    [--settings TOML] [--wrk] [--postgres]

Every request is a distinct, correctly signed `/events/call` notification (a new entry_id each
time, so every one is a new row in the event log). First a bare aiohttp server that parses the
form and checks the signature the same way (constant-time, sha256 over key + json + salt) and
answers 200, then the gateway (`gateway.app.create_app(settings)`: SQLite with synchronous=FULL)
as the embedded default (its worker process processing meanwhile) and as the edge alone, each
in its own process under uvloop, `--rounds` times; the load generator runs here over keep-alive
connections (or is wrk, with `--wrk`), a second of load warming each server up first. The embedded
default's rounds start once its worker has processed a first notification (the worker process
starts after the server listens, and its start is not the steady state measured). Prints each
round's rates, latency percentiles, answers by status and the CPU the server's processes used per
acknowledgement (read from /proc over the measured seconds: a figure that a busy machine disturbs
less than a rate) and, for the embedded default, how many events its worker processed meanwhile
(read from the store), then the medians and the ratios gateway/bare (goals of issue 16: 0.5
embedded, 0.6 edge alone). `--settings` gives the gateway settings of its own (TOML, before the
benchmark's account), e.g. `$'[dispatch]\noverload_pause_ms = 0'`.

`--wrk` sends the load with wrk (Debian's package, two threads) instead of this process: the same
notifications, prepared before the first round (distinct ones for a second of warming up and for the
measured seconds; a run that outpaces them sends some twice, and says so): the load generator the
issue's figures were taken with, using about a quarter of the CPU per request this process does, so
more of the machine's two cores is left to the servers.

`--postgres` adds the set-up of issue 16's fourth goal: `gateway serve` on a new PostgreSQL database
with Redis, and two `gateway worker` processes processing meanwhile (PostgreSQL and Redis on
127.0.0.1, as the tests have them; the workers' CPU is counted with the server's).

`--layers` adds three set-ups that only this benchmark builds, to show where the edge's time goes:
the gateway's application with the bare server's handler on the Mango route (aiohttp's routing,
our middlewares and headers, nothing of ours in the handler), the edge alone with the fast lane off
(every request through aiohttp's request objects), and the gateway's edge answering without storing
(everything but the event log's write).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import os
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import ExitStack, closing
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from urllib.parse import urlencode

from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import servers, wrk  # noqa: E402
from bench.common import median, pct, postgres_url  # noqa: E402
from gateway.connectors.base import NewEvent  # noqa: E402
from gateway.connectors.telephony.mango.signature import sign  # noqa: E402

ACCOUNT = "bench"
KEY = "benchkey000000000000000000000001"
SALT = "benchsalt00000000000000000000001"
CONFIG = f"""
[[telephony.mango]]
account = "{ACCOUNT}"
api_key = "{KEY}"
api_salt = "{SALT}"
fetch_recordings = false
[telephony.mango.lines]
"74951234567" = "Bench line"
"""


def serve_bare(port: int) -> None:
    """The same work without the gateway: parse the form, check key and signature, answer 200."""
    app = web.Application()
    app.router.add_post("/hooks/mango/{account}/events/{name:.+}", bare_hook)
    servers.use_uvloop()
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def bare_hook(request: web.Request) -> web.Response:
    """The bare server's handler: parse the form, check key and signature, answer 200."""
    form = await request.post()
    text = str(form.get("json", ""))
    expected = hashlib.sha256((KEY + text + SALT).encode()).hexdigest()
    if not (hmac.compare_digest(str(form.get("vpbx_api_key", "")), KEY)
            and hmac.compare_digest(expected, str(form.get("sign", "")).lower())):
        return web.json_response({"error": "signature"}, status=403)
    return web.Response(status=200)


def serve_gateway(port: int, workdir: Path, kind: str, settings: str = "") -> None:
    """The gateway as `kind` says: dispatch (embedded default), no-dispatch (edge alone), or a layer."""
    from gateway.http.fast_lane import FastLane

    if kind in ("app-bare-handler", "no-lane"):
        FastLane.protocol_factory = lambda self, fallback: fallback  # type: ignore[method-assign]
    if kind == "app-bare-handler":
        import gateway.http.edge

        gateway.http.edge._handler = lambda route, trusted_proxies: bare_hook  # every connector route, Mango's too
    elif kind == "no-store":
        from gateway.http.writer import EventWriter
        from gateway.store.event_log import new_event_ids

        def answer_only(self: EventWriter, events: Sequence[NewEvent]) -> asyncio.Future[list[tuple[str, bool]]]:
            done: asyncio.Future[list[tuple[str, bool]]] = asyncio.get_running_loop().create_future()
            done.set_result([(event_id, True) for event_id in new_event_ids(len(events))])
            return done

        EventWriter.submit = answer_only  # type: ignore[method-assign]
    servers.serve_gateway(port, workdir, kind == "dispatch", settings + CONFIG)


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    return servers.spawn(__file__, *args)


class Requests:
    """Distinct signed `/events/call` notifications, as raw HTTP/1.1 requests."""

    def __init__(self, port: int, tag: str) -> None:
        self.port, self.tag, self.n = port, tag, 0

    def next(self) -> bytes:
        self.n += 1
        entry = f"{self.tag}-{self.n}"
        text = (f'{{"entry_id":"{entry}","call_id":"{entry}-1","timestamp":{1767261600 + self.n},"seq":1,'
                f'"call_state":"Appeared","location":"abonent","from":{{"number":"7916{self.n % 10_000_000:07d}"}},'
                f'"to":{{"extension":"101","number":"sip:user101@vpbx400000001.mangosip.ru",'
                f'"line_number":"74951234567","acd_group":"300"}}}}')
        body = urlencode({"vpbx_api_key": KEY, "sign": sign(KEY, text, SALT), "json": text}).encode()
        head = (f"POST /hooks/mango/{ACCOUNT}/events/call HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n"
                f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n")
        return head.encode() + body


async def _connection(port: int, requests: Requests, deadline: float, counts: Counter[str],
                      latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.monotonic() < deadline:
            request = requests.next()
            sent = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
            if length and int(length.group(1)):
                await reader.readexactly(int(length.group(1)))
            latencies.append(time.perf_counter() - sent)
            counts[head[9:12].decode()] += 1
    except (OSError, asyncio.IncompleteReadError) as exc:
        counts[f"failed: {type(exc).__name__}"] += 1
    finally:
        writer.close()


@dataclass
class Load:
    """One measured stretch: acknowledgements per second, answers, latencies, CPU per acknowledgement."""

    rate: float
    counts: Counter[str]
    p50_ms: float
    p99_ms: float
    server_us: float  # CPU of the server's processes (its worker process too) per 2xx answer, in us
    loadgen_us: float  # the same for this process, the load generator
    processed: float | None = None  # events the worker processed per second meanwhile (the embedded default)


def _tree(roots: list[int]) -> list[int]:
    """The server's processes: each root (the server, separate workers) and its descendants."""
    return [pid for root in roots for pid in servers.process_tree(root)]


def _cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(t - before.get(pid, 0.0) for pid, t in after.items())  # a process started meanwhile: all of it


async def throughput(port: int, tag: str, seconds: float, connections: int, roots: list[int],
                     done: Callable[[], int] | None = None) -> Load:
    requests = Requests(port, tag)
    warm: list[float] = []
    await asyncio.gather(*(_connection(port, requests, time.monotonic() + 1.0, Counter(), warm)
                           for _ in range(connections)))
    counts: Counter[str] = Counter()
    latencies: list[float] = []
    server_before = servers.cpu_seconds(_tree(roots))
    own_before = servers.cpu_seconds([os.getpid()])
    done_before = done() if done else 0
    started = time.monotonic()
    await asyncio.gather(*(_connection(port, requests, started + seconds, counts, latencies)
                           for _ in range(connections)))
    elapsed = time.monotonic() - started
    server = _cpu_used(server_before, servers.cpu_seconds(_tree(roots)))
    own = _cpu_used(own_before, servers.cpu_seconds([os.getpid()]))
    processed = (done() - done_before) / elapsed if done else None
    acks = sum(n for status, n in counts.items() if status.startswith("2"))
    ms = [x * 1000 for x in latencies]
    return Load(acks / elapsed, counts, median(ms), pct(ms, 99), 1e6 * server / max(acks, 1),
                1e6 * own / max(acks, 1), processed)


class Prepared:
    """The notifications wrk sends, written once for the whole run: a second's worth to warm up, and the
    measured seconds' worth (at `per_second`, more than any server here answers)."""

    def __init__(self, directory: Path, seconds: float, per_second: int = 30_000, threads: int = 2) -> None:
        self.threads = threads
        self.warm = self._write(directory / "warm", "warm", per_second)
        self.measured_count = int(per_second * seconds)
        self.measured = self._write(directory / "measured", "load", self.measured_count)

    def _write(self, directory: Path, tag: str, count: int) -> Path:
        directory.mkdir()
        requests = Requests(80, tag)
        per_thread = [[requests.next() for _ in range(count // self.threads)] for _ in range(self.threads)]
        return wrk.requests_script(directory, per_thread)


def wrk_throughput(port: int, prepared: Prepared, seconds: float, connections: int, roots: list[int],
                   done: Callable[[], int] | None = None) -> Load:
    """`throughput` with wrk as the load generator; its CPU is the children's time this process waited for."""
    url = f"http://127.0.0.1:{port}/hooks/mango/{ACCOUNT}/events/call"
    wrk.run(url, 1, connections, prepared.warm, prepared.threads)
    server_before = servers.cpu_seconds(_tree(roots))
    children_before = os.times()
    done_before = done() if done else 0
    started = time.monotonic()
    result = wrk.run(url, seconds, connections, prepared.measured, prepared.threads)
    elapsed = time.monotonic() - started
    server = _cpu_used(server_before, servers.cpu_seconds(_tree(roots)))
    children_after = os.times()
    loadgen = (children_after.children_user - children_before.children_user
               + children_after.children_system - children_before.children_system)
    processed = (done() - done_before) / elapsed if done else None
    if result.total > prepared.measured_count:
        print(f"  (wrk sent {result.total:,} requests, {result.total - prepared.measured_count:,} of them a second "
              "time: raise `Prepared.per_second`)")
    counts = Counter({"200": result.total - result.non2xx})
    if result.non2xx:
        counts["not 2xx"] = result.non2xx
    if result.errors:
        counts[f"socket errors: {result.errors}"] = 1
    acks = result.total - result.non2xx
    return Load(result.rate * acks / max(result.total, 1), counts, result.p50_ms, result.p99_ms,
                1e6 * server / max(acks, 1), 1e6 * loadgen / max(acks, 1), processed)


def _line(label: str, load: Load) -> str:
    return (f"{label}: {load.rate:,.0f} acks/s  p50 {load.p50_ms:.1f} ms  p99 {load.p99_ms:.1f} ms  "
            f"CPU {load.server_us:.0f} us/ack (load generator {load.loadgen_us:.0f})  answers {dict(load.counts)}"
            + (f"  processed meanwhile {load.processed:,.0f} events/s" if load.processed is not None else ""))


def _done(db: Path) -> int:
    """Events the worker has processed so far (read from the store, as an operator's page would)."""
    with closing(sqlite3.connect(db, timeout=30)) as conn:
        return int(conn.execute("SELECT count(*) FROM events WHERE status = 'done'").fetchone()[0])


def _worker_up(port: int, done: Callable[[], int]) -> None:
    """Wait until the embedded worker processes a notification: it starts in a process of its own after the
    server listens, and its start (imports, warming up) is not the steady state the rounds measure."""
    request = Requests(port, f"up{port}").next()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        if not conn.recv(65536).startswith(b"HTTP/1.1 200"):
            raise SystemExit("the gateway refused the first notification")
    deadline = time.monotonic() + 60
    while done() < 1:
        if time.monotonic() > deadline:
            raise SystemExit("the embedded worker processed nothing in 60 s")
        time.sleep(0.05)


def _measure(kind: str, args: argparse.Namespace, tag: str, prepared: Prepared | None) -> Load:
    """One server of `kind` (bare, dispatch, no-dispatch, postgres, a layer) started, loaded for `--seconds` (by
    wrk with the `prepared` notifications, or from here), stopped."""
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lg-bench-mango-")))
        port = servers.free_port()
        done: Callable[[], int] | None = None
        workers: list[subprocess.Popen[bytes]] = []
        if kind == "bare":
            proc = _spawn("bare", str(port))
        elif kind == "postgres":
            proc, workers, done = _postgres(stack, workdir, port)
        else:
            proc = _spawn("gateway", str(port), str(workdir), kind, args.settings)
            if kind == "dispatch":
                done = partial(_done, Path(workdir) / "gateway.db")
        try:
            servers.wait_ready(port, proc)
            if done is not None:
                _worker_up(port, done)
            roots = [proc.pid, *(w.pid for w in workers)]
            if prepared is not None:
                return wrk_throughput(port, prepared, args.seconds, args.connections, roots, done)
            return asyncio.run(throughput(port, tag, args.seconds, args.connections, roots, done))
        finally:
            for p in [*workers, proc]:
                servers.stop(p)


def _postgres(stack: ExitStack, workdir: Path, port: int) -> tuple[subprocess.Popen[bytes],
                                                                   list[subprocess.Popen[bytes]], Callable[[], int]]:
    """`gateway serve` on a new PostgreSQL database with Redis, and two `gateway worker` processes."""
    from sqlalchemy import create_engine, text

    from bench.ring_to_screen import GATEWAY, _cli, _config

    url = stack.enter_context(postgres_url())
    config = _config(workdir, url, "redis://127.0.0.1:6379/0")
    _cli(config, "migrate")
    log = stack.enter_context(open(workdir / "serve.log", "wb"))
    server = subprocess.Popen([*GATEWAY, "--config", str(config), "serve", "--port", str(port)], cwd=ROOT,
                              stdout=log, stderr=log)
    workers = [subprocess.Popen([*GATEWAY, "--config", str(config), "worker"], cwd=ROOT, stdout=log, stderr=log)
               for _ in range(2)]
    engine = create_engine(url)
    stack.callback(engine.dispose)

    def done() -> int:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM events WHERE status = 'done'")).scalar_one())

    return server, workers, done


LABELS = {
    "bare": "bare aiohttp + signature check",
    "dispatch": "gateway, embedded default (worker processing)",
    "no-dispatch": "gateway, edge only (no worker)",
    "postgres": "gateway, PostgreSQL + Redis + 2 workers (processing)",
    "app-bare-handler": "layer: the gateway's app, the bare handler on the Mango route",
    "no-lane": "layer: the edge alone through aiohttp's request objects (no fast lane)",
    "no-store": "layer: the gateway's edge, answering without storing",
}
GOALS = {"dispatch": 0.5, "no-dispatch": 0.6}


def run(args: argparse.Namespace) -> int:
    """Rounds of bare, then each gateway set-up, one after another; medians and ratios of the same run."""
    servers.use_uvloop()
    if args.wrk:
        wrk.require()
    kinds = ["bare", *(["app-bare-handler", "no-lane", "no-store"] if args.layers else []),
             *(["dispatch"] if args.dispatch else []), "no-dispatch", *(["postgres"] if args.postgres else [])]
    loads: dict[str, list[Load]] = {k: [] for k in kinds}
    bad: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="lg-bench-mango-wrk-") as scratch:
        prepared = Prepared(Path(scratch), args.seconds) if args.wrk else None
        _rounds(args, kinds, loads, bad, prepared)
    load_generator = "wrk, 2 threads" if args.wrk else "this process"
    print(f"medians of {args.rounds} rounds (each {args.seconds:g} s, {args.connections} connections, "
          f"load from {load_generator}):")
    bare = median([x.rate for x in loads["bare"]])
    bare_us = median([x.server_us for x in loads["bare"]])
    print(f"  {LABELS['bare']}: {bare:,.0f} acks/s  CPU {bare_us:.0f} us/ack")
    for kind in kinds[1:]:
        rate = median([x.rate for x in loads[kind]])
        per_round = [g.rate / b.rate for g, b in zip(loads[kind], loads["bare"], strict=True)]
        goal = f"; goal {GOALS[kind]}" if kind in GOALS else ""
        us = median([x.server_us for x in loads[kind]])
        print(f"  {LABELS[kind]}: {rate:,.0f} acks/s  ratio {rate / bare:.2f} "
              f"(per round {', '.join(f'{r:.2f}' for r in per_round)}{goal})  "
              f"CPU {us:.0f} us/ack, {us / bare_us:.1f}x bare's" + _processed(loads[kind]))
    return 1 if bad else 0


def _rounds(args: argparse.Namespace, kinds: list[str], loads: dict[str, list[Load]], bad: set[str],
            prepared: Prepared | None) -> None:
    for n in range(args.rounds):
        print(f"round {n + 1} of {args.rounds}:")
        for kind in kinds:
            load = _measure(kind, args, f"{kind}{n}", prepared)
            loads[kind].append(load)
            bad |= set(load.counts) - {"200"}
            ratio = f"  ratio {load.rate / loads['bare'][-1].rate:.2f}" if kind != "bare" else ""
            print(f"  {_line(LABELS[kind], load)}{ratio}", flush=True)


def _processed(loads: list[Load]) -> str:
    rates = [x.processed for x in loads if x.processed is not None]
    return f"; processed meanwhile {median(rates):,.0f} events/s" if rates else ""


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"]:
        kind, port = argv[1], int(argv[2])
        if kind == "bare":
            serve_bare(port)
        else:
            serve_gateway(port, Path(argv[3]), argv[4], argv[5])
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--rounds", type=int, default=3, help="rounds of bare and each set-up (default 3)")
    p.add_argument("--no-dispatch", dest="dispatch", action="store_false",
                   help="measure the edge alone (without the embedded default)")
    p.add_argument("--settings", default="", metavar="TOML",
                   help="settings for the gateway, before the benchmark's own: $'[dispatch]\\ngive_way_after_ms = 1'")
    p.add_argument("--postgres", action="store_true",
                   help="also PostgreSQL + Redis + two `gateway worker` processes (127.0.0.1, as the tests have them)")
    p.add_argument("--wrk", action="store_true", help="send the load with wrk instead of this process")
    p.add_argument("--layers", action="store_true",
                   help="also measure the app with the bare handler, and the edge without storing")
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
