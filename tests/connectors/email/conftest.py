"""Fixtures for the mail connector: a throw-away Dovecot (session-wide), a fresh user per test, a store."""

from __future__ import annotations

import contextlib
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from imapclient import IMAPClient

sys.path.insert(0, str(Path(__file__).parent))

from imap_dovecot import Account, DovecotServer
from imap_store import StoreContext


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    """Dovecot on a free port, config and mail in a temporary folder (installed with apt-get when missing)."""
    root = Path(tempfile.mkdtemp(prefix="lg-dovecot-"))  # not under pytest's 0700 folder: Dovecot's users read it
    server = DovecotServer(root).start()
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def account(dovecot: DovecotServer) -> Account:
    """A new, empty mailbox on the shared server."""
    return dovecot.add_user()


@pytest.fixture
def store(tmp_path: Path) -> StoreContext:
    return StoreContext(tmp_path)


@pytest.fixture
def imap(account: Account) -> Iterator[IMAPClient]:
    """A client for the test's own mailbox, to fill it (APPEND) and look at flags."""
    client = IMAPClient(account.host, account.port, ssl=False, timeout=10)
    client.login(account.username, account.password)
    yield client
    with contextlib.suppress(Exception):  # the test may have killed the server's process
        client.logout()
