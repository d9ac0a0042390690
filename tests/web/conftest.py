"""The web page's fixtures: the gateway with known operators, Debian's Chromium driven by Playwright."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import structlog

from gateway.core.models import Channel, Direction, IdentityKind, IdentityRef, Interaction, Kind, MessageRef
from gateway.core.pipeline import PipelineConfig, process_interaction
from gateway.store.crm import CrmRepo
from tests.api.conftest import THREAD, Gateway, serve
from tests.conftest import make_settings

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]



@pytest.fixture(autouse=True)
def _fresh_logging() -> None:
    """Log to the current stderr (an earlier test may have left structlog bound to a closed capture)."""
    structlog.reset_defaults()


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[Gateway]:
    """The worker as a thread of the server (quick to start and stop)."""
    runner, gw = await serve(make_settings(tmp_path, dispatch=THREAD))
    try:
        yield gw
    finally:
        await runner.cleanup()


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Gateway]:
    """As `gateway serve` runs: the worker in its own process, the page learning of leads from the store."""
    runner, gw = await serve(make_settings(tmp_path))
    try:
        yield gw
    finally:
        await runner.cleanup()


def mail_lead(gw: Gateway, *, subject: str, text: str, html: str | None, author: str, email: str,
              key: str = "imap:sales:<1@example>") -> int:
    """An incoming mail from a new sender, through the real pipeline (as the mail connector would hand it)."""
    now = datetime.now(UTC)
    message = MessageRef(key=key, at=now, author=author, subject=subject, text=text, html=html)
    ix = Interaction(key=f"lead:{key}", channel=Channel.IMAP, kind=Kind.MAIL, direction=Direction.IN,
                     occurred_at=now, account="sales", name=author, subject=subject, text=text,
                     identities=[IdentityRef(kind=IdentityKind.EMAIL, value=email)], messages=[message])
    return pipeline_lead(gw, ix)


def pipeline_lead(gw: Gateway, ix: Interaction) -> int:
    """Any interaction through the real core pipeline into the gateway's store; the lead's id."""
    cfg = PipelineConfig(region="RU", short_call_seconds=10, default_pipeline="Продажи")
    with gw.engine.begin() as conn:
        result = process_interaction(CrmRepo(conn, ix.occurred_at), ix, event_id=None, cfg=cfg)
    assert result.lead_id is not None
    return result.lead_id


@pytest.fixture
async def busy(tmp_path: Path) -> AsyncIterator[tuple[Gateway, Any]]:
    """The gateway with more than one page of Unsorted (320 leads of every kind), known people, failed events."""
    from gateway.http.keys import FILES
    from tests.web.dataset import seed_day

    runner, gw = await serve(make_settings(tmp_path, dispatch=THREAD))
    try:
        yield gw, seed_day(gw.engine, gw.app[FILES], unsorted=320, events_failed=80)
    finally:
        await runner.cleanup()


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium (Playwright's own download cannot run here); installed with apt-get when missing."""
    if not CHROMIUM.exists():
        apt = shutil.which("apt-get")
        if apt is None:
            pytest.fail("no /usr/bin/chromium and no apt-get to install it: run ./scripts/test.sh")
        subprocess.run([apt, "update", "-qq"], check=False, capture_output=True, timeout=600)
        done = subprocess.run([apt, "install", "-y", "-qq", "chromium"], check=False, capture_output=True,
                              timeout=900, env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/bin:/bin:/usr/sbin"})
        if done.returncode != 0 or not CHROMIUM.exists():
            pytest.fail(f"could not install chromium: {done.stderr.decode(errors='replace')[-500:]}")
    return CHROMIUM


@pytest.fixture
async def browser(chromium: Path) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        instance = await pw.chromium.launch(executable_path=str(chromium), args=BROWSER_ARGS)
        try:
            yield instance
        finally:
            await instance.close()


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


AXE = Path(__file__).resolve().parents[1] / "fixtures" / "axe" / "axe-4.14.1.min.js"
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}


async def logged_in(browser: Any, gw: Any, name: str, viewport: dict[str, int] = DESKTOP) -> tuple[Any, list[str]]:
    """A page logged in as `name` (Russian locale), every page error and failed console message recorded."""
    from tests.api.conftest import PASSWORD

    context = await browser.new_context(viewport=viewport, locale="ru-RU", timezone_id="Europe/Moscow")
    page = await context.new_page()
    seen: list[str] = []
    page.on("dialog", lambda d: (seen.append(f"dialog:{d.message}"), d.dismiss()))
    page.on("pageerror", lambda e: seen.append(f"error:{e}"))
    await page.goto(f"{gw.url}/login")
    await page.fill("input[name=name]", name)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{gw.url}/")
    return page, seen


async def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it is now (WCAG 2.1 A and AA rules)."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(AXE.read_text())  # through the protocol: the page's policy forbids inline scripts
    result = await page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    return list(result)


async def sideways(page: Any) -> int:
    """How many pixels the page is wider than the window (0: no sideways scroll)."""
    return int(await page.evaluate("document.documentElement.scrollWidth - window.innerWidth"))


async def until(page: Any, expression: str, within: float = 15.0) -> None:
    """Wait until a JavaScript expression is true (polled through the protocol: the page's policy forbids eval)."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await page.evaluate(expression):
        if loop.time() > deadline:
            raise AssertionError(f"still false after {within} s: {expression}")
        await asyncio.sleep(0.1)
