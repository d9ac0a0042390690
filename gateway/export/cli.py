"""`gateway export`: the journal (or deals) with a filter, to a CSV or XLSX file, with progress on stderr."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import IO, Any

from gateway.config import load_settings
from gateway.core.errors import ConfigError, GatewayError
from gateway.export.deal_list import DealFilters, count_deals
from gateway.export.exporter import Export, deal_export, lead_export, write_csv, write_xlsx
from gateway.export.writers import SEPARATORS
from gateway.options import config_option
from gateway.store.db import make_engine
from gateway.store.journal import JournalFilters, count_leads

__all__ = ["main"]

LEAD_OPTIONS = ("from", "to", "by", "channel", "kind", "quality", "status", "source", "source-group", "manager",
                "department", "direction", "pipeline", "stage", "tag", "advertising", "needs-callback", "q", "sort",
                "manager-mode")
DEAL_OPTIONS = ("from", "to", "pipeline", "stage", "responsible", "status", "tag")


class Progress:
    """A one-line progress bar on stderr, redrawn at most five times a second."""

    def __init__(self, total: int, out: IO[str]) -> None:
        self.total, self.out, self.done = total, out, 0
        self.started = self.drawn = time.monotonic()

    def __call__(self, rows: int) -> None:
        self.done += rows
        now = time.monotonic()
        if now - self.drawn >= 0.2 or self.done >= self.total:
            self.drawn = now
            self.draw(now)

    def draw(self, now: float, end: str = "") -> None:
        share = min(1.0, self.done / self.total) if self.total else 1.0
        bar = "#" * int(share * 30)
        rate = self.done / max(now - self.started, 1e-9)
        self.out.write(f"\r[{bar:<30}] {share:6.1%} {self.done:,}/{self.total:,} rows, {rate:,.0f} rows/s{end}")
        self.out.flush()

    def finish(self) -> None:
        if self.done >= self.total:  # the last page already drew the full bar
            self.out.write("\n")
        else:
            self.draw(time.monotonic(), end="\n")


FILTER_HELP = {
    "from": "first day (YYYY-MM-DD) of the period: leads received, or deals created",
    "to": "last day (YYYY-MM-DD) of the period",
    "by": "leads: the period counts the day they arrived (received, the default) or were taken into work (taken)",
    "channel": "leads: mango, imap, forms, telegram, vk, whatsapp, manual",
    "kind": "leads: call, mail, form, chat, manual",
    "quality": "leads: target, repeat, non_target, unverified (or unsorted)",
    "status": "leads: unsorted, accepted, declined, linked, attached; deals: open, won, lost",
    "source": "leads: a source's name",
    "source-group": "leads: a source group's name",
    "manager": "leads: the manager's user name (see --manager-mode)",
    "manager-mode": "leads: the manager is who took the lead (taken, the default) or the deal's (responsible)",
    "department": "leads: the manager's department",
    "direction": "leads: in, out, internal",
    "pipeline": "a pipeline's name",
    "stage": "a stage's name",
    "responsible": "deals: the responsible user's name",
    "tag": "a tag",
    "advertising": "leads: true (advertising only) or false (the rest)",
    "needs-callback": "leads: true for missed calls nobody has called back yet",
    "q": "leads: words or a phone number to search for",
    "sort": "leads: received (newest first, default) or score (best first)",
}
SEPARATOR_NAMES = ("comma", "semicolon", "tab")  # `,` and `;` are accepted as themselves too


def _separator(value: str) -> str:
    if value not in SEPARATORS:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(SEPARATOR_NAMES)}")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gateway export", parents=[config_option()],
                                description="Write the lead journal (or the deals) to a CSV or XLSX file, with the "
                                "journal's filters. Repeat a filter or separate its values by commas to match any "
                                "of them.",
                                epilog="Example: gateway export --format xlsx --out leads.xlsx --from 2024-05-01 "
                                "--channel mango,forms")
    p.add_argument("--format", choices=["csv", "xlsx"], required=True, help="the file's format")
    p.add_argument("--out", required=True, metavar="FILE", help="the file to write (`-` for standard output)")
    p.add_argument("--what", choices=["leads", "deals"], default="leads", help="leads (default) or deals")
    p.add_argument("--sep", type=_separator, default=",", metavar="{" + ",".join(SEPARATOR_NAMES) + "}",
                   help="the CSV separator (default: comma)")
    p.add_argument("--include-dismissed", action="store_true", help="the manager filter matches dismissed users too")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    filters = p.add_argument_group("filters")
    for name in sorted(set(LEAD_OPTIONS) | set(DEAL_OPTIONS)):
        filters.add_argument(f"--{name}", action="append", dest=name.replace("-", "_"), metavar="VALUE",
                             help=FILTER_HELP[name])
    return p


def _query(args: argparse.Namespace, names: tuple[str, ...]) -> dict[str, str]:
    query = {n.replace("-", "_"): ",".join(getattr(args, n.replace("-", "_"))) for n in names
             if getattr(args, n.replace("-", "_"))}
    if args.include_dismissed and "manager_mode" in {n.replace("-", "_") for n in names}:
        query["include_dismissed"] = "true"
    return query


def _export(args: argparse.Namespace, settings: Any, engine: Any) -> tuple[Export, int]:
    if args.what == "deals":
        for name in set(LEAD_OPTIONS) - set(DEAL_OPTIONS):
            if getattr(args, name.replace("-", "_")):
                raise GatewayError(f"--{name} filters leads, not deals")
        df = DealFilters.from_query(_query(args, DEAL_OPTIONS), settings)
        with engine.connect() as conn:
            total = count_deals(conn, df)
        return deal_export(engine, df), total
    if args.responsible:
        raise GatewayError("--responsible filters deals: add --what deals")
    lf = JournalFilters.from_query(_query(args, LEAD_OPTIONS), settings)
    with engine.connect() as conn:
        total = count_leads(conn, lf)
    return lead_export(engine, lf), total


def _write(args: argparse.Namespace, export: Export, progress: Progress | None) -> None:
    if args.out == "-":
        if args.format == "csv":
            write_csv(export, sys.stdout.buffer, args.sep, progress)
        else:
            write_xlsx(export, sys.stdout.buffer, progress)
        return
    out = Path(args.out)
    part = out.with_name(f".{out.name}.{os.getpid()}.part")
    try:
        with part.open("wb") as fh:
            if args.format == "csv":
                write_csv(export, fh, args.sep, progress)
            else:
                write_xlsx(export, fh, progress)
        part.replace(out)
    finally:
        part.unlink(missing_ok=True)


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(getattr(args, "config", None))
        engine = make_engine(settings.database_url, synchronous=settings.sqlite_synchronous)
        try:
            export, total = _export(args, settings, engine)
            progress = None if args.quiet else Progress(total, sys.stderr)
            _write(args, export, progress)
            if progress is not None:
                progress.finish()
        finally:
            engine.dispose()
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except GatewayError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    if args.out != "-":
        print(f"{args.what}: {total:,} rows written to {args.out}", file=sys.stderr)
    return 0
