"""`gateway telegram set-webhook | webhook-info | delete-webhook`: register a bot's webhook."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any
from urllib.parse import urlsplit

from gateway.config.messengers import TelegramSettings
from gateway.connectors.messengers.edge import find_account
from gateway.connectors.messengers.telegram.api import ALLOWED_UPDATES, set_webhook, webhook_call
from gateway.core.errors import GatewayError
from gateway.egress import AsyncOutboundClient, OutboundPolicy
from gateway.options import Actions

__all__ = ["main", "webhook_url"]


def _parser() -> argparse.ArgumentParser:
    telegram = Actions("gateway telegram", "Register, show or delete a Telegram bot's webhook.", dest="command")
    hook = telegram.add("set-webhook", "point the bot at this gateway, with its secret_token",
                        "Tell Telegram to post the bot's updates to this gateway, with the bot's secret_token, which "
                        "the gateway checks on every update.")
    hook.add_argument("--bot", required=True, help="the bot's name in [[messengers.telegram]]")
    hook.add_argument("--url", required=True,
                      help="the gateway's public HTTPS base URL, or the full /hooks/telegram/{bot} URL")
    hook.add_argument("--drop-pending-updates", action="store_true", help="discard updates Telegram still holds")
    hook.add_argument("--max-connections", type=int, choices=range(1, 101), metavar="1-100",
                      help="parallel connections Telegram may open to the gateway (its default: 40)")
    hook.add_argument("--allowed-updates", metavar="TYPES",
                      help=f"comma-separated update types (default: {','.join(ALLOWED_UPDATES)})")
    for name, text in (("webhook-info", "show what Telegram knows of the webhook"),
                       ("delete-webhook", "stop sending updates to the gateway")):
        telegram.add(name, text).add_argument("--bot", required=True, help="the bot's name in [[messengers.telegram]]")
    return telegram.parser


def webhook_url(base: str, bot: str) -> str:
    """The full webhook URL: a bare base URL gets `/hooks/telegram/{bot}` appended."""
    parts = urlsplit(base)
    if parts.scheme != "https" or not parts.netloc:
        raise GatewayError("the webhook URL must be an absolute https:// URL (Telegram requires HTTPS)")
    if parts.path in ("", "/"):
        return f"{base.rstrip('/')}/hooks/telegram/{bot}"
    return base


async def _run(args: argparse.Namespace, bot: TelegramSettings, policy: OutboundPolicy) -> Any:
    http = AsyncOutboundClient(policy)
    try:
        if args.command == "set-webhook":
            allowed = [u.strip() for u in args.allowed_updates.split(",") if u.strip()] \
                if args.allowed_updates else None
            url = webhook_url(args.url, bot.bot)
            await set_webhook(bot, url, http, allowed_updates=allowed,
                              drop_pending_updates=args.drop_pending_updates, max_connections=args.max_connections)
            return {"ok": True, "url": url}
        if args.command == "webhook-info":
            return await webhook_call(bot, "getWebhookInfo", http)
        return {"ok": await webhook_call(bot, "deleteWebhook", http)}
    finally:
        await http.aclose()


def main(argv: list[str]) -> int:
    """Entry point of `gateway telegram …` (argv without the `telegram` word)."""
    from gateway.config import load_settings

    args = _parser().parse_args(argv)
    try:
        settings = load_settings(getattr(args, "config", None))
        bot = find_account(settings.messengers.telegram, args.bot, "telegram bot")
        result = asyncio.run(_run(args, bot, OutboundPolicy(timeout_s=settings.http.outbound_timeout_seconds)))
    except GatewayError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0
