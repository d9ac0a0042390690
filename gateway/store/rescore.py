"""`gateway rescore`: apply the configured point rules to every lead again (after the rules change)."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, select, update

from gateway.config import load_settings
from gateway.core.errors import ConfigError
from gateway.core.scoring import score
from gateway.options import config_option
from gateway.store.db import make_engine
from gateway.store.schema import attachments, leads

__all__ = ["main", "rescore_all", "rescore_batch"]


def _attachment_counts(conn: Connection, ids: list[int]) -> dict[int, int]:
    rows = conn.execute(select(attachments.c.lead_id, func.count()).where(
        attachments.c.lead_id.in_(ids), attachments.c.role == "attachment").group_by(attachments.c.lead_id))
    return {lead_id: int(n) for lead_id, n in rows}


def rescore_batch(conn: Connection, rules: Sequence[Any], after_id: int, limit: int) -> tuple[int, int, int]:
    """Rescore up to `limit` leads with ids above `after_id`: (last id, leads seen, leads changed)."""
    rows = [dict(r) for r in conn.execute(select(leads).where(leads.c.id > after_id)
                                          .order_by(leads.c.id).limit(limit)).mappings()]
    if not rows:
        return after_id, 0, 0
    counts = _attachment_counts(conn, [r["id"] for r in rows])
    changed = []
    for r in rows:
        points, details = score(rules, {**r, "attachment_count": counts.get(r["id"], 0)})
        if points != r["score"] or details != (r["score_details"] or []):
            changed.append({"lead": r["id"], "points": points, "details": details})
    if changed:
        conn.execute(update(leads).where(leads.c.id == bindparam("lead"))
                     .values(score=bindparam("points"), score_details=bindparam("details")), changed)
    return rows[-1]["id"], len(rows), len(changed)


def rescore_all(engine: Engine, rules: Sequence[Any], *, batch: int = 1000, dry_run: bool = False,
                progress: Any = None) -> tuple[int, int]:
    """Every lead in batches of `batch`, each batch its own short transaction: (seen, changed)."""
    with engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(leads)).scalar_one())
    last, seen, changed = 0, 0, 0
    while True:
        with engine.connect() as conn:
            last, n, c = rescore_batch(conn, rules, last, batch)
            if dry_run:
                conn.rollback()
            else:
                conn.commit()
        if not n:
            return seen, changed
        seen, changed = seen + n, changed + c
        if progress is not None:
            progress(seen, total, changed)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="gateway rescore", parents=[config_option()],
                                description="Recompute every lead's score and the rules that gave it, with the "
                                "point rules now in the configuration.")
    p.add_argument("--batch", type=int, default=1000, help="leads per transaction")
    p.add_argument("--dry-run", action="store_true", help="count what would change, change nothing")
    args = p.parse_args(argv)
    try:
        settings = load_settings(getattr(args, "config", None))
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    engine = make_engine(settings.database_url, synchronous=settings.sqlite_synchronous)
    started = time.monotonic()

    def progress(seen: int, total: int, changed: int) -> None:
        rate = seen / max(time.monotonic() - started, 1e-9)
        print(f"\rrescored {seen:,}/{total:,} leads, {changed:,} changed ({rate:,.0f}/s)", end="", file=sys.stderr)

    try:
        seen, changed = rescore_all(engine, settings.scoring.rules, batch=max(1, args.batch), dry_run=args.dry_run,
                                    progress=progress)
    finally:
        engine.dispose()
    print(file=sys.stderr)
    verb = "would change" if args.dry_run else "changed"
    print(f"{seen:,} leads rescored with {len(settings.scoring.rules)} rules; {changed:,} {verb}")
    return 0
