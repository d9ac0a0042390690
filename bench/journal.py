"""Journal pages at scale: 1,000,000 leads inserted directly, typical filtered pages timed.

    .venv/bin/python bench/journal.py [--rows 1000000] [--db sqlite,postgresql] [--no-indexes] [--repeat 5]

Generates the leads with executemany (a SQLite file and a fresh PostgreSQL database), creates the
indexes the journal needs beyond the initial schema (PROPOSED_INDEXES, printed), runs ANALYZE,
then times each typical page as the API builds it (filter, keyset page of 50, journal columns),
its next page by cursor, and the filtered count. Prints medians and worst times in milliseconds.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, Index, create_engine, func, insert, select, text

from bench.common import PG_ADMIN, postgres_url, sqlite_url
from gateway.config import Settings, load_settings
from gateway.store.bootstrap import bootstrap
from gateway.store.db import make_engine
from gateway.store.journal import JournalFilters, count_leads, list_leads
from gateway.store.journal_search import SEARCH_DDL, create_search_index, has_search_index
from gateway.store.journal_view import journal_items
from gateway.store.schema import deals, leads, sources, stages, users

# What schema.py should declare for the journal at this scale (created here for the measurement).
PROPOSED_INDEXES = [
    Index("ix_leads_score", leads.c.score, leads.c.received_at, leads.c.id),
    Index("ix_leads_taken", leads.c.taken_at, leads.c.id),
    Index("ix_leads_phone", leads.c.phone, leads.c.received_at),
    Index("ix_leads_email", leads.c.email),
    Index("ix_leads_stage", leads.c.stage_id, leads.c.received_at, leads.c.id),
    Index("ix_leads_callback_received", leads.c.needs_callback, leads.c.received_at, leads.c.id),
    Index("ix_leads_advertising", leads.c.advertising, leads.c.received_at, leads.c.id),
    Index("ix_deals_responsible", deals.c.responsible_id),
    Index("ix_deals_stage", deals.c.stage_id),
]

CHANNELS = [("mango", "call", 45), ("forms", "form", 20), ("imap", "mail", 15), ("telegram", "chat", 8),
            ("whatsapp", "chat", 6), ("vk", "chat", 3), ("manual", "manual", 3)]
FIRST = ["Иван", "Пётр", "Ольга", "Мария", "Алексей", "Наталья", "Сергей", "Елена", "Дмитрий", "Анна"]
LAST = ["Иванов", "Петров", "Смирнова", "Кузнецова", "Попов", "Соколова", "Лебедев", "Козлова", "Новиков"]
WORDS = ["цена", "доставка", "КАМАЗ", "прицеп", "счёт", "договор", "опт", "скидка", "монтаж", "гарантия"]
START = datetime(2023, 1, 1, tzinfo=UTC)
SPAN_S = 2 * 365 * 86400


def settings_for(url: str, files: Path) -> Settings:
    return load_settings(None, database_url=url, files_dir=files, timezone="Europe/Moscow", sources=[
        {"name": f"Источник {i}", "group": f"Группа {i % 8}", "advertising": i % 10 != 9} for i in range(40)])


def _weighted(rng: random.Random) -> tuple[str, str]:
    x = rng.randrange(100)
    for channel, kind, w in CHANNELS:
        if x < w:
            return channel, kind
        x -= w
    return "manual", "manual"


def _people(engine: Engine, settings: Settings) -> dict[str, Any]:
    """Users, the sources' ids, the pipeline's stages."""
    bootstrap(engine, settings)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(insert(users), [
            {"name": f"manager{i:02d}", "role": "manager", "department": f"Отдел {i % 5}", "disabled": i % 17 == 0,
             "created_at": now} for i in range(50)])
        return {
            "users": list(conn.execute(select(users.c.id)).scalars()),
            "sources": list(conn.execute(select(sources.c.id).order_by(sources.c.id)).scalars()),
            "stages": [tuple(r) for r in conn.execute(select(stages.c.id, stages.c.pipeline_id, stages.c.kind))],
        }


def _lead(i: int, rng: random.Random, ref: dict[str, Any], deal: tuple[int, int, int] | None) -> dict[str, Any]:
    channel, kind = _weighted(rng)
    received = START + timedelta(seconds=SPAN_S * i // ref["rows"] + rng.randrange(60))
    direction = ("in" if rng.random() < 0.7 else "out" if rng.random() < 0.8 else "internal") if kind == "call" \
        else "in"
    missed = kind == "call" and direction == "in" and rng.random() < 0.25
    answered = kind == "call" and not missed
    unsorted = next(s for s in ref["stages"] if s[2] == "unsorted")
    status = "accepted" if deal else rng.choice(["unsorted", "declined", "unsorted", "attached"])
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}" if rng.random() < 0.7 else None
    score = rng.randrange(8)
    return {
        "key": f"bench:{i}", "revision": 0, "channel": channel, "kind": kind, "direction": direction,
        "status": status, "quality": rng.choice(["target", "repeat", "repeat", "non_target", "unverified"]),
        "advertising": rng.random() < 0.85, "account": "main", "source_id": rng.choice(ref["sources"]),
        "contact_id": None, "contact_was_new": False, "deal_id": deal[0] if deal else None,
        "pipeline_id": None if deal else unsorted[1], "stage_id": None if deal else unsorted[0],
        "manager_id": rng.choice(ref["users"]) if answered or rng.random() < 0.3 else None,
        "phone": f"+79{rng.randrange(10**9):09d}" if kind in ("call", "form", "chat") or rng.random() < 0.3 else None,
        "email": f"user{i}@example{i % 50}.ru" if kind in ("mail", "form") else None, "name": name,
        "company": None, "position": None, "budget": None,
        "subject": f"Заявка {i}" if kind in ("mail", "form") else None,
        "text": " ".join(rng.choices(WORDS, k=4)) if kind != "call" else None, "utm": {}, "custom": {},
        "call": None, "duration_s": rng.randrange(15, 600) if answered else (0 if kind == "call" else None),
        "result": ("missed" if missed else "answered") if kind == "call" else None, "recording_file_id": None,
        "score": score, "score_details": [{"rule": "has_phone", "points": score}],
        "needs_callback": missed and rng.random() < 0.3, "callback_at": None, "time_to_callback_s": None,
        "non_target_reason": None, "merge_candidates": [], "conversation_key": None, "closed": False,
        "recovered": False, "history_only": False, "tags": ["vip"] if rng.random() < 0.02 else [],
        "received_at": received, "taken_at": received + timedelta(minutes=rng.randrange(5, 600)) if deal else None,
        "taken_by": None, "decline_reason": None, "created_at": received, "updated_at": received,
    }


def generate(engine: Engine, settings: Settings, rows: int, batch: int = 10_000) -> float:
    """Insert `rows` leads (a fifth with a deal) with executemany; returns the seconds it took."""
    ref = _people(engine, settings)
    ref["rows"] = rows
    working = [s for s in ref["stages"] if s[2] == "working"]
    t0 = time.perf_counter()
    deal_id = 0
    for lo in range(0, rows, batch):
        rng = random.Random(lo)
        deal_rows, lead_rows = [], []
        for i in range(lo, min(rows, lo + batch)):
            deal = None
            if i % 5 == 0:
                deal_id += 1
                stage_id, pipeline_id, _ = rng.choice(working)
                deal = (deal_id, stage_id, pipeline_id)
                deal_rows.append({
                    "id": deal_id, "name": f"Сделка {deal_id}", "pipeline_id": pipeline_id, "stage_id": stage_id,
                    "responsible_id": rng.choice(ref["users"]), "status": "open",
                    "tags": ["тендер"] if rng.random() < 0.05 else [], "created_at": START, "updated_at": START})
            lead_rows.append(_lead(i, rng, ref, deal))
        with engine.begin() as conn:
            if deal_rows:
                conn.execute(insert(deals), deal_rows)
            conn.execute(insert(leads), lead_rows)
        done = min(rows, lo + batch)
        print(f"\r  inserted {done:,} leads ({done / (time.perf_counter() - t0):,.0f}/s)", end="", file=sys.stderr)
    print(file=sys.stderr)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("SELECT setval(pg_get_serial_sequence('deals', 'id'), (SELECT max(id) FROM deals))"))
    return time.perf_counter() - t0


def add_indexes(engine: Engine, search: bool) -> None:
    t0 = time.perf_counter()
    with engine.begin() as conn:
        for ix in PROPOSED_INDEXES:
            ix.create(conn, checkfirst=True)
        if search and (engine.dialect.name == "postgresql" or not has_search_index(conn)):
            create_search_index(conn)
        conn.execute(text("ANALYZE"))
    print(f"{engine.dialect.name}: indexes{' and text search' if search else ''} in {time.perf_counter() - t0:.0f} s")


def cases(engine: Engine) -> list[tuple[str, dict[str, str]]]:
    with engine.connect() as conn:
        phone = conn.execute(select(leads.c.phone).where(leads.c.phone.is_not(None)).limit(1).offset(5000)).scalar()
        manager = conn.execute(select(users.c.name).where(users.c.disabled.is_(False)).limit(1).offset(7)).scalar()
        source = conn.execute(select(sources.c.name).limit(1).offset(11)).scalar()
        newest = conn.execute(select(func.max(leads.c.received_at))).scalar()
    newest = newest if newest.tzinfo else newest.replace(tzinfo=UTC)
    week = (newest - timedelta(days=180)).date()
    return [
        ("no filter", {}),
        ("channel=mango", {"channel": "mango"}),
        ("quality=target", {"quality": "target"}),
        ("source=one of 40", {"source": source}),
        ("period: one week, 6 months back", {"from": str(week), "to": str(week + timedelta(days=6))}),
        ("period by taken: one week", {"by": "taken", "from": str(week), "to": str(week + timedelta(days=6))}),
        ("manager=one of 50 (taken)", {"manager": manager}),
        ("manager=one of 50 (responsible)", {"manager": manager, "manager_mode": "responsible"}),
        ("department", {"department": "Отдел 2"}),
        ("needs_callback=true", {"needs_callback": "true"}),
        ("advertising=false", {"advertising": "false"}),
        ("stage=Переговоры", {"stage": "Переговоры"}),
        ("tag=vip", {"tag": "vip"}),
        ("q=name substring", {"q": "Смирнова"}),
        ("q=rare word (full scan)", {"q": "zzzz-no-such-text"}),
        ("q=phone", {"q": phone}),
        ("q=e-mail", {"q": "user123455@example5.ru"}),
        ("mango+target+month", {"channel": "mango", "quality": "target", "from": str(week),
                                "to": str(week + timedelta(days=30))}),
        ("sort=score", {"sort": "score"}),
        ("sort=score, channel=vk", {"sort": "score", "channel": "vk"}),
    ]


def _timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), max(times), result


def measure(engine: Engine, settings: Settings, repeat: int) -> None:
    print(f"  {'case':<34} {'page ms':>9} {'worst':>7} {'next pg':>8} {'count ms':>9} {'count':>9}")
    for label, query in cases(engine):
        f = JournalFilters.from_query(query, settings)

        def page(cursor: str | None = None, f: JournalFilters = f) -> tuple[list[dict[str, Any]], str | None]:
            with engine.connect() as conn:
                rows, nxt = list_leads(conn, f, limit=50, cursor=cursor)
                return journal_items(conn, rows, manager_mode=f.manager_mode), nxt

        def count(f: JournalFilters = f) -> int:
            with engine.connect() as conn:
                return count_leads(conn, f)

        med, worst, (_, nxt) = _timed(page, repeat)
        nxt_ms = _timed(lambda nxt=nxt: page(nxt), repeat)[0] if nxt else float("nan")
        c_med, _, n = _timed(count, max(1, repeat // 2))
        print(f"  {label:<34} {med:9.1f} {worst:7.1f} {nxt_ms:8.1f} {c_med:9.1f} {n:9,}")


@contextmanager
def database(kind: str, keep: str | None, pg_keep: str | None = None) -> Iterator[str]:
    if keep and kind == "sqlite":
        yield f"sqlite:///{keep}"
        return
    if pg_keep and kind == "postgresql":
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            if not c.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": pg_keep}).first():
                c.execute(text(f'CREATE DATABASE "{pg_keep}"'))
        admin.dispose()
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{pg_keep}"
        return
    with sqlite_url() if kind == "sqlite" else postgres_url() as url:
        yield url


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--db", default="sqlite,postgresql")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--no-indexes", action="store_true", help="measure with the initial schema's indexes only")
    p.add_argument("--no-search", action="store_true", help="without the text search index")
    p.add_argument("--sqlite-file", help="reuse (or create) this SQLite file")
    p.add_argument("--pg-database", help="reuse (or create) this PostgreSQL database, and keep it")
    args = p.parse_args(argv)
    print("indexes proposed for schema.py:")
    for ix in PROPOSED_INDEXES:
        print(f"  Index({ix.name!r}, {', '.join(f'{c.table.name}.c.{c.name}' for c in ix.columns)})")
    print("text search index (gateway/store/journal_search.py SEARCH_DDL):")
    for dialect, stmts in SEARCH_DDL.items():
        print(f"  {dialect}: {len(stmts)} statements, first: {stmts[0][:90]}...")
    for kind in args.db.split(","):
        with database(kind, args.sqlite_file, args.pg_database) as url:
            files = Path("/tmp") / "lg-bench-files"
            settings = settings_for(url, files)
            reuse = kind == "sqlite" and args.sqlite_file and Path(args.sqlite_file).exists()
            engine = make_engine(url)
            if kind == "postgresql" and args.pg_database:
                with engine.connect() as conn:
                    reuse = conn.execute(text("SELECT to_regclass('leads') IS NOT NULL")).scalar() and \
                        conn.execute(text("SELECT EXISTS (SELECT 1 FROM leads)")).scalar()
            if not reuse:
                print(f"{kind}: generating {args.rows:,} leads")
                seconds = generate(engine, settings, args.rows)
                print(f"{kind}: {args.rows:,} leads in {seconds:.0f} s ({args.rows / seconds:,.0f} rows/s)")
            if not args.no_indexes:
                add_indexes(engine, search=not args.no_search)
            else:
                with engine.begin() as conn:
                    conn.execute(text("ANALYZE"))
            print(f"{kind}: typical journal pages (limit 50), {args.repeat} runs each, warm")
            measure(engine, settings, args.repeat)
            engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
