"""Messenger updates acknowledged per second: the gateway's edge against bare aiohttp, same run.

    .venv/bin/python bench/messengers.py [--provider telegram|vk|whatsapp] [--requests 4000]
                                         [--concurrency 32] [--process]

Both servers run in their own process on this machine (uvloop when installed); the load
generator shares the CPU with them. The gateway is `gateway.app.create_app(settings)` on
SQLite (WAL, group commit) with the messenger connectors registered; by default it does not
process events meanwhile (`--process` turns the in-process worker on). The bare server does
the same secret check (constant-time header, or the body's HMAC for WhatsApp) and parses the
JSON, but stores nothing. Every update is distinct, so none is a duplicate.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import multiprocessing as mp
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TG_SECRET = "bench-secret-token"
VK_SECRET = "bench-vk-secret"
WA_SECRET = "bench-app-secret"
CONNECTORS = {
    "telegram": "gateway.connectors.messengers.telegram:TelegramConnector",
    "vk": "gateway.connectors.messengers.vk:VkConnector",
    "whatsapp": "gateway.connectors.messengers.whatsapp:WhatsAppConnector",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def request_for(provider: str, i: int) -> tuple[str, bytes, dict[str, str]]:
    """One realistic, distinct, correctly signed update."""
    uid = 100_000 + i % 5000
    if provider == "telegram":
        body = json.dumps({"update_id": 900_000_000 + i, "message": {
            "message_id": i, "from": {"id": uid, "is_bot": False, "first_name": "Иван"},
            "chat": {"id": uid, "type": "private", "first_name": "Иван"}, "date": 1767261600 + i,
            "text": "Здравствуйте! Сколько стоит доставка? 8 916 123-45-67"}}, ensure_ascii=False).encode()
        return "/hooks/telegram/bench_bot", body, {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
    if provider == "vk":
        body = json.dumps({"group_id": 1, "type": "message_new", "event_id": f"bench{i:012x}", "v": "5.199",
                           "secret": VK_SECRET, "object": {"message": {
                               "id": i, "date": 1767261600 + i, "peer_id": uid, "from_id": uid, "out": 0,
                               "text": "Добрый день, интересует опт", "conversation_message_id": i,
                               "attachments": []}, "client_info": {}}}, ensure_ascii=False).encode()
        return "/hooks/vk/bench_group", body, {}
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {
            "messaging_product": "whatsapp", "metadata": {"display_phone_number": "74950000000",
                                                          "phone_number_id": "1"},
            "contacts": [{"profile": {"name": "Иван"}, "wa_id": f"7916{uid:07d}"}],
            "messages": [{"from": f"7916{uid:07d}", "id": f"wamid.BENCH{i:012d}", "timestamp": "1767261600",
                          "type": "text", "text": {"body": "Нужен расчёт"}}]}}]}]}, ensure_ascii=False).encode()
    sig = "sha256=" + hmac.new(WA_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return "/hooks/whatsapp/bench", body, {"X-Hub-Signature-256": sig}


def bare_app() -> web.Application:
    """Bare aiohttp: the same secret check and JSON parse, nothing stored."""

    async def telegram(request: web.Request) -> web.Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "").encode()
        if not hmac.compare_digest(given, TG_SECRET.encode()):
            return web.Response(status=403)
        json.loads(await request.read())
        return web.Response(status=200)

    async def vk(request: web.Request) -> web.Response:
        data = json.loads(await request.read())
        if not hmac.compare_digest(str(data.get("secret", "")).encode(), VK_SECRET.encode()):
            return web.Response(status=403)
        return web.Response(text="ok")

    async def whatsapp(request: web.Request) -> web.Response:
        body = await request.read()
        expected = "sha256=" + hmac.new(WA_SECRET.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("X-Hub-Signature-256", "").encode(), expected.encode()):
            return web.Response(status=403)
        json.loads(body)
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/hooks/telegram/{bot}", telegram)
    app.router.add_post("/hooks/vk/{group}", vk)
    app.router.add_post("/hooks/whatsapp/{account}", whatsapp)
    return app


def gateway_app(workdir: str, process: bool) -> web.Application:
    from gateway.config import Settings
    from gateway.connectors import registry

    registry.CONNECTORS.update(CONNECTORS)
    from gateway.app import create_app

    settings = Settings(
        database_url=f"sqlite:///{workdir}/bench.db", files_dir=Path(workdir) / "files", log_level="warning",
        messengers={
            "telegram": [{"bot": "bench_bot", "token": "1:bench", "secret_token": TG_SECRET, "fetch_media": False}],
            "vk": [{"group": "bench_group", "secret": VK_SECRET, "confirmation": "x", "fetch_profiles": False}],
            "whatsapp": [{"account": "bench", "verify_token": "v", "app_secret": WA_SECRET, "fetch_media": False}],
        })
    from gateway.logs import configure_logging

    configure_logging("json", "warning")
    return create_app(settings, run_dispatcher=process)


def serve(kind: str, port: int, workdir: str, process: bool, ready: Any) -> None:
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass

    async def main() -> None:
        app = bare_app() if kind == "bare" else gateway_app(workdir, process)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        await asyncio.Event().wait()

    asyncio.run(main())


async def load(url: str, provider: str, total: int, concurrency: int, offset: int) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = iter(range(total))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def worker() -> None:
            for i in counter:
                path, body, headers = request_for(provider, offset + i)
                started = time.perf_counter()
                async with http.post(url + path, data=body, headers={"Content-Type": "application/json",
                                                                     **headers}) as resp:
                    await resp.read()
                latencies.append(time.perf_counter() - started)
                statuses[resp.status] = statuses.get(resp.status, 0) + 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    latencies.sort()
    return {"rate": total / elapsed, "p50": statistics.median(latencies) * 1000,
            "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000, "statuses": statuses}


def run(kind: str, args: argparse.Namespace, workdir: str) -> dict[str, Any]:
    port = free_port()
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    proc = ctx.Process(target=serve, args=(kind, port, workdir, args.process, ready), daemon=True)
    proc.start()
    try:
        deadline = time.monotonic() + 60
        while not ready.wait(0.2):
            if not proc.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the {kind} server did not start (exit code {proc.exitcode})")
        url = f"http://127.0.0.1:{port}"
        asyncio.run(load(url, args.provider, min(500, args.requests), args.concurrency, 10_000_000))  # warm-up
        return asyncio.run(load(url, args.provider, args.requests, args.concurrency, 0))
    finally:
        proc.terminate()
        proc.join(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--provider", choices=("telegram", "vk", "whatsapp"), default="telegram")
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--process", action="store_true", help="let the gateway process events meanwhile")
    args = parser.parse_args()
    try:
        import gateway.app  # noqa: F401
    except ImportError as exc:
        print(f"gateway.app.create_app is not importable ({exc}): nothing to compare", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="lg-bench-") as workdir:
        bare = run("bare", args, workdir)
        ours = run("gateway", args, workdir)
    for name, r in (("bare aiohttp", bare), ("gateway", ours)):
        print(f"{name:13s} {r['rate']:8.0f} updates/s acknowledged   p50 {r['p50']:6.2f} ms   p99 {r['p99']:6.2f} ms"
              f"   statuses {r['statuses']}")
    print(f"ratio gateway/bare: {ours['rate'] / bare['rate']:.2f} ({args.provider}, {args.requests} requests, "
          f"{args.concurrency} concurrent, processing {'on' if args.process else 'off'})")
    ok = all(set(r["statuses"]) == {200} for r in (bare, ours))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
