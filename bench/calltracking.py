"""Call tracking: session requests per second on the embedded default against bare aiohttp, and matching cost.

    .venv/bin/python bench/calltracking.py [--seconds 10] [--connections 64] [--visitors 2000] [--sessions 100000]

1. Both servers run in their own process under uvloop; wrk (Debian's package) posts the snippet's request,
   `{visitor, page, utm, ...}`, over keep-alive connections, each time for one of `--visitors` visitors (so most
   requests are a visitor's next page or reload, as on a real site, and the rest take a free number):
   * bare: an aiohttp handler that parses the JSON and answers with a number;
   * gateway: `gateway serve` on SQLite (the embedded default), `POST /ct/bench/sessions` with the site's Origin.
   Twice: as reloads of the same page (a visitor's number is written at most once a minute, so most are
   answered from memory), then as views of new pages (each request writes the page to the visit).
   Goal: 2,000 requests/s, p99 under 20 ms.
2. Matching: `--sessions` visits on file over a 100-number pool (one SQLite store), then calls to pool numbers at
   random moments are judged and stored one by one; prints the cost per call.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ingest import free_port, run_server

POOL = [f"7495{n:07d}" for n in range(3000)]
CONFIG = f"""
[calltracking]
visitor_per_minute = 100000
address_per_minute = 10000000

[[calltracking.sites]]
id = "bench"
domains = ["example.ru"]
default_number = "74957654321"
pool = {POOL!r}
hold_minutes = 20
""".replace("'", '"')
BARE = """
import json, sys, uvloop
from aiohttp import web
async def sessions(request):
    body = json.loads(await request.read())
    return web.json_response({"number": "74950000001", "session": body["visitor"], "expires_at": None},
                             headers={"Access-Control-Allow-Origin": request.headers.get("Origin", "")})
app = web.Application()
app.router.add_post("/ct/bench/sessions", sessions)
uvloop.install()
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""
LUA = """
math.randomseed(os.time())
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain"
wrk.headers["Origin"] = "https://example.ru"
wrk.headers["User-Agent"] = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
request = function()
  local v = string.format("%032x", math.random(1, {visitors}))
  local page = "https://example.ru/p" .. math.random(1, {pages}) .. "?utm_source=yandex"
  local body = '{{"visitor":"' .. v .. '","page":"' .. page .. '",' ..
               '"referrer":"https://ya.ru/","utm":{{"utm_source":"yandex","utm_campaign":"okna"}},' ..
               '"click_ids":{{"yclid":"123"}}}}'
  return wrk.format(nil, "/ct/bench/sessions", nil, body)
end
"""


def serving(args: argparse.Namespace, pages: int, what: str) -> None:
    print(f"-- {what}")
    with tempfile.TemporaryDirectory(prefix="lg-ct-") as tmp:
        t = Path(tmp)
        script = t / "post.lua"
        script.write_text(LUA.format(visitors=args.visitors, pages=pages))
        (t / "bare.py").write_text(BARE)
        (t / "gateway.toml").write_text(CONFIG)
        env = {**os.environ, "GATEWAY_CONFIG": str(t / "gateway.toml"), "GATEWAY_DATABASE_URL": f"sqlite:///{t}/g.db",
               "GATEWAY_FILES_DIR": str(t / "files"), "GATEWAY_LOG_LEVEL": "warning", "GATEWAY_LOG_FORMAT": "json"}
        best: dict[str, dict[str, float]] = {}
        for _ in range(args.rounds):
            for name in ("bare", "gateway"):
                port = free_port()
                cmd = [sys.executable, str(t / "bare.py"), str(port)] if name == "bare" else \
                    [sys.executable, "-m", "gateway", "serve", "--port", str(port)]
                proc = run_server(cmd, env, port)
                try:
                    _wrk(port, argparse.Namespace(seconds=3, connections=args.connections), script)  # warm up
                    res = _wrk(port, args, script)
                finally:
                    proc.terminate()
                    proc.wait(timeout=30)
                if name not in best or res["rps"] > best[name]["rps"]:
                    best[name] = res
    for name, r in best.items():
        print(f"{name:<8} {r['rps']:9.0f} req/s  p50 {r['p50']:6.2f} ms  p99 {r['p99']:6.2f} ms  "
              f"non-2xx {int(r['non2xx'])}  socket errors: {r['errors'] or 'none'}")
    gw, bare = best["gateway"], best["bare"]
    rate, tail = ("met" if gw["rps"] >= 2000 else "NOT met"), ("met" if gw["p99"] < 20 else "NOT met")
    print(f"ratio gateway/bare: {gw['rps'] / bare['rps']:.2f}; goal 2,000 req/s: {rate}, p99 < 20 ms: {tail} "
          f"(bare aiohttp's p99 on this machine now: {bare['p99']:.1f} ms)")


def _wrk(port: int, args: argparse.Namespace, script: Path) -> dict[str, float]:
    import bench.ingest as ingest

    # wrk's URL only names the server here: the script's request() builds each path and body
    return ingest.wrk(port, args.seconds, args.connections, script)


def matching(args: argparse.Namespace) -> None:
    from sqlalchemy import insert

    from gateway.calltracking import matching as m
    from gateway.config.calltracking import CallTrackingSettings
    from gateway.core.models import CallInfo, Channel, Direction, Interaction, Kind
    from gateway.store.bootstrap import migrate
    from gateway.store.db import make_engine
    from gateway.store.schema import ct_pool_hours, ct_sessions

    numbers = POOL[:100]
    conf = CallTrackingSettings.model_validate({"sites": [{"id": "bench", "domains": ["example.ru"],
                                                           "default_number": "74957654321", "pool": numbers}]})
    rng = random.Random(7)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    with tempfile.TemporaryDirectory(prefix="lg-ct-") as tmp:
        engine = make_engine(f"sqlite:///{tmp}/m.db")
        migrate(engine)
        per_number = args.sessions // len(numbers)
        rows = []
        for i, number in enumerate(numbers):  # each number's visits follow each other, 20 minutes apart
            for k in range(per_number):
                start = t0 + timedelta(minutes=20 * k, seconds=i)
                rows.append({"id": f"{i:04d}{k:028d}", "site": "bench", "visitor": f"{rng.getrandbits(128):032x}",
                             "number": number, "outcome": "number", "started_at": start, "seen_at": start,
                             "held_until": start + timedelta(minutes=rng.uniform(5, 18)), "landing": "https://e.ru/",
                             "referrer": None, "utm": {"utm_source": "yandex", "utm_campaign": f"c{k % 50}"},
                             "click_ids": {}, "pages": ["https://e.ru/"]})
        with engine.begin() as conn:
            for start in range(0, len(rows), 5000):
                conn.execute(insert(ct_sessions), rows[start:start + 5000])
        span = timedelta(minutes=20 * per_number).total_seconds()
        calls = [Interaction(key=f"mango:bench:{n}", channel=Channel.MANGO, kind=Kind.CALL, direction=Direction.IN,
                             occurred_at=t0 + timedelta(seconds=rng.uniform(0, span)), source="line",
                             call=CallInfo(line=rng.choice(numbers)))
                 for n in range(args.calls)]
        began = time.perf_counter()
        for n in range(args.calls):  # the baseline: a transaction storing one small row (SQLite waits for the disk)
            with engine.begin() as conn:
                conn.execute(insert(ct_pool_hours).values(site=f"b{n}", hour=t0, exhausted=0, bots=0))
        empty = time.perf_counter() - began
        began = time.perf_counter()
        with engine.connect() as conn:  # the judgement alone: the visits' query, nothing stored
            for ix in calls:
                m.decide_only(conn, conf.sites[0], ix.call.line if ix.call and ix.call.line else "", ix.occurred_at,
                              timedelta(seconds=60))
        judged = time.perf_counter() - began
        verdicts: dict[str, int] = {}
        began = time.perf_counter()
        for ix in calls:
            with engine.begin() as conn:
                out = m.enrich(conn, conf, ix, t0)
            verdict = out.custom["calltracking"]["verdict"]
            verdicts[verdict] = verdicts.get(verdict, 0) + 1
        took = time.perf_counter() - began
        engine.dispose()
    print(f"matching: {len(rows):,} visits on file, {args.calls} calls judged and stored: "
          f"{took / args.calls * 1000:.2f} ms per call in a transaction of its own (verdicts {verdicts}); "
          f"baseline, a transaction storing one small row: {empty / args.calls * 1000:.2f} ms; the judgement's "
          f"query alone: {judged / args.calls * 1000:.3f} ms")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--visitors", type=int, default=2000)
    ap.add_argument("--sessions", type=int, default=100_000)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--only", choices=["serving", "matching"])
    args = ap.parse_args()
    if args.only != "matching":
        if not shutil.which("wrk"):
            sys.exit("wrk is needed: apt-get install wrk")
        serving(args, 1, "reloads: each visitor asks again for the same page (no write within a minute)")
        serving(args, 1_000_000, "page views: each request a new page of the visit (a write each, in batches)")
    if args.only != "serving":
        matching(args)


if __name__ == "__main__":
    main()
