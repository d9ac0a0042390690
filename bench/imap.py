"""IMAP poller benchmark against a throw-away local Dovecot.

    .venv/bin/python bench/imap.py [--messages 5000] [--polls 30] [--database sqlite|postgresql]

1. First sync of a mailbox holding `--messages` small mails (2-4 KB, Russian text, some with a
   small attachment): `poll_once` into the real event log (`gateway.store.event_log.append`,
   schema from the migrations), messages per second.
2. Incremental polls of the same, unchanged mailbox: milliseconds per poll (connect, login,
   LIST, EXAMINE both folders, compare UIDNEXT, release the lease), median and p95.
3. Peak memory while a fresh process syncs one message with a 25 MB attachment (about 34 MB on
   the wire): peak RSS growth over the process's own baseline (Linux clear_refs/VmHWM), and the
   Python heap's peak (tracemalloc), each also as a multiple of the message size; then the same
   for inserting a body of that size into the event log alone (SQLite's page cache and its own
   copy of the blob are most of the RSS figure).
4. `process()` of that message (parse, decode, store the attachment and the original): seconds
   and peak RSS growth, for reference.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "connectors" / "email"))

from bench.common import median, pct, postgres_url, sqlite_url  # noqa: E402

if TYPE_CHECKING:
    from imap_dovecot import Account, DovecotServer

    from gateway.config import Settings

WORDS = ("здравствуйте прошу выставить счёт на поставку единиц товара телефон для связи указан ниже добрый день "
         "коммерческое предложение доставка оплата менеджер спасибо уважением компания москва заказ цена").split()
NOW = datetime.now(UTC)


def small_message(n: int, rnd: random.Random) -> bytes:
    text = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(150, 350))).capitalize() + ".\r\n"
    body = base64.encodebytes(text.encode()).replace(b"\n", b"\r\n")
    head = (f"From: client{n % 400}@customer{n % 37}.example\r\nTo: sales@company.example\r\n"
            f"Subject: =?utf-8?B?{base64.b64encode(f'Заявка {n}'.encode()).decode()}?=\r\n"
            f"Date: Mon, 26 Feb 2024 10:15:00 +0300\r\nMessage-ID: <bench-{n}@customer.example>\r\n"
            "MIME-Version: 1.0\r\n").encode()
    if n % 10:
        return head + b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" + body
    file = base64.encodebytes(rnd.randbytes(1500)).replace(b"\n", b"\r\n")
    return (head + b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n'
            b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n" + body +
            b'--b\r\nContent-Type: application/pdf; name="brief.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
            + file + b"--b--\r\n")


def fill(account: Account, count: int) -> int:
    from imapclient import IMAPClient

    rnd = random.Random(1)
    client = IMAPClient(account.host, account.port, ssl=False, timeout=60)
    client.login(account.username, account.password)
    size = 0
    when = NOW - timedelta(days=1)
    for start in range(0, count, 500):
        batch = [small_message(n, rnd) for n in range(start, min(count, start + 500))]
        size += sum(len(m) for m in batch)
        client.multiappend("INBOX", [{"msg": m, "flags": (), "date": when} for m in batch])
    client.logout()
    return size


def settings_for(account: Account, url: str, files: Path, **mailbox: object) -> Settings:
    from gateway.config import Settings

    box = {"name": "bench", "host": account.host, "port": account.port, "ssl": False, "username": account.username,
           "password": account.password, "first_sync_days": 30, **mailbox}
    return Settings(config=Path("/nonexistent.toml"), database_url=url, files_dir=files, email={"mailboxes": [box]})


def sync_and_polls(account: Account, url: str, files: Path, count: int, polls: int) -> dict[str, float]:
    from gateway.connectors.email.poller import poll_once
    from gateway.store.standalone import EventLogContext

    settings = settings_for(account, url, files)
    ctx = EventLogContext(settings)
    box = settings.email.mailboxes[0]
    try:
        started = time.perf_counter()
        report = poll_once(settings, box, ctx, now=datetime.now(UTC))
        elapsed = time.perf_counter() - started
        assert report.ok and report.fetched == count, (report.error, report.fetched)
        times = []
        for _ in range(polls):
            started = time.perf_counter()
            again = poll_once(settings, box, ctx, now=datetime.now(UTC))
            times.append((time.perf_counter() - started) * 1000)
            assert again.ok and again.fetched == 0
    finally:
        ctx.close()
    return {"sync_s": elapsed, "rate": count / elapsed, "poll_ms_median": median(times), "poll_ms_p95": pct(times, 95)}


def _status(field: str) -> int:
    """A /proc/self/status figure in KiB (VmRSS now, VmHWM the peak since the last reset)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _reset_peak() -> int:
    """Reset the kernel's peak-RSS mark (Linux: clear_refs 5); returns the RSS at this point."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status("VmRSS")


def memory_child(args: argparse.Namespace) -> None:
    import tracemalloc

    from imap_dovecot import Account

    from gateway.connectors.email.poller import poll_once
    from gateway.store.standalone import EventLogContext

    cfg = json.loads(args.child)
    account = Account(**cfg["account"])
    settings = settings_for(account, cfg["url"], Path(cfg["files"]))
    ctx = EventLogContext(settings)
    box = settings.email.mailboxes[0]
    if cfg["mode"] == "store":
        from gateway.connectors.base import NewEvent

        body = random.Random(3).randbytes(cfg["size"])
        base = _reset_peak()
        tracemalloc.start()
        started = time.perf_counter()
        ctx.store_events([NewEvent(connector="imap", account="bench", key="k", body=body,
                                   received_at=datetime.now(UTC), name="inbox")])
        elapsed = time.perf_counter() - started
    elif cfg["mode"] == "process":
        from gateway.connectors.email.connector import ImapConnector

        poll_once(settings, box, ctx, now=datetime.now(UTC))
        with ctx.engine.connect() as conn:
            from sqlalchemy import select

            from gateway.store.schema import events
            row = conn.execute(select(events)).mappings().one()
        from gateway.connectors.base import StoredEvent

        event = StoredEvent(id=row["id"], connector="imap", account="bench", key=row["key"], name=row["name"],
                            group_key=None, received_at=datetime.now(UTC), headers=row["headers"],
                            body=bytes(row["body"]))
        del row
        connector = ImapConnector(settings)

        class Ctx:
            files = ctx.files
            now = datetime.now(UTC)
            http = None

            def related(self, *a: object) -> list[object]:
                return []

        base = _reset_peak()
        tracemalloc.start()
        started = time.perf_counter()
        connector.process(event, Ctx())
        elapsed = time.perf_counter() - started
    else:
        base = _reset_peak()
        tracemalloc.start()
        started = time.perf_counter()
        report = poll_once(settings, box, ctx, now=datetime.now(UTC))
        elapsed = time.perf_counter() - started
        assert report.ok and report.fetched == 1, report.error
    _, heap_peak = tracemalloc.get_traced_memory()
    peak = _status("VmHWM")
    print(json.dumps({"rss_growth_mb": (peak - base) / 1024, "heap_peak_mb": heap_peak / 2**20, "seconds": elapsed}))


def large_memory(dovecot: DovecotServer, url_ctx: Callable[[], AbstractContextManager[str]],
                 tmp: Path) -> dict[str, dict[str, float]]:
    from imap_support import large_message
    from imapclient import IMAPClient

    raw = large_message(random.Random(2).randbytes(25_000_000))
    out: dict[str, dict[str, float]] = {"message_mb": {"value": len(raw) / 2**20}}
    for mode in ("store", "poll", "process"):
        account = dovecot.add_user()
        client = IMAPClient(account.host, account.port, ssl=False, timeout=60)
        client.login(account.username, account.password)
        client.append("INBOX", raw, flags=(), msg_time=NOW)
        client.logout()
        with url_ctx() as url:
            cfg = {"mode": mode, "url": url, "size": len(raw), "files": str(tmp / f"files-{mode}"), "account": {
                "host": account.host, "port": account.port, "username": account.username,
                "password": account.password}}
            result = subprocess.run([sys.executable, __file__, "--child", json.dumps(cfg)], capture_output=True,
                                    text=True, check=True)
        out[mode] = json.loads(result.stdout.strip().splitlines()[-1])
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=5000)
    p.add_argument("--polls", type=int, default=30)
    p.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument("--child", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        memory_child(args)
        return
    from imap_dovecot import DovecotServer

    from gateway.logs import configure_logging

    configure_logging("console", "warning")
    url_ctx = sqlite_url if args.database == "sqlite" else postgres_url
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lg-bench-imap-")))
        root = Path(tempfile.mkdtemp(prefix="lg-dovecot-"))
        stack.callback(shutil.rmtree, root, True)
        dovecot = DovecotServer(root, users=8).start()
        stack.callback(dovecot.stop)
        account = dovecot.add_user()
        started = time.perf_counter()
        size = fill(account, args.messages)
        print(f"filled INBOX with {args.messages} messages ({size / 2**20:.1f} MB) in "
              f"{time.perf_counter() - started:.1f} s (IMAP APPEND)")
        url = stack.enter_context(url_ctx())
        sync = sync_and_polls(account, url, tmp / "files", args.messages, args.polls)
        print(f"first sync ({args.database}): {args.messages} messages in {sync['sync_s']:.2f} s = "
              f"{sync['rate']:.0f} messages/s ({size / 2**20 / sync['sync_s']:.1f} MB/s)")
        print(f"incremental poll of the unchanged mailbox: median {sync['poll_ms_median']:.1f} ms, "
              f"p95 {sync['poll_ms_p95']:.1f} ms over {args.polls} polls")
        mem = large_memory(dovecot, url_ctx, tmp)
        msg_mb = mem["message_mb"]["value"]
        for mode, label in (("poll", "sync of the 25 MB attachment"),
                            ("store", f"  of which the event log insert of {msg_mb:.1f} MB alone"),
                            ("process", "process() of it")):
            m = mem[mode]
            print(f"{label}: {m['seconds']:.2f} s; peak RSS growth {m['rss_growth_mb']:.0f} MB "
                  f"({m['rss_growth_mb'] / msg_mb:.1f}x the {msg_mb:.1f} MB message), Python heap peak "
                  f"{m['heap_peak_mb']:.0f} MB ({m['heap_peak_mb'] / msg_mb:.1f}x)")


if __name__ == "__main__":
    main()
