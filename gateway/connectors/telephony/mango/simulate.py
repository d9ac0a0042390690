"""`gateway simulate mango --url URL --account main --calls N --rate R`: signed call flows to a gateway.

Some deliveries are sent twice and some swapped with their neighbour, as Mango's parallel
notifications do; the answers' statuses are counted.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from gateway.connectors.telephony.mango.flows import KINDS, Flow, FlowFactory
from gateway.connectors.telephony.mango.signature import sign
from gateway.core.errors import ConfigError

__all__ = ["SendPlan", "main", "plan_deliveries"]


@dataclass(slots=True)
class SendPlan:
    requests: list[tuple[str, str]] = field(default_factory=list)  # (event name, json)
    duplicated: int = 0
    swapped: int = 0


def plan_deliveries(flow: Flow, rng: random.Random, *, duplicate: float, reorder: float) -> SendPlan:
    """The flow's deliveries with some sent twice and some swapped with the next one."""
    plan = SendPlan(list(flow.deliveries))
    for i in range(len(plan.requests) - 1):
        if rng.random() < reorder:
            plan.requests[i], plan.requests[i + 1] = plan.requests[i + 1], plan.requests[i]
            plan.swapped += 1
    for item in list(plan.requests):
        if rng.random() < duplicate:
            plan.requests.insert(rng.randint(0, len(plan.requests)), item)
            plan.duplicated += 1
    return plan


def _credentials(args: argparse.Namespace) -> tuple[str, str, list[str], list[str]]:
    if args.key and args.salt:
        return args.key, args.salt, ["74951234567", "74957654321"], ["101", "102", "103"]
    from gateway.config import load_settings

    settings = load_settings(args.config)
    conf = next((m for m in settings.telephony.mango if m.account == args.account), None)
    if conf is None:
        raise ConfigError(f"no [[telephony.mango]] account {args.account!r} in the config; or pass --key/--salt")
    return conf.api_key, conf.api_salt, list(conf.lines) or ["74951234567"], list(conf.extensions) or ["101", "102"]


async def _send_flow(client: httpx.AsyncClient, base: str, key: str, salt: str, plan: SendPlan,
                     statuses: Counter[str], slots: asyncio.Semaphore) -> None:
    for name, text in plan.requests:
        path = f"result/{name.removeprefix('result/')}" if name.startswith("result/") else f"events/{name}"
        try:
            form = {"vpbx_api_key": key, "sign": sign(key, text, salt), "json": text}
            async with slots:  # a bounded number in flight, as a PBX's sender has
                response = await client.post(f"{base}/{path}", data=form)
            statuses[str(response.status_code)] += 1
        except httpx.HTTPError as exc:
            statuses[exc.__class__.__name__] += 1


async def _run(args: argparse.Namespace, key: str, salt: str, lines: list[str], extensions: list[str]) -> int:
    rng = random.Random(args.seed)
    factory = FlowFactory(seed=args.seed, start=int(time.time()) - 3600, lines=lines, extensions=extensions)
    base = f"{args.url.rstrip('/')}/hooks/mango/{args.account}"
    kinds: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    sent = duplicated = swapped = 0
    started = time.monotonic()
    slots = asyncio.Semaphore(args.concurrency)
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    async with httpx.AsyncClient(timeout=args.timeout, limits=limits) as client:
        tasks = []
        for i in range(args.calls):
            flow = factory.next(args.kind)
            plan = plan_deliveries(flow, rng, duplicate=args.duplicates, reorder=args.reorder)
            kinds[flow.kind] += 1
            sent, duplicated, swapped = sent + len(plan.requests), duplicated + plan.duplicated, swapped + plan.swapped
            tasks.append(asyncio.create_task(_send_flow(client, base, key, salt, plan, statuses, slots)))
            delay = started + (i + 1) / args.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        await asyncio.gather(*tasks)
    elapsed = time.monotonic() - started
    print(f"mango simulate: {args.calls} calls to {base} in {elapsed:.1f} s")
    print("  flows: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    print(f"  requests: {sent} ({duplicated} duplicates, {swapped} swapped with the next)")
    print("  answers: " + ", ".join(f"{s} {n}" for s, n in sorted(statuses.items())))
    return 0 if set(statuses) <= {"200"} else 1


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="gateway simulate mango", description=__doc__.splitlines()[0])
    p.add_argument("--url", default="http://127.0.0.1:8080", help="the gateway's base URL")
    p.add_argument("--account", default="main")
    p.add_argument("--calls", type=int, default=20)
    p.add_argument("--rate", type=float, default=5.0, help="calls started per second")
    p.add_argument("--key", help="vpbx_api_key (default: from the config file)")
    p.add_argument("--salt", help="vpbx_api_salt (default: from the config file)")
    p.add_argument("--config", help="TOML file to read the account from")
    p.add_argument("--kind", choices=KINDS, help="only this kind of flow")
    p.add_argument("--duplicates", type=float, default=0.1, help="share of deliveries sent twice")
    p.add_argument("--reorder", type=float, default=0.2, help="share of deliveries swapped with the next")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout", type=float, default=10.0)
    p.add_argument("--concurrency", type=int, default=32, help="requests in flight at most")
    args = p.parse_args(argv)
    if args.calls < 0 or args.rate <= 0:
        p.error("--calls must be >= 0 and --rate > 0")
    try:
        key, salt, lines, extensions = _credentials(args)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    return asyncio.run(_run(args, key, salt, lines, extensions))
