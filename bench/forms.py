"""Site-form benchmark: submissions per second against bare aiohttp, and memory during a 50 MB upload.

    .venv/bin/python bench/forms.py [--seconds 5] [--rounds 2] [--connections 64] [--upload-mb 50]
                                    [--concurrent 20] [--concurrent-mb 20] [--no-dispatch]

1. Throughput: small urlencoded submissions (no files) over keep-alive connections, first to
   a bare aiohttp server that parses the form and answers 303, then to the gateway
   (`gateway.app.create_app(settings)`: SQLite, embedded dispatch unless `--no-dispatch`),
   each in its own process under uvloop, the load generator in this one; the two are measured
   in turn, `--rounds` times, and the best of each is kept. Prints both rates and their ratio;
   every request is counted (sent = answered by status + failed).
2. Memory: one multipart upload of `--upload-mb` MB streamed to the gateway, whose peak
   resident memory (VmHWM after resetting it through /proc/PID/clear_refs) is compared with
   its resident memory just before (goal: growth under 10 MB); then `--concurrent` uploads of
   `--concurrent-mb` MB at once, to the gateway and to bare aiohttp streaming them to files,
   whose own read buffers grow with the number of uploads (goal: the gateway under bare + 10 MB).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import servers  # noqa: E402

FORM = "bench"
BODY = (b"name=%D0%98%D0%B2%D0%B0%D0%BD+%D0%9F%D0%B5%D1%82%D1%80%D0%BE%D0%B2&phone=%2B7+916+123-45-67"
        b"&email=ivan%40example.ru&message=%D0%9D%D1%83%D0%B6%D0%B5%D0%BD+%D1%80%D0%B0%D1%81%D1%87%D1%91%D1%82"
        b"&page=https%3A%2F%2Fexample.ru%2F%3Futm_source%3Dyandex%26utm_medium%3Dcpc&_ts=1700000000&_hp=")
CONFIG = f"""
[[forms]]
id = "{FORM}"
max_upload_mb = 64
min_fill_seconds = 0
rate_limit_per_minute = 0
"""
BOUNDARY = "benchboundary0123456789"


def serve_bare(port: int) -> None:
    """What any aiohttp app does for a form post: parse it and redirect."""
    from aiohttp import web

    async def submit(request: web.Request) -> web.Response:
        if request.content_type == "multipart/form-data":  # an upload: streamed to a file, as the gateway does
            with tempfile.TemporaryFile() as f:
                async for chunk in request.content.iter_chunked(1 << 16):
                    f.write(chunk)
            return web.json_response({"ok": True})
        await request.post()
        return web.Response(status=303, headers={"Location": "/thanks"})

    app = web.Application()
    app.router.add_post("/hooks/forms/{form_id}", submit)
    servers.use_uvloop()
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def serve_gateway(port: int, workdir: Path, dispatch: bool) -> None:
    servers.serve_gateway(port, workdir, dispatch, CONFIG)


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    return servers.spawn(__file__, *args)


async def _connection(port: int, request: bytes, deadline: float, counts: Counter[str]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.monotonic() < deadline:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head)
            if length and int(length.group(1)):
                await reader.readexactly(int(length.group(1)))
            counts[head[9:12].decode()] += 1
    except (OSError, asyncio.IncompleteReadError) as exc:
        counts[f"failed: {type(exc).__name__}"] += 1
    finally:
        writer.close()


async def throughput(port: int, seconds: float, connections: int) -> tuple[float, Counter[str]]:
    head = (f"POST /hooks/forms/{FORM} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/html\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(BODY)}\r\n\r\n")
    request = head.encode() + BODY
    await asyncio.gather(*(_connection(port, request, time.monotonic() + 1.0, Counter()) for _ in range(connections)))
    counts: Counter[str] = Counter()
    started = time.monotonic()
    await asyncio.gather(*(_connection(port, request, started + seconds, counts) for _ in range(connections)))
    elapsed = time.monotonic() - started
    return sum(n for status, n in counts.items() if status.startswith(("2", "3"))) / elapsed, counts


def _memory(pid: int, field: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", status, re.M)
    return int(match.group(1)) * 1024 if match else 0


def _reset_peak(pid: int) -> None:
    """Reset the process's peak resident memory (VmHWM) to its current value."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


async def _upload_body(size: int) -> AsyncIterator[bytes]:
    yield (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="name"\r\n\r\nБольшой файл\r\n'
           f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f"; filename="big.pdf"\r\n'
           f"Content-Type: application/pdf\r\n\r\n").encode()
    chunk = b"%PDF-1.7\n" + b"0" * ((1 << 20) - 9)
    sent = 0
    while sent < size:
        piece = chunk[: size - sent]
        sent += len(piece)
        yield piece
        chunk = b"1" * (1 << 20)
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


async def upload(port: int, size: int) -> int:
    import aiohttp

    async with aiohttp.ClientSession() as http, http.post(
        f"http://127.0.0.1:{port}/hooks/forms/{FORM}", data=_upload_body(size),
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}", "Accept": "application/json"},
    ) as resp:
        await resp.read()
        return resp.status


async def memory_during_uploads(port: int, pid: int, size: int, count: int = 1) -> tuple[list[int], int, int]:
    """Statuses, resident memory before, and its peak growth while `count` uploads run at once."""
    assert await upload(port, 1 << 20) == 200  # warm up: imports, buffers
    await asyncio.sleep(0.5)
    before = _memory(pid, "VmRSS")
    _reset_peak(pid)
    statuses = await asyncio.gather(*(upload(port, size) for _ in range(count)))
    return list(statuses), before, _memory(pid, "VmHWM") - before


def run(args: argparse.Namespace) -> int:
    servers.use_uvloop()
    with tempfile.TemporaryDirectory(prefix="lg-bench-forms-") as workdir:
        bare_port, port = servers.free_port(), servers.free_port()
        bare = _spawn("bare", str(bare_port))
        gateway = _spawn("gateway", str(port), workdir, "dispatch" if args.dispatch else "no-dispatch")
        try:
            servers.wait_ready(bare_port, bare)
            servers.wait_ready(port, gateway)
            bare_runs, runs = [], []
            for _ in range(args.rounds):  # alternate, so that a busy moment on the machine hits both
                bare_runs.append(asyncio.run(throughput(bare_port, args.seconds, args.connections)))
                runs.append(asyncio.run(throughput(port, args.seconds, args.connections)))
            one = asyncio.run(memory_during_uploads(port, gateway.pid, args.upload_mb << 20))
            many = asyncio.run(memory_during_uploads(port, gateway.pid, args.concurrent_mb << 20, args.concurrent))
            bare_many = asyncio.run(memory_during_uploads(bare_port, bare.pid, args.concurrent_mb << 20,
                                                          args.concurrent))
        finally:
            servers.stop(gateway)
            servers.stop(bare)
    (bare_rate, bare_counts), (rate, counts) = max(bare_runs), max(runs)
    print(f"bare aiohttp: {bare_rate:,.0f} submissions/s  {dict(bare_counts)}  (best of {args.rounds})")
    print(f"gateway ({'embedded dispatch' if args.dispatch else 'edge only'}): {rate:,.0f} submissions/s  "
          f"{dict(counts)}  (best of {args.rounds})")
    print(f"ratio gateway/bare: {rate / bare_rate:.2f}")
    ok = _report(f"one {args.upload_mb} MB upload", *one, goal=10 << 20)
    what = f"{args.concurrent} concurrent {args.concurrent_mb} MB uploads"
    _report(f"{what}, bare aiohttp streaming to files", *bare_many)
    ok = _report(f"{what}, gateway", *many, goal=bare_many[2] + (10 << 20)) and ok
    return 0 if ok else 1


def _report(what: str, statuses: list[int], before: int, growth: int, goal: int | None = None) -> bool:
    ok = all(s == 200 for s in statuses)
    verdict = ("ok" if goal is None or growth < goal else "OVER GOAL") if ok else f"FAILED {Counter(statuses)}"
    target = f" (goal < {goal / 2**20:.1f} MB)" if goal is not None else ""
    print(f"{what}: RSS before {before / 2**20:.1f} MB, peak growth {growth / 2**20:.1f} MB{target}: {verdict}")
    return verdict == "ok"


def main(argv: list[str]) -> int:
    if argv[:1] == ["serve"]:
        kind, port = argv[1], int(argv[2])
        if kind == "bare":
            serve_bare(port)
        else:
            serve_gateway(port, Path(argv[3]), argv[4] == "dispatch")
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--upload-mb", type=int, default=50)
    p.add_argument("--concurrent", type=int, default=20, help="uploads at once for the second memory figure")
    p.add_argument("--concurrent-mb", type=int, default=20, help="size of each of those uploads")
    p.add_argument("--no-dispatch", dest="dispatch", action="store_false", help="measure the edge alone")
    return run(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
