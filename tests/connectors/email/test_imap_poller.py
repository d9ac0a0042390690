"""The poller against a real Dovecot: first sync, increments, cursors, \\Seen, resyncs."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from imap_dovecot import Account, DovecotServer
from imap_store import ParseCtx, StoreContext
from imap_support import NOW, appender, gateway_settings, large_message, mailbox_settings, message
from imapclient import IMAPClient
from sqlalchemy import select

from gateway.connectors.email.connector import ImapConnector
from gateway.connectors.email.poller import poll_once
from gateway.store import mailbox_state as state
from gateway.store.schema import mailbox_state


def _cursor(store: StoreContext, folder: str = "INBOX") -> tuple[int | None, int]:
    with store.engine.connect() as conn:
        row = conn.execute(select(mailbox_state.c.uidvalidity, mailbox_state.c.last_uid).where(
            mailbox_state.c.mailbox == "sales", mailbox_state.c.folder == folder)).one()
    return row.uidvalidity, row.last_uid


def _poll(account: Account, store: StoreContext, **kw: object):
    mb = mailbox_settings(account, **kw)
    return poll_once(gateway_settings(mb), mb, store, now=NOW, sleep=lambda s: None)


def test_first_sync_then_increment_never_sets_seen(account: Account, imap: IMAPClient, store: StoreContext) -> None:
    append = appender(imap)
    for n in range(5):
        append(message(n), when=NOW - timedelta(days=1))
    append(message(100, sender="sales@company.example", to="client@customer.example"), folder="Sent",
           when=NOW - timedelta(days=1))
    report = _poll(account, store)
    assert report.ok, report.error
    assert report.fetched == 6
    assert {(f.role, f.folder) for f in report.folders} == {("inbox", "INBOX"), ("sent", "Sent")}
    assert sorted(store.keys()) == sorted([f"msg-{n}@customer.example" for n in [*range(5), 100]])
    names = {e.key: e.name for e in store.events()}
    assert names["msg-100@customer.example"] == "sent" and names["msg-0@customer.example"] == "inbox"
    assert _cursor(store)[1] == 5

    append(message(5))
    report = _poll(account, store)
    assert report.fetched == 1 and store.count() == 7
    assert _poll(account, store).fetched == 0

    imap.select_folder("INBOX", readonly=True)
    flags = imap.get_flags(imap.search("ALL"))
    assert flags and all(b"\\Seen" not in f for f in flags.values())


def test_first_sync_reaches_back_first_sync_days_only(account: Account, imap: IMAPClient, store: StoreContext) -> None:
    append = appender(imap)
    append(message(1), when=NOW - timedelta(days=40))
    append(message(2), when=NOW - timedelta(days=3))
    report = _poll(account, store, first_sync_days=30)
    assert report.fetched == 1
    assert store.keys() == ["msg-2@customer.example"]
    assert _cursor(store)[1] == 2  # the old one is behind the cursor for good
    assert _poll(account, store).fetched == 0


def test_uidvalidity_change_resyncs_without_duplicates(account: Account, imap: IMAPClient, store: StoreContext,
                                                        dovecot: DovecotServer) -> None:
    append = appender(imap)
    for n in range(3):
        append(message(n), when=NOW - timedelta(days=1))
    assert _poll(account, store).fetched == 3
    old_validity, _ = _cursor(store)
    dovecot.doveadm("mailbox", "update", "-u", account.username, "--uid-validity", str(old_validity + 7), "INBOX")
    append(message(3), when=NOW - timedelta(hours=1))
    report = _poll(account, store)
    assert report.ok, report.error
    inbox = next(f for f in report.folders if f.role == "inbox")
    assert inbox.resynced == "uidvalidity changed"
    assert store.count() == 4
    assert sorted(store.keys()) == [f"msg-{n}@customer.example" for n in range(4)]
    assert _cursor(store) == (old_validity + 7, 4)


def test_lease_held_by_another_poller_skips_the_mailbox(account: Account, imap: IMAPClient,
                                                         store: StoreContext) -> None:
    appender(imap)(message(1))
    state.ensure_rows(store.engine, "sales", [])
    assert state.acquire_lease(store.engine, "sales", "other-host:1", now=NOW, lease_s=300)
    report = _poll(account, store)
    assert report.locked and store.count() == 0


def test_message_with_a_25_mb_attachment_is_fetched_in_parts_and_stored_whole(
        account: Account, imap: IMAPClient, store: StoreContext) -> None:
    payload = bytes(range(256)) * (25_000_000 // 256)
    appender(imap)(large_message(payload))
    report = _poll(account, store)
    assert report.ok and report.fetched == 1
    [event] = store.events()
    imap.select_folder("INBOX", readonly=True)
    served = imap.fetch([1], ["BODY.PEEK[]"])[1][b"BODY[]"]
    assert len(event.body) > 25_000_000 and event.body == served
    assert "truncated" not in event.headers
    outcome = ImapConnector(gateway_settings(mailbox_settings(account))).process(event, ParseCtx(store.files))
    [attachment] = [a for a in outcome.interactions[0].messages[0].attachments if a.role == "attachment"]
    assert attachment.file_id == hashlib.sha256(payload).hexdigest() and attachment.name == "каталог.bin"


def test_message_over_the_size_limit_is_stored_as_its_header(account: Account, imap: IMAPClient,
                                                             store: StoreContext) -> None:
    append = appender(imap)
    append(large_message(b"x" * 3_000_000, message_id="huge@client-company.ru"))
    append(message(2))
    report = _poll(account, store, max_message_mb=1)
    assert report.ok and report.fetched == 2
    huge = next(e for e in store.events() if e.key == "huge@client-company.ru")
    assert huge.headers["truncated"] == "1" and int(huge.headers["size"]) > 4_000_000
    assert len(huge.body) < 2000 and huge.body.endswith(b"\r\n\r\n")
    outcome = ImapConnector(gateway_settings(mailbox_settings(account))).process(huge, ParseCtx(store.files))
    [original] = outcome.interactions[0].messages[0].attachments
    assert original.omitted and original.role == "original" and "only its header" in (original.reason or "")


def test_heartbeat_keeps_the_lease_through_a_long_fetch_and_notices_when_it_is_gone(store: StoreContext,
                                                                                     account: Account) -> None:
    import time

    from gateway.connectors.email.poller import _Poll, clock_from

    state.ensure_rows(store.engine, "sales", [])
    assert state.acquire_lease(store.engine, "sales", "me", now=NOW, lease_s=300)
    poll = _Poll(mailbox_settings(account), store, "me", clock_from(NOW), None, 300)
    poll.renewed = time.monotonic() - 101  # a third of the lease has gone by in one partial read
    poll.heartbeat()
    with store.engine.connect() as conn:
        until = conn.execute(select(mailbox_state.c.lock_until).where(mailbox_state.c.folder == "")).scalar_one()
    assert until.replace(tzinfo=NOW.tzinfo) > NOW + timedelta(seconds=299)
    assert state.acquire_lease(store.engine, "sales", "thief", now=NOW + timedelta(hours=1), lease_s=300)
    poll.renewed = time.monotonic() - 101
    with pytest.raises(state.LeaseLost):
        poll.heartbeat()
