"""Identity lookup time with 10,000 and with 1,000,000 contacts (the ratio should stay below 1.5).

    .venv/bin/python bench/identity.py [--lookups 5000] [--big 1000000]

Contacts and their phone identities are inserted directly; then the pipeline's own lookup
(CrmRepo.find_contacts, one indexed query) runs for random known and unknown numbers.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert

from bench.common import pct, postgres_url, sqlite_url
from gateway.config import load_settings
from gateway.store.bootstrap import bootstrap
from gateway.store.crm import CrmRepo
from gateway.store.db import make_engine
from gateway.store.schema import contacts, identities


def fill(engine, start: int, end: int) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    step = 50_000
    for lo in range(start, end, step):
        hi = min(end, lo + step)
        with engine.begin() as conn:
            conn.execute(insert(contacts), [{"id": i + 1, "name": f"c{i}", "created_at": now, "updated_at": now}
                                            for i in range(lo, hi)])
            conn.execute(insert(identities), [{"contact_id": i + 1, "kind": "phone", "value": f"+7916{i:07d}",
                                               "created_at": now} for i in range(lo, hi)])


def lookups(engine, population: int, n: int) -> list[float]:  # type: ignore[no-untyped-def]
    rnd = random.Random(7)
    times = []
    with engine.connect() as conn:
        repo = CrmRepo(conn, datetime.now(UTC))
        for _ in range(n):
            i = rnd.randrange(population * 2)  # half known, half unknown numbers
            t = time.perf_counter()
            repo.find_contacts([("phone", f"+7916{i:07d}"), ("email", f"u{i}@example.com")])
            times.append(time.perf_counter() - t)
    return times


def run(name: str, url: str, small: int, big: int, n: int) -> None:
    engine = make_engine(url)
    bootstrap(engine, load_settings(None, database_url=url))
    fill(engine, 0, small)
    t_small = lookups(engine, small, n)
    fill(engine, small, big)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    t_big = lookups(engine, big, n)
    engine.dispose()
    m_small, m_big = pct(t_small, 50) * 1e6, pct(t_big, 50) * 1e6
    print(f"{name:<11} {small:>9,} contacts: p50 {m_small:7.1f} µs p99 {pct(t_small, 99) * 1e6:7.1f} µs | "
          f"{big:>9,}: p50 {m_big:7.1f} µs p99 {pct(t_big, 99) * 1e6:7.1f} µs | ratio {m_big / m_small:4.2f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lookups", type=int, default=5000)
    ap.add_argument("--small", type=int, default=10_000)
    ap.add_argument("--big", type=int, default=1_000_000)
    args = ap.parse_args()
    from gateway.logs import configure_logging

    configure_logging("json", "warning")
    with sqlite_url() as url:
        run("SQLite", url, args.small, args.big, args.lookups)
    with postgres_url() as url:
        run("PostgreSQL", url, args.small, args.big, args.lookups)
    print("goal: ratio below 1.5")


if __name__ == "__main__":
    main()
