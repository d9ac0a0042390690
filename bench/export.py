"""Exporting 1,000,000 leads: rows per second and memory, per format and database.

    .venv/bin/python bench/export.py [--rows 1000000] [--db sqlite,postgresql] [--formats csv,xlsx]
        [--sqlite-file F] [--pg-database NAME] [--tracemalloc]

Uses the store bench/journal.py builds (reuses --sqlite-file / --pg-database when they hold leads,
otherwise generates them). Each export runs in its own process, the way `gateway export` does it
(pages of 1,000 rows read in short transactions, written as they come; XLSX streamed too), so that its resident memory
is its own: printed are the rows per second, the peak resident memory above the process's start,
and the resident memory sampled at 10 %, 50 % and 100 % of the rows (flat means it does not grow).
With --tracemalloc, the peak of Python allocations is measured too (slower run).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select, text

from bench.journal import add_indexes, database, generate, settings_for
from gateway.export.exporter import lead_export, write_csv, write_xlsx
from gateway.store.db import make_engine
from gateway.store.journal import JournalFilters
from gateway.store.schema import leads


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def one(url: str, fmt: str, out: Path, use_tracemalloc: bool) -> dict[str, Any]:
    """One export in this process; what it measured."""
    settings = settings_for(url, Path("/tmp/lg-bench-files"))
    engine = make_engine(url)
    with engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(leads)).scalar_one())
    base = rss_mb()
    peak = [base]
    marks: dict[str, float] = {}
    done = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.05):
            peak[0] = max(peak[0], rss_mb())

    def progress(rows: int) -> None:
        done[0] += rows
        for share in (10, 50, 100):
            if f"{share}%" not in marks and done[0] >= total * share / 100:
                marks[f"{share}%"] = round(rss_mb() - base, 1)

    threading.Thread(target=sample, daemon=True).start()
    if use_tracemalloc:
        tracemalloc.start()
    t0 = time.perf_counter()
    export = lead_export(engine, JournalFilters.from_query({}, settings))
    with out.open("wb") as fh:
        if fmt == "csv":
            write_csv(export, fh, ";", progress)
        else:
            write_xlsx(export, fh, progress)
    seconds = time.perf_counter() - t0
    stop.set()
    result = {"rows": done[0], "seconds": seconds, "rows_per_s": done[0] / seconds,
              "size_mb": out.stat().st_size / 2**20,
              "rss_start_mb": round(base, 1), "rss_peak_over_start_mb": round(max(peak[0], rss_mb()) - base, 1),
              "rss_over_start_at": marks}
    if use_tracemalloc:
        result["tracemalloc_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    engine.dispose()
    out.unlink(missing_ok=True)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--db", default="sqlite,postgresql")
    p.add_argument("--formats", default="csv,xlsx")
    p.add_argument("--sqlite-file")
    p.add_argument("--pg-database")
    p.add_argument("--tracemalloc", action="store_true")
    p.add_argument("--one", nargs=3, metavar=("URL", "FORMAT", "OUT"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.one:
        url, fmt, out = args.one
        print(json.dumps(one(url, fmt, Path(out), args.tracemalloc)))
        return 0
    for kind in args.db.split(","):
        with database(kind, args.sqlite_file, args.pg_database) as url:
            engine = make_engine(url)
            with engine.connect() as conn:
                exists = conn.execute(text("SELECT 1 FROM sqlite_master WHERE name = 'leads'") if kind == "sqlite"
                                      else text("SELECT to_regclass('leads')")).scalar()
                count = conn.execute(select(func.count()).select_from(leads)).scalar() if exists else 0
            if not count:
                print(f"{kind}: generating {args.rows:,} leads", file=sys.stderr)
                generate(engine, settings_for(url, Path("/tmp/lg-bench-files")), args.rows)
                add_indexes(engine, search=False)
                count = args.rows
            engine.dispose()
            for fmt in args.formats.split(","):
                out = Path("/tmp") / f"lg-bench-export-{os.getpid()}.{fmt}"
                cmd = [sys.executable, __file__, "--one", url, fmt, str(out)] + \
                    (["--tracemalloc"] if args.tracemalloc else [])
                result = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
                extra = f", tracemalloc peak {result['tracemalloc_peak_mb']} MB" if "tracemalloc_peak_mb" in result \
                    else ""
                print(f"{kind} {fmt}: {result['rows']:,} rows in {result['seconds']:.1f} s = "
                      f"{result['rows_per_s']:,.0f} rows/s, file {result['size_mb']:.0f} MB; resident memory "
                      f"{result['rss_start_mb']} MB at start, peak +{result['rss_peak_over_start_mb']} MB, "
                      f"at 10/50/100 %: {result['rss_over_start_at']}{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
