"""Realistic site-form submissions sent to a running gateway (`gateway simulate forms`).

    gateway simulate forms [--url http://127.0.0.1:8080] [--form site-ru] [--count 100] [--rate 20] [--files]

Each submission looks like a visitor's: a Russian name, a mobile number, often an e-mail,
a message, the page it came from with UTM tags, the time the page was shown (so the
fill-time rule passes), and with `--files` a brief as PDF, PNG or text. Nothing is retried:
every request is counted as accepted, refused (by status) or failed, and the counts add up.
This tool talks to our own gateway, so it uses httpx directly rather than the outbound client
(whose retries would hide failures and whose guard refuses local addresses).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from gateway.core.errors import ConfigError
from gateway.options import config_option

if TYPE_CHECKING:
    from gateway.config import Settings

__all__ = ["Submission", "fake_submission", "main"]

FIRST = ["Иван", "Анна", "Сергей", "Мария", "Алексей", "Ольга", "Дмитрий", "Елена", "Павел", "Наталья"]
LAST = ["Петров", "Смирнова", "Кузнецов", "Попова", "Васильев", "Соколова", "Морозов", "Новикова"]
COMPANIES = ["ООО «Ромашка»", "АО «СтройИнвест»", "ИП Сидоров", "ООО «Вектор»", ""]
POSITIONS = ["директор", "менеджер по закупкам", "главный инженер", ""]
MESSAGES = ["Здравствуйте! Нужен расчёт стоимости.", "Перезвоните, пожалуйста, после 15:00.",
            "Интересует доставка в Казань.", "Пришлите коммерческое предложение.", ""]
CAMPAIGNS = [("yandex", "cpc", "okna_msk"), ("google", "cpc", "brand"), ("vk", "social", "spring"),
             ("", "", "")]
PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >>"
       b" endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
PNG = bytes.fromhex("89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
                    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


@dataclass
class Submission:
    fields: dict[str, str]
    files: list[tuple[str, bytes, str]] = field(default_factory=list)  # (name, content, type)


def fake_submission(rng: random.Random, now: float, *, with_files: bool, secret: str | None) -> Submission:
    """One visitor's submission."""
    source, medium, campaign = rng.choice(CAMPAIGNS)
    query = f"?utm_source={source}&utm_medium={medium}&utm_campaign={campaign}" if source else ""
    fields = {
        "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
        "phone": f"+7 9{rng.randint(10, 99)} {rng.randint(100, 999)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}",
        "email": f"client{rng.randint(1, 10**6)}@example.ru" if rng.random() < 0.7 else "",
        "company": rng.choice(COMPANIES),
        "position": rng.choice(POSITIONS),
        "message": rng.choice(MESSAGES),
        "page": f"https://example.ru/{rng.choice(['', 'okna', 'dveri', 'contacts'])}{query}",
        "_ts": str(int(now) - rng.randint(15, 600)),
        "_hp": "",
    }
    if secret:
        fields["_secret"] = secret
    files = []
    if with_files and rng.random() < 0.5:
        files.append(rng.choice([("ТЗ.pdf", PDF, "application/pdf"), ("схема.png", PNG, "image/png"),
                                 ("brief.txt", "Площадь 120 м², срок — март.".encode(), "text/plain")]))
    return Submission({k: v for k, v in fields.items() if v or k == "_hp"}, files)


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    failures: Counter[str] = field(default_factory=Counter)

    @property
    def accepted(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 400)


async def _send(http: httpx.AsyncClient, url: str, sub: Submission, as_json: bool, tally: Tally) -> None:
    kwargs: dict[str, Any]
    if as_json:
        kwargs = {"content": json.dumps(sub.fields, ensure_ascii=False).encode(),
                  "headers": {"Content-Type": "application/json"}}
    elif sub.files:
        kwargs = {"data": sub.fields, "files": [("attachment", f) for f in sub.files]}
    else:
        kwargs = {"data": sub.fields}
    try:
        resp = await http.post(url, **kwargs)
    except httpx.HTTPError as exc:
        tally.failures[type(exc).__name__] += 1
        return
    tally.statuses[resp.status_code] += 1


async def run(args: argparse.Namespace) -> Tally:
    url = args.url if "/hooks/forms/" in args.url else f"{args.url.rstrip('/')}/hooks/forms/{args.form}"
    rng = random.Random(args.seed)
    tally = Tally()
    gate = asyncio.Semaphore(args.concurrency)
    started = time.monotonic()
    headers = {"User-Agent": "lead-gateway-simulator/1", "Accept": "text/html"}
    async with httpx.AsyncClient(timeout=30, headers=headers, follow_redirects=False) as http:
        tasks = []
        for i in range(args.count):
            if args.rate > 0:
                await asyncio.sleep(max(0.0, started + i / args.rate - time.monotonic()))
            sub = fake_submission(rng, time.time(), with_files=args.files, secret=args.secret)
            await gate.acquire()
            task = asyncio.create_task(_send(http, url, sub, args.json, tally))
            task.add_done_callback(lambda _t: gate.release())
            tasks.append(task)
        await asyncio.gather(*tasks)
    return tally


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gateway simulate forms", parents=[config_option()],
        description="Send site-form submissions as visitors' browsers do (names, phones, e-mails, messages, pages "
                    "with UTM tags) to a running gateway. The form's secret comes from its [[forms]] entry.")
    p.add_argument("--url", default="http://127.0.0.1:8080", help="the gateway's base URL, or the full form URL "
                   "(default %(default)s)")
    p.add_argument("--form", default=None, help="the [[forms]] id (default: the first configured form)")
    p.add_argument("--secret", default=None, help="the form's secret, instead of the configured one")
    p.add_argument("--count", type=int, default=10, help="submissions to send (default %(default)s)")
    p.add_argument("--rate", type=float, default=5.0, help="submissions per second; 0 sends as fast as possible "
                   "(default %(default)s)")
    p.add_argument("--files", action="store_true", help="attach a brief (PDF, PNG or text) to about half")
    p.add_argument("--json", action="store_true", help="send JSON instead of a browser's form post")
    p.add_argument("--concurrency", type=int, default=32, help="requests in flight at most (default 32)")
    p.add_argument("--seed", type=int, default=None, help="random choices derive from it (default: random)")
    return p


def _form_and_secret(args: argparse.Namespace, settings: Settings | None) -> None:
    """Fill in `--form` and `--secret` from the settings' [[forms]] when they were not given."""
    if settings is None:
        from gateway.config import load_settings

        settings = load_settings(getattr(args, "config", None))
    forms = {f.id: f for f in settings.forms}
    if args.form is None:
        args.form = next(iter(forms), "site-ru")
    if args.secret is None and args.form in forms:
        args.secret = forms[args.form].secret


def _counted(what: str, counts: dict[Any, int]) -> str:
    total = sum(counts.values())
    return f"{what} {total} {counts}" if total else f"{what} 0"


def main(argv: Sequence[str], *, settings: Settings | None = None) -> int:
    """Send `--count` submissions; exit 0 when every one was accepted."""
    args = build_parser().parse_args(list(argv))
    if args.count < 0 or args.concurrency < 1:
        print("--count must be >= 0 and --concurrency >= 1", file=sys.stderr)
        return 2
    try:
        _form_and_secret(args, settings)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    started = time.monotonic()
    tally = asyncio.run(run(args))
    elapsed = time.monotonic() - started
    refused = {status: n for status, n in sorted(tally.statuses.items()) if not 200 <= status < 400}
    print(f"sent {args.count} to form {args.form!r}: accepted {tally.accepted}, {_counted('refused', refused)}, "
          f"{_counted('failed', dict(tally.failures))}")
    if 404 in refused:
        print(f"  404: the gateway has no form {args.form!r}; run it with settings that have one (`gateway demo` "
              "has `site-ru`)")
    elif 403 in refused:
        print("  403: the gateway refused the form's secret; give the one its [[forms]] entry has")
    print(f"{elapsed:.2f} s, {args.count / elapsed if elapsed else 0:.1f} submissions/s")
    return 0 if tally.accepted == args.count else 1
