"""Realistic, signed Mango call flows sent to a running gateway (`gateway simulate mango`).

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
from typing import TYPE_CHECKING

import httpx

from gateway.connectors.telephony.mango.flows import KINDS, Flow, FlowFactory
from gateway.connectors.telephony.mango.signature import sign
from gateway.core.errors import ConfigError
from gateway.options import config_option

if TYPE_CHECKING:
    from gateway.config import Settings

__all__ = ["SendPlan", "main", "plan_deliveries"]

DESCRIPTION = ("Send realistic Mango Office call flows (incoming through the IVR, missed, transferred, outgoing, "
               "internal, callbacks), signed with the account's key and salt, to a running gateway. Some "
               "deliveries are sent twice and some out of order, as Mango does.")


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


def _credentials(args: argparse.Namespace, settings: Settings | None) -> tuple[str, str, list[str], list[str]]:
    if args.key and args.salt:
        return args.key, args.salt, ["74951234567", "74957654321"], ["101", "102", "103"]
    if settings is None:
        from gateway.config import load_settings

        settings = load_settings(getattr(args, "config", None))
    accounts = settings.telephony.mango
    conf = next((m for m in accounts if m.account == args.account), None) if args.account else \
        (accounts[0] if accounts else None)
    if conf is None:
        which = f"account {args.account!r}" if args.account else "account"
        raise ConfigError(f"config error: telephony.mango: no {which} in {settings.config}; add "
                          "[[telephony.mango]], or give --key and --salt")
    args.account = conf.account
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
    if "404" in statuses:
        print(f"  404: the gateway has no Mango account {args.account!r}; run it with settings that have one "
              "(`gateway demo` has `main`)")
    elif "403" in statuses:
        print("  403: the gateway refused the signature; its account has another key or salt than these settings")
    return 0 if set(statuses) <= {"200"} else 1


def main(argv: list[str], *, settings: Settings | None = None) -> int:
    """`gateway simulate mango ...`; the account comes from `settings`, else from the settings file."""
    p = argparse.ArgumentParser(prog="gateway simulate mango", parents=[config_option()], description=DESCRIPTION)
    p.add_argument("--url", default="http://127.0.0.1:8080", help="the gateway's base URL (default %(default)s)")
    p.add_argument("--account", help="the [[telephony.mango]] account (default: the first)")
    p.add_argument("--calls", type=int, default=20, help="calls to simulate (default %(default)s)")
    p.add_argument("--rate", type=float, default=5.0, help="calls started per second (default %(default)s)")
    p.add_argument("--key", help="vpbx_api_key, instead of the account's")
    p.add_argument("--salt", help="vpbx_api_salt, instead of the account's")
    p.add_argument("--kind", choices=KINDS, help="only this kind of call")
    p.add_argument("--duplicates", type=float, default=0.1, help="share of deliveries sent twice (default 0.1)")
    p.add_argument("--reorder", type=float, default=0.2, help="share of deliveries swapped with the next (default "
                   "0.2)")
    p.add_argument("--seed", type=int, default=1, help="random choices derive from it (default 1)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for each answer (default 10)")
    p.add_argument("--concurrency", type=int, default=32, help="requests in flight at most (default 32)")
    args = p.parse_args(argv)
    if args.calls < 0 or args.rate <= 0:
        p.error("--calls must be >= 0 and --rate > 0")
    if args.account is None and args.key and args.salt:
        args.account = "main"
    try:
        key, salt, lines, extensions = _credentials(args, settings)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    return asyncio.run(_run(args, key, salt, lines, extensions))
