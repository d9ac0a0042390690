"""`gateway simulate telegram|vk|whatsapp`: post realistic signed chat traffic to a running gateway."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING, Any

from gateway.config.messengers import MessengersSettings
from gateway.connectors.messengers.edge import find_account
from gateway.connectors.messengers.scenarios import Delivery, deliveries
from gateway.core.errors import ConfigError, GatewayError, UpstreamError
from gateway.egress import AsyncOutboundClient, OutboundPolicy
from gateway.options import config_option

if TYPE_CHECKING:
    from gateway.config import Settings

__all__ = ["Report", "main", "simulate"]


@dataclass(slots=True)
class Report:
    """sent = acknowledged + refused + failed: a run counts only when nothing is missing."""

    sent: int = 0
    acknowledged: int = 0
    refused: Counter[int] = field(default_factory=Counter)  # HTTP status -> count
    failed: Counter[str] = field(default_factory=Counter)  # error -> count
    steps: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def lines(self) -> list[str]:
        rate = self.sent / self.seconds if self.seconds else 0.0
        out = [f"sent {self.sent} in {self.seconds:.2f} s ({rate:.1f}/s): acknowledged {self.acknowledged}, "
               f"refused {sum(self.refused.values())}, failed {sum(self.failed.values())}"]
        out += [f"  refused with HTTP {status}: {n}" for status, n in sorted(self.refused.items())]
        out += [f"  failed: {error}: {n}" for error, n in sorted(self.failed.items())]
        out.append("  steps: " + ", ".join(f"{step} {n}" for step, n in sorted(self.steps.items())))
        return out


def _account(messengers: MessengersSettings, provider: str, name: str) -> object:
    if provider == "telegram":
        return find_account(messengers.telegram, name, "telegram bot")
    if provider == "vk":
        return find_account(messengers.vk, name, "vk group")
    return find_account(messengers.whatsapp, name, "whatsapp account")


async def _post(http: AsyncOutboundClient, base: str, delivery: Delivery, report: Report) -> None:
    headers = {"Content-Type": "application/json", **delivery.headers}
    try:
        response = await http.send_once("POST", base.rstrip("/") + delivery.path, content=delivery.body,
                                        headers=headers)
    except UpstreamError as exc:
        report.failed[exc.message] += 1
        return
    if 200 <= response.status_code < 300:
        report.acknowledged += 1
    else:
        report.refused[response.status_code] += 1


async def simulate(messengers: MessengersSettings, provider: str, account: str, url: str, count: int, rate: float,
                   http: AsyncOutboundClient, *, seed: int, t: int) -> Report:
    """Send `count` deliveries at about `rate` per second (0: as fast as possible), concurrently."""
    settings = _account(messengers, provider, account)
    report = Report()
    started = time.monotonic()
    tasks: list[asyncio.Task[None]] = []
    for i, delivery in enumerate(islice(deliveries(settings, seed, t), count)):  # type: ignore[arg-type]
        if rate > 0:
            delay = started + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        report.sent += 1
        report.steps[delivery.step] += 1
        tasks.append(asyncio.create_task(_post(http, url, delivery, report)))
    await asyncio.gather(*tasks)
    report.seconds = time.monotonic() - started
    return report


DESCRIPTIONS = {
    "telegram": "Send Telegram Bot API updates, with the bot's secret_token, to a running gateway",
    "vk": "Send VK Callback API events, with the group's secret, to a running gateway",
    "whatsapp": "Send WhatsApp Cloud API notifications, signed with the app secret, to a running gateway",
}
WHAT = {"telegram": "[[messengers.telegram]] bot", "vk": "[[messengers.vk]] group",
        "whatsapp": "[[messengers.whatsapp]] account"}


def _parser(provider: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"gateway simulate {provider}", parents=[config_option()],
        description=f"{DESCRIPTIONS[provider]}: each simulated person writes, follows up, shares a phone number, "
                    "sends a photo and edits a message; between them come updates the gateway does not turn into "
                    "leads.")
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="the gateway's base URL (default %(default)s)")
    parser.add_argument("--account", help=f"the {WHAT[provider]} (default: the first)")
    parser.add_argument("--count", type=int, default=35, help="deliveries to send, 7 per person (default 35)")
    parser.add_argument("--rate", type=float, default=20.0, help="deliveries per second; 0 sends as fast as possible "
                        "(default 20)")
    parser.add_argument("--seed", type=int, help="ids derive from it (default: the clock)")
    return parser


def _first(messengers: MessengersSettings, provider: str) -> str:
    accounts: list[Any] = getattr(messengers, provider)
    if not accounts:
        raise ConfigError(f"config error: messengers.{provider}: none configured; add a {WHAT[provider]}, or run "
                          "against `gateway demo` without a settings file")
    return str(accounts[0].name)


async def _run(args: argparse.Namespace, provider: str, messengers: MessengersSettings) -> Report:
    # The target is usually this machine: private addresses are allowed for this tool only.
    http = AsyncOutboundClient(OutboundPolicy(timeout_s=30, attempts=1, allow_private=True))
    seed = args.seed if args.seed is not None else int(time.time())
    try:
        return await simulate(messengers, provider, args.account, args.url, args.count, args.rate, http,
                              seed=seed, t=int(time.time()))
    finally:
        await http.aclose()


def main(argv: list[str], *, settings: Settings | None = None) -> int:
    """`gateway simulate telegram|vk|whatsapp …` (argv from the kind on); accounts from `settings` or the file."""
    if not argv or argv[0] not in DESCRIPTIONS:
        print(f"usage: gateway simulate {{{','.join(DESCRIPTIONS)}}} [options]", file=sys.stderr)
        return 2
    provider = argv[0]
    args = _parser(provider).parse_args(argv[1:])
    try:
        if settings is None:
            from gateway.config import load_settings

            settings = load_settings(getattr(args, "config", None))
        args.account = args.account or _first(settings.messengers, provider)
        report = asyncio.run(_run(args, provider, settings.messengers))
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except GatewayError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    print("\n".join(report.lines()))
    if 404 in report.refused:
        print(f"  404: the gateway has no {WHAT[provider]} {args.account!r}; run it with settings that have one "
              "(`gateway demo` has one of each)")
    elif 403 in report.refused:
        print("  403: the gateway refused the secret or signature; its settings differ from these")
    return 0 if report.acknowledged == report.sent else 1
