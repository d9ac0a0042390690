"""Events acknowledged per second and ack latency on the embedded default, against bare aiohttp.

    .venv/bin/python bench/ingest.py [--seconds 10] [--connections 64] [--rounds 2]

Each server runs in its own process under uvloop; wrk (Debian's package) sends the same
small urlencoded form post over keep-alive connections to each in turn, round after round:
* bare: an aiohttp handler that reads the form and answers 200;
* gateway: `gateway serve` on SQLite with the in-process worker, posting to a configured site
  form (`/hooks/forms/bench`, JSON answer): every 200 means the event was committed first,
  and fsynced (`sqlite_synchronous = "full"`, the default);
* gateway-normal: the same with `GATEWAY_SQLITE_SYNCHRONOUS=normal` (a 200 survives the process
  dying, not the machine losing power), on its own database file.
Prints requests/s, p50/p99 latency, the ratios (gateway/bare, and what FULL costs: full/normal),
and checks that every 200 has its row.
"""

from __future__ import annotations

import argparse
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import wrk  # noqa: E402

BODY = ("name=%D0%98%D0%B2%D0%B0%D0%BD&phone=%2B7+916+123-45-67&email=ivan%40example.ru"
        "&message=%D0%9D%D1%83%D0%B6%D0%B5%D0%BD+%D1%80%D0%B0%D1%81%D1%87%D1%91%D1%82&_ts=1700000000")
CONFIG = """
[[forms]]
id = "bench"
min_fill_seconds = 0
rate_limit_per_minute = 0
"""
BARE = """
import sys, uvloop
from aiohttp import web
async def submit(request):
    form = await request.post()
    return web.json_response({"ok": True, "n": len(form)})
app = web.Application()
app.router.add_post("/hooks/forms/bench", submit)
uvloop.install()
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""
LUA = """
wrk.method = "POST"
wrk.body = "{body}"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept"] = "application/json"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int) -> None:
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


def run_server(cmd: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    wrk.require()
    with tempfile.TemporaryDirectory(prefix="lg-ingest-") as tmp:
        t = Path(tmp)
        script = t / "post.lua"
        script.write_text(LUA.format(body=BODY))
        (t / "bare.py").write_text(BARE)
        (t / "gateway.toml").write_text(CONFIG)
        env = {**os.environ, "GATEWAY_CONFIG": str(t / "gateway.toml"), "GATEWAY_DATABASE_URL": f"sqlite:///{t}/g.db",
               "GATEWAY_FILES_DIR": str(t / "files"), "GATEWAY_LOG_LEVEL": "warning", "GATEWAY_LOG_FORMAT": "json"}
        databases = {"gateway": t / "g.db", "gateway-normal": t / "g-normal.db"}
        envs = {"bare": env, "gateway": {**env, "GATEWAY_SQLITE_SYNCHRONOUS": "full"},
                "gateway-normal": {**env, "GATEWAY_SQLITE_SYNCHRONOUS": "normal",
                                   "GATEWAY_DATABASE_URL": f"sqlite:///{databases['gateway-normal']}"}}
        best: dict[str, wrk.Result] = {}
        accepted = dict.fromkeys(databases, 0)
        for _ in range(args.rounds):
            for name in ("bare", "gateway", "gateway-normal"):
                port = free_port()
                cmd = [sys.executable, str(t / "bare.py"), str(port)] if name == "bare" else \
                    [sys.executable, "-m", "gateway", "serve", "--port", str(port)]
                proc = run_server(cmd, envs[name], port)
                try:
                    res = wrk.run(f"http://127.0.0.1:{port}/hooks/forms/bench", args.seconds, args.connections, script)
                finally:
                    proc.terminate()
                    proc.wait(timeout=30)
                if name in accepted:
                    accepted[name] += res.total - res.non2xx
                if name not in best or res.rate > best[name].rate:
                    best[name] = res
        stored = {}
        for name, path in databases.items():
            with sqlite3.connect(path) as db:
                stored[name] = db.execute("SELECT count(*) FROM events WHERE connector = 'forms'").fetchone()[0]
    for name, r in best.items():
        print(f"{name:<15} {r.rate:9.0f} req/s  p50 {r.p50_ms:6.2f} ms  p99 {r.p99_ms:6.2f} ms  "
              f"non-2xx {r.non2xx}  socket errors: {r.errors or 'none'}")
    print(f"ratio gateway/bare: {best['gateway'].rate / best['bare'].rate:.2f} (goal: at least 0.5)")
    print(f"durability: acknowledged events/s with synchronous=FULL {best['gateway'].rate:.0f}, with NORMAL "
          f"{best['gateway-normal'].rate:.0f}; ratio full/normal: "
          f"{best['gateway'].rate / best['gateway-normal'].rate:.2f} (best of {args.rounds} rounds each)")
    for name in databases:
        print(f"{name}: acknowledged {accepted[name]}, rows in the event log: {stored[name]} (wrk may count a few "
              "requests cut off at the end of a run as neither)")


if __name__ == "__main__":
    main()
