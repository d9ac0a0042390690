"""The operators' page on a large store: load times of each page in Chromium, against the login page.

    .venv/bin/python bench/page.py [--journal 100000] [--unsorted 5500] [--repeat 5]

Builds a SQLite store with `--journal` leads inserted directly (bench/journal.py's generator; its own
Unsorted ones moved out) and `--unsorted` leads of every kind through the real pipeline (tests/web/dataset.py),
serves the gateway on a free port, logs in, and loads each page `--repeat` times at 1440×900 and at 390×844.
Prints the median and worst navigation time (request to the load event) in milliseconds, and each page's
ratio to the login page (the baseline: the same frame, no data) measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import update

from bench.journal import generate, settings_for
from gateway.http.keys import FILES
from gateway.store.schema import leads
from tests.api.conftest import PASSWORD, THREAD, serve
from tests.web.conftest import BROWSER_ARGS
from tests.web.dataset import seed_day

SIZES = {"1440x900": {"width": 1440, "height": 900}, "390x844": {"width": 390, "height": 844}}


async def _timed(page: object, url: str, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        await page.goto(url, wait_until="load")  # type: ignore[attr-defined]
        out.append(await page.evaluate(  # type: ignore[attr-defined]
            "performance.getEntriesByType('navigation')[0].duration"))
    return out


async def measure(args: argparse.Namespace) -> None:
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory(prefix="lg-page-") as tmp:
        settings = settings_for(f"sqlite:///{tmp}/gateway.db", Path(tmp) / "files")  # with forty sources
        settings.dispatch.embedded_worker = THREAD["embedded_worker"]
        runner, gw = await serve(settings)
        t0 = time.perf_counter()
        if args.journal:
            generate(gw.engine, settings, args.journal)
            with gw.engine.begin() as conn:
                conn.execute(update(leads).where(leads.c.status == "unsorted").values(status="attached"))
        day = seed_day(gw.engine, gw.app[FILES], unsorted=args.unsorted, events_failed=300)
        print(f"store: {args.journal:,} journal leads + {len(day.unsorted):,} in Unsorted, built in "
              f"{time.perf_counter() - t0:.0f} s")
        pages = [("login (baseline)", "/login"), ("unsorted", "/"), ("journal", "/journal"),
                 ("journal, search", "/journal?q=Смирнова"),
                 ("journal, period", "/journal?from=01.01.2024&to=31.01.2024"),
                 ("card: call", f"/leads/{day.by_kind['call'][0]}"), ("card: chat", f"/leads/{day.by_kind['chat'][0]}"),
                 ("reports", "/reports"), ("reports by manager", "/reports?group_by=manager"),
                 ("event log", "/admin/events"), ("health", "/admin/health")]
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=BROWSER_ARGS)
            for size, viewport in SIZES.items():
                context = await browser.new_context(viewport=viewport, locale="ru-RU")
                page = await context.new_page()
                await page.goto(f"{gw.url}/login")
                await page.fill("input[name=name]", "root")
                await page.fill("input[name=password]", PASSWORD)
                await page.click("button[type=submit]")
                await page.wait_for_url(f"{gw.url}/")
                base = None
                print(f"\n{size}: page, median ms, worst ms, × login page")
                for name, path in pages:
                    if path == "/login":
                        await context.clear_cookies()
                    times = await _timed(page, gw.url + path, args.repeat)
                    med = statistics.median(times)
                    base = base or med
                    print(f"  {name:<22} {med:8.0f} {max(times):8.0f} {med / base:8.1f}")
                    if path == "/login":
                        await page.fill("input[name=name]", "root")
                        await page.fill("input[name=password]", PASSWORD)
                        await page.click("button[type=submit]")
                        await page.wait_for_url(f"{gw.url}/")
                await context.close()
            await browser.close()
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--journal", type=int, default=100_000)
    parser.add_argument("--unsorted", type=int, default=5_500)
    parser.add_argument("--repeat", type=int, default=5)
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
