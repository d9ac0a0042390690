"""`gateway poll-mail [--once]` and `gateway mail import --since 2024-01-01 --mailbox sales`."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from gateway.connectors.base import EventLogContext, ServiceContext
from gateway.core.errors import ConfigError, GatewayError
from gateway.options import Actions, config_option

if TYPE_CHECKING:
    from gateway.config import Settings
    from gateway.config.email import MailboxSettings

__all__ = ["mail_main", "main", "poll_main"]


def _load(config: str | None) -> Settings:
    from gateway.config import load_settings
    from gateway.logs import configure_logging

    settings = load_settings(config)
    configure_logging(settings.log_format, settings.log_level)
    return settings


def _mailboxes(settings: Settings, name: str | None) -> list[MailboxSettings]:
    boxes = [m for m in settings.email.mailboxes if name is None or m.name == name]
    if not boxes:
        known = ", ".join(m.name for m in settings.email.mailboxes) or "none configured"
        raise ConfigError(f"config error: email.mailboxes: no mailbox {name!r} (known: {known})" if name
                          else "config error: email.mailboxes: no mailbox configured")
    return boxes


def _poll(args: argparse.Namespace, settings: Settings, ctx: ServiceContext) -> int:
    from gateway.connectors.email.poller import poll_once

    boxes = _mailboxes(settings, args.mailbox)
    if args.once:
        failed = 0
        for mailbox in boxes:
            report = poll_once(settings, mailbox, ctx, now=datetime.now(UTC))
            status = "locked by another poller" if report.locked else (report.error or "ok")
            print(f"{mailbox.name}: {report.fetched} messages stored; {status}")
            failed += bool(report.error)
        return 1 if failed else 0
    scoped = settings.model_copy(update={"email": settings.email.model_copy(update={"mailboxes": boxes})})
    asyncio.run(_serve(scoped, ctx))
    return 0


async def _serve(settings: Settings, ctx: ServiceContext) -> None:
    from gateway.connectors.email.service import run_pollers

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await run_pollers(settings, ctx, stop)


def _import(args: argparse.Namespace, settings: Settings, ctx: ServiceContext) -> int:
    from gateway.connectors.email.importer import import_history

    mailbox = _mailboxes(settings, args.mailbox)[0]
    report = import_history(settings, mailbox, ctx, since=args.since, until=args.until, now=datetime.now(UTC),
                            stream=sys.stderr)
    found = ", ".join(f"{folder} {count}" for folder, count in report.found.items()) or "no folders"
    print(f"{mailbox.name}: {report.stored} messages offered to the event log ({found}); known ones ignored")
    return 0


def _run(args: argparse.Namespace, ctx: ServiceContext | None, settings: Settings | None) -> int:
    own = ctx is None
    try:
        settings = settings or _load(getattr(args, "config", None))
        _mailboxes(settings, args.mailbox)  # a wrong name stops here, before the database is touched
        ctx = ctx or EventLogContext(settings)
        status: int = args.func(args, settings, ctx)
        return status
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except GatewayError as exc:
        print(f"mail: {exc.message}", file=sys.stderr)
        return 1
    finally:
        if own and isinstance(ctx, EventLogContext):
            ctx.close()


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _poll_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gateway poll-mail", parents=[config_option()],
                                description="Poll the configured mailboxes (IMAP) on their own: needed when "
                                "`gateway serve` runs with Redis, which then leaves mail to this command.")
    p.add_argument("--once", action="store_true", help="poll each mailbox once and exit")
    p.add_argument("--mailbox", help="only this [[email.mailboxes]] name")
    p.set_defaults(func=_poll)
    return p


def _mail_parser() -> argparse.ArgumentParser:
    mail = Actions("gateway mail", "Mailbox tools: import a mailbox's history as its contacts' history.")
    i = mail.add("import", "import history as contact history (never Unsorted leads)",
                 "Import a mailbox's past mail as its contacts' history; it never creates Unsorted leads. Safe to "
                 "run again.")
    i.add_argument("--since", type=_day, required=True, help="first day, YYYY-MM-DD")
    i.add_argument("--until", type=_day, default=None, help="the day after the last one (default: up to now)")
    i.add_argument("--mailbox", required=True, help="the [[email.mailboxes]] name")
    i.set_defaults(func=_import)
    return mail.parser


def poll_main(argv: list[str], *, ctx: ServiceContext | None = None, settings: Settings | None = None) -> int:
    """`gateway poll-mail [--once] [--mailbox NAME] [--config FILE]`."""
    return _run(_poll_parser().parse_args(argv), ctx, settings)


def mail_main(argv: list[str], *, ctx: ServiceContext | None = None, settings: Settings | None = None) -> int:
    """`gateway mail import --since YYYY-MM-DD --mailbox NAME [--until YYYY-MM-DD] [--config FILE]`."""
    return _run(_mail_parser().parse_args(argv), ctx, settings)


def main(argv: list[str], **kwargs: Any) -> int:
    """Either command with its name first: ["poll-mail", ...] or ["mail", "import", ...]."""
    if argv[:1] == ["poll-mail"]:
        return poll_main(argv[1:], **kwargs)
    if argv[:1] == ["mail"]:
        return mail_main(argv[1:], **kwargs)
    print("usage: gateway poll-mail [--once] | gateway mail import --since YYYY-MM-DD --mailbox NAME",
          file=sys.stderr)
    return 2
