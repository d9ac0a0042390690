"""Events processed per second by one worker process, against one rq job per event.

    .venv/bin/python bench/process.py [--events 20000] [--baseline-jobs 1000] [--stores sqlite,postgresql]

Our figure: one process claims batches from the event log and runs the whole pipeline
(parse, identify, classify, route, store). The baseline, measured in the same run: the
naive design, one rq job per event, drained by an rq SimpleWorker (`--burst`). On PostgreSQL it also
prints the CPU the database server's processes on this machine used per event.
Requires PostgreSQL on 127.0.0.1 and Redis on 127.0.0.1:6379 for the PostgreSQL and
baseline parts (as the test set-up provides).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import postgres_url, sqlite_url
from gateway.config import load_settings
from gateway.connectors.base import NewEvent
from gateway.dispatch.embedded import behind_gate
from gateway.dispatch.gate import WriteGate
from gateway.dispatch.runtime import build_runtime
from gateway.heap import settle
from gateway.logs import configure_logging
from gateway.store import event_log
from gateway.store.bootstrap import bootstrap


def events(n: int, prefix: str) -> list[NewEvent]:
    now = datetime.now(UTC)
    out = []
    for i in range(n):
        # about a third of the leads come from people already seen: repeats attach to contacts
        phone = f"+7916{(i % max(1, n * 2 // 3)):07d}"
        body = {"name": f"Клиент {i}", "phone": phone, "text": "Хочу узнать цену"}
        out.append(NewEvent(connector="manual", account="bench", key=f"{prefix}{i}", body=json.dumps(body).encode(),
                            received_at=now))
    return out


def postgres_cpu_seconds() -> dict[int, float]:
    """CPU seconds used so far by each of this machine's PostgreSQL server processes (read from /proc)."""
    used: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if not (entry / "cmdline").read_bytes().startswith(b"postgres: "):
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        used[int(entry.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def measure(url: str, n: int, files: Path) -> tuple[float, float, float | None]:
    """Events processed per second, the worker process's CPU per event in us (a figure a busy machine disturbs
    less than a rate), and on PostgreSQL its server's CPU per event in us (its processes on this machine)."""
    settings = load_settings(None, database_url=url, files_dir=files)
    rt = build_runtime(settings)
    if settings.is_sqlite:  # as the embedded default runs it: behind the write gate, no edge waiting there
        behind_gate(rt.processor, WriteGate(multiprocessing.get_context("spawn")))
    bootstrap(rt.engine, settings)
    with rt.engine.begin() as conn:
        event_log.append(conn, events(n, "p"))
    settle()  # as a worker process does once started
    server = postgres_cpu_seconds() if not settings.is_sqlite else {}
    start, cpu = time.perf_counter(), time.process_time()
    done = 0
    while (report := rt.processor.run_batch("bench")).claimed:
        done += report.done
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    server_cpu = None
    if not settings.is_sqlite:  # processes started meanwhile count whole (a backend the pool opened)
        server_cpu = sum(t - server.get(pid, 0.0) for pid, t in postgres_cpu_seconds().items()) * 1e6 / n
    rt.close()
    assert done == n, f"{done} of {n} processed"
    return n / elapsed, 1e6 * cpu / n, server_cpu


def rq_baseline(url: str, jobs: int, files: Path) -> float:
    """One rq job per event: each job builds nothing new but claims and processes exactly one event."""
    from redis import Redis
    from rq import Queue

    settings = load_settings(None, database_url=url, files_dir=files)
    rt = build_runtime(settings)
    bootstrap(rt.engine, settings)
    with rt.engine.begin() as conn:
        event_log.append(conn, events(jobs, "b"))
    rt.close()
    redis = Redis.from_url("redis://127.0.0.1:6379/0")
    qname = f"bench-{uuid.uuid4().hex[:6]}"
    q = Queue(qname, connection=redis)
    q.enqueue_many([Queue.prepare_data("bench.naive_job.process_one", args=(url, str(files))) for _ in range(jobs)])
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "rq.cli", "worker", "--burst", "-w", "rq.worker.SimpleWorker",
                    "--url", "redis://127.0.0.1:6379/0", "-q", qname],
                   check=True, cwd=Path(__file__).resolve().parents[1], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    q.delete(delete_jobs=True)
    return jobs / elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--baseline-jobs", type=int, default=1000)
    ap.add_argument("--stores", default="sqlite,postgresql", help="which stores to measure (default both)")
    args = ap.parse_args()
    stores = set(args.stores.split(","))
    # as a worker logs by default (JSON, info: a line for each lead routed), to /dev/null instead of a pipe
    configure_logging("json", "info")
    with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull), \
            tempfile.TemporaryDirectory() as tmp:
        files = Path(tmp)
        with sqlite_url() as url:
            base = rq_baseline(url, args.baseline_jobs, files)
        print(f"baseline: one rq job per event (SQLite)      {base:8.0f} events/s")
        if "sqlite" in stores:
            with sqlite_url() as url:
                ours, cpu, _ = measure(url, args.events, files)
            print(f"gateway worker, batches, SQLite              {ours:8.0f} events/s  ratio {ours / base:5.1f}x  "
                  f"worker CPU {cpu:.0f} us/event")
        if "postgresql" in stores:
            with postgres_url() as url:
                ours_pg, cpu, server_cpu = measure(url, args.events, files)
            print(f"gateway worker, batches, PostgreSQL          {ours_pg:8.0f} events/s  "
                  f"ratio {ours_pg / base:5.1f}x  worker CPU {cpu:.0f} us/event, "
                  f"PostgreSQL's {server_cpu:.0f} us/event")
        print("goal: at least 4,000 events/s per worker process on SQLite and 2,000 on PostgreSQL")


if __name__ == "__main__":
    main()
