"""The deal board at scale: 10,000 open deals and 100,000 leads, the board's first paint and a stage move.

    .venv/bin/python bench/board.py [--db sqlite,postgresql] [--deals 10000] [--leads 100000] [--repeat 15]

Generates the store directly (50 managers, contacts, 10,000 open deals over three working stages and
5,000 closed ones, 100,000 leads, 8,000 open tasks), with the pipeline's triggers configured (a
webhook and a task when a deal enters "Переговоры"), then measures on each database:

* the board's data as `GET /api/v1/deals/board` builds it (every column's totals and its first page of 30
  cards), store-level and over HTTP (the real aiohttp application on a socket), with and without a
  responsible filter; against a baseline measured in the same run: one query that reads every open deal
  of the pipeline with the card's fields (what a board without pages would read first);
* a stage move as `PATCH /api/v1/deals/{id}` does it (version check, history line, triggers queued),
  store-level and over HTTP; against a baseline: one bare UPDATE of the deal's stage in its own
  transaction.

Prints medians and 90th percentiles in milliseconds and the ratios. Goals: board data under 300 ms, a move
under 50 ms (medians).
"""

from __future__ import annotations

import argparse
import asyncio
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

import httpx
from aiohttp import web
from sqlalchemy import Engine, insert, select, text, update

from bench.common import pct, postgres_url, sqlite_url
from gateway.config import Settings, load_settings
from gateway.store.bootstrap import bootstrap
from gateway.store.db import make_engine
from gateway.store.deal_filters import DealFilters
from gateway.store.deal_list import board
from gateway.store.deals import Cause, DealChange, change_deal
from gateway.store.schema import contacts, deals, leads, stages, tasks, users
from gateway.store.users import create_user

START = datetime(2024, 1, 1, tzinfo=UTC)
TRIGGERS = [{"name": "hot-lead", "on": "Переговоры", "action": "webhook", "url": "http://127.0.0.1:9/hook",
             "secret": "bench-secret-0123"},
            {"name": "call-back", "on": "Переговоры", "action": "task", "text": "Перезвонить"}]


def settings_for(url: str) -> Settings:
    return load_settings(None, database_url=url, files_dir=Path("/tmp/lg-bench-files"), pipelines=[{
        "name": "Продажи", "stages": ["Неразобранное", "Лид", "Переговоры", "Счёт", "Успешно", "Отказ"],
        "triggers": TRIGGERS}])


def _batched(rows: list[dict[str, Any]], size: int = 5000) -> Iterator[list[dict[str, Any]]]:
    for lo in range(0, len(rows), size):
        yield rows[lo:lo + size]


def generate(engine: Engine, settings: Settings, n_deals: int, n_leads: int) -> float:
    """Managers, contacts, open and closed deals, leads and open tasks, inserted in batches; the seconds it took."""
    bootstrap(engine, settings)
    rng = random.Random(7)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        managers = [create_user(conn, f"manager{i:02d}", "manager")[0] for i in range(50)]
        stage = {kind_name: sid for sid, kind_name in conn.execute(select(stages.c.id, stages.c.name))}
        pipeline_id = conn.execute(select(stages.c.pipeline_id).limit(1)).scalar_one()
    n_contacts = n_deals + n_deals // 2
    with engine.begin() as conn:
        for chunk in _batched([{"name": f"Клиент {i}", "created_at": START, "updated_at": START}
                               for i in range(n_contacts)]):
            conn.execute(insert(contacts), chunk)
    working = ["Лид", "Переговоры", "Счёт"]
    deal_rows = []
    for i in range(n_deals + n_deals // 2):
        closed = i >= n_deals
        name = rng.choice(["Успешно", "Отказ"]) if closed else rng.choice(working)
        created = START + timedelta(minutes=i * 7)
        deal_rows.append({"name": f"Сделка {i}", "contact_id": i + 1, "pipeline_id": pipeline_id,
                          "stage_id": stage[name], "responsible_id": rng.choice(managers),
                          "budget": rng.randrange(10, 5000) * 1000, "version": 1,
                          "status": {"Успешно": "won", "Отказ": "lost"}.get(name, "open"),
                          "tags": ["vip"] if rng.random() < 0.05 else [], "created_at": created,
                          "updated_at": created, "closed_at": created if closed else None})
    with engine.begin() as conn:
        for chunk in _batched(deal_rows):
            conn.execute(insert(deals), chunk)
    lead_rows = []
    for i in range(n_leads):
        deal_id = i + 1 if i < len(deal_rows) else None
        received = START + timedelta(seconds=i * 300)
        lead_rows.append({"key": f"bench:{i}", "revision": 0, "channel": "mango", "kind": "call", "direction": "in",
                          "status": "accepted" if deal_id else rng.choice(["unsorted", "declined", "attached"]),
                          "quality": "target", "advertising": True, "contact_id": deal_id, "deal_id": deal_id,
                          "manager_id": rng.choice(managers), "phone": f"+79{i:09d}", "utm": {}, "custom": {},
                          "score": 0, "score_details": [], "merge_candidates": [], "tags": [],
                          "received_at": received, "created_at": received, "updated_at": received})
    with engine.begin() as conn:
        for chunk in _batched(lead_rows):
            conn.execute(insert(leads), chunk)
        task_rows = [{"kind": "task", "text": "Позвонить", "responsible_id": rng.choice(managers),
                      "due_at": START + timedelta(days=rng.randrange(900)), "status": "open",
                      "deal_id": rng.randrange(1, n_deals + 1), "created_by": "bench", "created_at": START}
                     for _ in range(n_deals * 8 // 10)]
        for chunk in _batched(task_rows):
            conn.execute(insert(tasks), chunk)
        if engine.dialect.name == "postgresql":
            for table in ("contacts", "deals", "leads", "tasks"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
        conn.execute(text("ANALYZE"))
    return time.perf_counter() - t0


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    fn()  # warm
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def line(name: str, ms: list[float], base: list[float] | None = None, goal: float | None = None) -> float:
    median = statistics.median(ms)
    ratio = f" | {median / statistics.median(base):5.2f}x the baseline" if base else ""
    verdict = f" | goal {goal:.0f} ms: {'met' if median < goal else 'MISSED'}" if goal else ""
    print(f"  {name:<54} median {median:7.1f} ms  p90 {pct(ms, 90):7.1f} ms{ratio}{verdict}")
    return median


def _card_of_every_open_deal(engine: Engine) -> Callable[[], Any]:
    """The baseline: every open deal of the pipeline with the card's fields, in one query."""
    q = select(deals.c.id, deals.c.name, deals.c.budget, deals.c.tags, deals.c.version, deals.c.created_at,
               deals.c.stage_id, contacts.c.name, users.c.name).select_from(
        deals.outerjoin(contacts, contacts.c.id == deals.c.contact_id)
        .outerjoin(users, users.c.id == deals.c.responsible_id)).where(deals.c.status == "open")

    def run() -> Any:
        with engine.connect() as conn:
            return conn.execute(q).all()
    return run


def _in_stage(engine: Engine, name: str, n: int) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(select(deals.c.id).join(stages, stages.c.id == deals.c.stage_id)
                                 .where(stages.c.name == name).order_by(deals.c.id.desc()).limit(n)).scalars())


def store_figures(engine: Engine, settings: Settings, repeat: int) -> None:
    manager = DealFilters(responsible=["manager07"])

    def store_board(f: DealFilters) -> Callable[[], Any]:
        def run() -> Any:
            with engine.connect() as conn:
                return board(conn, "Продажи", f, per_column=30)
        return run

    base = timed(_card_of_every_open_deal(engine), repeat)
    line("baseline: every open deal's card, one query", base)
    line("board data (totals + 30 cards per column)", timed(store_board(DealFilters()), repeat), base, 300)
    line("board data, one responsible", timed(store_board(manager), repeat), base, 300)
    ids = iter(_in_stage(engine, "Лид", 3 * repeat + 4))
    with engine.connect() as conn:
        target = {name: sid for sid, name in conn.execute(select(stages.c.id, stages.c.name))}

    def bare() -> None:
        with engine.begin() as conn:
            conn.execute(update(deals).where(deals.c.id == next(ids)).values(stage_id=target["Счёт"]))

    def full() -> None:
        with engine.begin() as conn:
            change_deal(conn, next(ids), DealChange(stage="Переговоры"), Cause("bench", 1), now=datetime.now(UTC),
                        settings=settings)

    bare_ms = timed(bare, repeat)
    line("baseline: a bare UPDATE of the stage", bare_ms)
    line("a move (version, history, two triggers queued)", timed(full, repeat), bare_ms, 50)


async def http_figures(engine: Engine, settings: Settings, repeat: int) -> None:
    from gateway.app import create_app

    with engine.begin() as conn:
        token = create_user(conn, "bench-admin", "admin")[1]
    app = create_app(settings, engine=engine, run_dispatcher=False, run_services=False)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
    try:
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
            async def many(call: Callable[[], Any]) -> list[float]:
                await call()
                out = []
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    resp = await call()
                    out.append((time.perf_counter() - t0) * 1000)
                    assert resp.status_code == 200, resp.text
                return out

            line("GET /api/v1/deals/board", await many(lambda: c.get("/api/v1/deals/board")), goal=300)
            line("GET /api/v1/deals/board?responsible=manager07",
                 await many(lambda: c.get("/api/v1/deals/board", params={"responsible": "manager07"})), goal=300)
            ids = iter(_in_stage(engine, "Лид", repeat + 2))
            line("PATCH /api/v1/deals/{id} (a move, version given)", await many(
                lambda: c.patch(f"/api/v1/deals/{next(ids)}", json={"stage": "Переговоры", "version": 1})), goal=50)
    finally:
        await runner.cleanup()


@contextmanager
def database(kind: str) -> Iterator[str]:
    with (sqlite_url() if kind == "sqlite" else postgres_url()) as url:
        yield url


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", default="sqlite,postgresql")
    p.add_argument("--deals", type=int, default=10_000, help="open deals (half as many closed ones are added)")
    p.add_argument("--leads", type=int, default=100_000)
    p.add_argument("--repeat", type=int, default=15)
    args = p.parse_args(argv)
    from gateway.logs import configure_logging

    configure_logging("console", "error")  # the runner's lines about trigger runs would drown the figures
    for kind in args.db.split(","):
        with database(kind) as url:
            settings = settings_for(url)
            engine = make_engine(url, pool_size=10)
            seconds = generate(engine, settings, args.deals, args.leads)
            print(f"{kind}: {args.deals:,} open deals, {args.deals // 2:,} closed, {args.leads:,} leads, "
                  f"{args.deals * 8 // 10:,} open tasks generated in {seconds:.0f} s")
            print(f"{kind}: in the store, {args.repeat} runs each, warm")
            store_figures(engine, settings, args.repeat)
            print(f"{kind}: over HTTP (the aiohttp application on a socket, the outbox runner working beside it)")
            asyncio.run(http_figures(engine, settings, args.repeat))
            engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
