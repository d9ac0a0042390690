"""The poller when things break: dropped connections, crashes between storing and committing,
emptied and recreated mailboxes, restarts in the middle of a batch."""

from __future__ import annotations

import shutil
import threading
from collections import Counter
from datetime import timedelta

from imap_dovecot import Account, DovecotServer
from imap_proxy import CuttingProxy
from imap_store import StoreContext
from imap_support import NOW, appender, gateway_settings, mailbox_settings, message
from imapclient import IMAPClient
from sqlalchemy import select

from gateway.connectors.email.poller import PollReport, poll_once
from gateway.store import mailbox_state as state
from gateway.store.schema import mailbox_state


def _cursor(store: StoreContext, folder: str = "INBOX") -> tuple[int | None, int]:
    with store.engine.connect() as conn:
        row = conn.execute(select(mailbox_state.c.uidvalidity, mailbox_state.c.last_uid).where(
            mailbox_state.c.mailbox == "sales", mailbox_state.c.folder == folder)).one()
    return row.uidvalidity, row.last_uid


def _poll(account: Account, store: StoreContext, **kw: object) -> PollReport:
    owner = kw.pop("owner", None)
    stop = kw.pop("stop", None)
    mb = mailbox_settings(account, **{"folders": ["inbox"], **kw})
    return poll_once(gateway_settings(mb), mb, store, now=NOW, sleep=lambda s: None, owner=owner, stop=stop)


def _fill(imap: IMAPClient, count: int, *, body_size: int = 0) -> None:
    append = appender(imap)
    for n in range(count):
        append(message(n, body="x" * body_size + f" {n}\n" if body_size else None), when=NOW - timedelta(hours=2))


def _exactly_once(store: StoreContext, count: int) -> None:
    keys = store.keys()
    assert Counter(keys).most_common(1)[0][1] == 1
    assert sorted(keys) == sorted(f"msg-{n}@customer.example" for n in range(count))


def test_connection_cut_in_the_middle_of_a_fetch_reconnects(account: Account, imap: IMAPClient,
                                                             store: StoreContext) -> None:
    _fill(imap, 20, body_size=20_000)
    with CuttingProxy(account.port, cuts={1: 150_000}) as proxy:
        report = _poll(account, store, port=proxy.port, batch_size=5, batch_mb=0.05)
    assert proxy.cut_done == 1
    assert report.ok, report.error
    assert report.reconnects == 1
    _exactly_once(store, 20)
    assert _cursor(store)[1] == 20


def test_killed_imap_process_reconnects_and_resumes(account: Account, imap: IMAPClient, store: StoreContext,
                                                    dovecot: DovecotServer) -> None:
    _fill(imap, 12)
    store.after_store = lambda call: dovecot.kill_imap_processes() if call == 2 else None
    report = _poll(account, store, batch_size=3)
    assert report.ok, report.error
    assert report.reconnects == 1
    _exactly_once(store, 12)


def test_connection_that_keeps_dropping_fails_the_poll_and_records_it(account: Account, imap: IMAPClient,
                                                                       store: StoreContext) -> None:
    _fill(imap, 3)
    with CuttingProxy(account.port, cuts={k: 200 for k in range(1, 10)}) as proxy:
        report = _poll(account, store, port=proxy.port)
    assert not report.ok and "connection lost" in (report.error or "")
    assert report.reconnects == 3
    with store.engine.connect() as conn:
        health = state.mailbox_health(conn)
    assert health[0]["mailbox"] == "sales" and health[0]["ok"] is False
    assert "connection lost" in health[0]["last_error"]
    report = _poll(account, store)
    assert report.ok and report.fetched == 3
    with store.engine.connect() as conn:
        health = state.mailbox_health(conn)
    assert health[0]["ok"] is True and health[0]["last_ok_at"] is not None


def test_crash_after_storing_before_the_cursor_moves_fetches_again_without_duplicates(
        account: Account, imap: IMAPClient, store: StoreContext) -> None:
    _fill(imap, 6)

    def crash(call: int) -> None:
        if call == 1:
            raise RuntimeError("killed between the event log commit and the cursor commit")
    store.after_store = crash
    report = _poll(account, store, batch_size=3)
    assert not report.ok and "killed between" in (report.error or "")
    assert store.count() == 3
    assert _cursor(store) == (None, 0)  # the cursor never moved past what the crash left unconfirmed
    first_rows = store.ids_by_key()
    [first_answer] = store.answers

    store.after_store = None
    report = _poll(account, store, batch_size=3)
    assert report.ok and report.fetched == 6  # the first three are fetched again...
    _exactly_once(store, 6)  # ...and ignored by the event log:
    assert store.answers[1] == first_answer  # answered with the ids stored first,
    assert {k: i for k, i in store.ids_by_key().items() if k in first_rows} == first_rows  # rows not replaced
    assert _cursor(store)[1] == 6


def test_crash_before_storing_loses_nothing(account: Account, imap: IMAPClient, store: StoreContext) -> None:
    _fill(imap, 4)
    store.before_store = lambda call: (_ for _ in ()).throw(OSError("disk full")) if call == 1 else None
    assert not _poll(account, store).ok
    assert store.count() == 0
    store.before_store = None
    assert _poll(account, store).fetched == 4
    _exactly_once(store, 4)


def test_emptied_mailbox_keeps_its_cursor_and_takes_new_mail(account: Account, imap: IMAPClient,
                                                             store: StoreContext) -> None:
    _fill(imap, 3)
    assert _poll(account, store).fetched == 3
    imap.select_folder("INBOX")
    imap.delete_messages(imap.search("ALL"))
    imap.expunge()
    assert _poll(account, store).fetched == 0
    appender(imap)(message(3))
    report = _poll(account, store)
    assert report.fetched == 1 and store.count() == 4
    assert _cursor(store)[1] == 4


def test_mailbox_recreated_with_the_same_uidvalidity_resyncs(account: Account, imap: IMAPClient,
                                                             store: StoreContext, dovecot: DovecotServer) -> None:
    _fill(imap, 5)
    assert _poll(account, store).fetched == 5
    validity, last = _cursor(store)
    imap.logout()
    dovecot.kill_imap_processes()
    shutil.rmtree(dovecot.maildir(account))  # the server lost the mailbox: UIDs start again at 1
    dovecot.doveadm("mailbox", "update", "-u", account.username, "--uid-validity", str(validity), "INBOX")
    fresh = IMAPClient(account.host, account.port, ssl=False, timeout=10)
    fresh.login(account.username, account.password)
    append = appender(fresh)
    for n in (0, 1, 5):  # two restored old messages and a new one
        append(message(n), when=NOW - timedelta(hours=1))
    status = fresh.select_folder("INBOX", readonly=True)
    fresh.logout()
    assert status[b"UIDVALIDITY"] == validity and status[b"UIDNEXT"] <= last

    report = _poll(account, store)
    assert report.ok, report.error
    assert report.folders[0].resynced == "mailbox reset"
    _exactly_once(store, 6)
    assert _cursor(store) == (validity, 3)
    appender_client = IMAPClient(account.host, account.port, ssl=False, timeout=10)
    appender_client.login(account.username, account.password)
    appender(appender_client)(message(6))
    appender_client.logout()
    assert _poll(account, store).fetched == 1


def test_thousand_messages_with_a_restart_mid_batch_exactly_once_never_seen(
        account: Account, imap: IMAPClient, store: StoreContext) -> None:
    when = NOW - timedelta(hours=3)
    imap.multiappend("INBOX", [{"msg": message(n), "flags": (), "date": when} for n in range(1000)])
    stop = threading.Event()
    store.after_store = lambda call: stop.set() if call == 3 else None
    first = _poll(account, store, batch_size=100, batch_mb=0.05, stop=stop, owner="host-a:1")
    assert first.stopped and 0 < store.count() < 1000
    store.after_store = None
    second = _poll(account, store, batch_size=100, owner="host-b:2")  # another process takes over
    assert second.ok and not second.stopped
    _exactly_once(store, 1000)
    assert _cursor(store)[1] == 1000
    imap.select_folder("INBOX", readonly=True)
    assert not imap.search(["SEEN"])
