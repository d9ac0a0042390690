"""Which folders are synchronised: the inbox and the Sent folder, nothing else."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from imap_dovecot import DovecotServer
from imap_store import StoreContext
from imap_support import NOW, appender, gateway_settings, mailbox_settings, message
from imapclient import IMAPClient

from gateway.connectors.email.folders import FolderEntry, choose_folders
from gateway.connectors.email.poller import poll_once


def entry(name: str, *flags: bytes, delimiter: str = "/") -> FolderEntry:
    return FolderEntry.of(((b"\\HasNoChildren", *flags), delimiter.encode(), name))


BOTH = ["inbox", "sent"]


def test_special_use_flag_wins_over_names() -> None:
    listing = [entry("INBOX"), entry("Sent"), entry("Исходящие", b"\\Sent"), entry("Trash", b"\\Trash")]
    assert choose_folders(listing, BOTH) == [("inbox", "INBOX"), ("sent", "Исходящие")]


@pytest.mark.parametrize(("names", "expected"), [
    (["INBOX", "Sent Items", "Drafts"], "Sent Items"),
    (["INBOX", "INBOX.Sent Messages", "INBOX.Trash"], "INBOX.Sent Messages"),
    (["INBOX", "[Gmail]", "[Gmail]/Sent Mail", "[Gmail]/Spam"], "[Gmail]/Sent Mail"),
    (["INBOX", "Отправленные", "Черновики"], "Отправленные"),
    (["INBOX", "Archive/Sent", "Sent"], "Sent"),
])
def test_usual_names_when_the_server_marks_nothing(names: list[str], expected: str) -> None:
    delimiter = "." if any(n.startswith("INBOX.") for n in names) else "/"
    listing = [entry(n, delimiter=delimiter) for n in names]
    assert choose_folders(listing, BOTH) == [("inbox", "INBOX"), ("sent", expected)]


def test_no_sent_folder_only_the_inbox_and_noselect_is_skipped() -> None:
    assert choose_folders([entry("INBOX"), entry("Drafts")], BOTH) == [("inbox", "INBOX")]
    assert choose_folders([entry("INBOX"), entry("Sent", b"\\Noselect")], BOTH) == [("inbox", "INBOX")]
    assert choose_folders([entry("INBOX"), entry("Sent")], ["sent"]) == [("sent", "Sent")]
    assert choose_folders([entry("INBOX")], BOTH, sent_override="Outbox") == [("inbox", "INBOX"), ("sent", "Outbox")]


@pytest.fixture(scope="module")
def plain_dovecot() -> Iterator[DovecotServer]:
    """A server that marks no folder \\Sent, as some providers do."""
    root = Path(tempfile.mkdtemp(prefix="lg-dovecot-"))
    server = DovecotServer(root, special_use=False, users=4).start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


def test_russian_sent_folder_in_modified_utf7_is_found_and_nothing_else_is_read(
        plain_dovecot: DovecotServer, store: StoreContext) -> None:
    account = plain_dovecot.add_user()
    client = IMAPClient(account.host, account.port, ssl=False, timeout=10)
    client.login(account.username, account.password)
    for folder in ("Отправленные", "Спам", "Архив"):
        client.create_folder(folder)
    raw_names = [name for _flags, _d, name in client.list_folders()]
    append = appender(client)
    append(message(1), when=NOW - timedelta(hours=1))
    append(message(2, sender="sales@company.example"), folder="Отправленные", when=NOW - timedelta(hours=1))
    append(message(3), folder="Спам", when=NOW - timedelta(hours=1))
    append(message(4), folder="Архив", when=NOW - timedelta(hours=1))
    client.folder_encode = False
    assert b"&BB4EQgQ,BEAEMAQyBDsENQQ9BD0ESwQ1-" in [n for _f, _d, n in client.list_folders()]  # on the wire
    client.logout()
    assert "Отправленные" in raw_names
    mb = mailbox_settings(account)
    report = poll_once(gateway_settings(mb), mb, store, now=NOW)
    assert report.ok, report.error
    assert [(f.role, f.folder) for f in report.folders] == [("inbox", "INBOX"), ("sent", "Отправленные")]
    assert {(e.key, e.name) for e in store.events()} == {
        ("msg-1@customer.example", "inbox"), ("msg-2@customer.example", "sent")}
