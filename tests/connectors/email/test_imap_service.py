"""The poller service, the history import and the command line, against Dovecot."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta
from pathlib import Path

import pytest
from imap_dovecot import Account, DovecotServer
from imap_store import ParseCtx, StoreContext
from imap_support import NOW, appender, gateway_settings, mailbox_settings, message
from imapclient import IMAPClient

from gateway.connectors.email.cli import mail_main, main, poll_main
from gateway.connectors.email.connector import ImapConnector
from gateway.connectors.email.service import next_delay, run_pollers
from gateway.store import mailbox_state as state


def test_backoff_doubles_per_failure_up_to_fifteen_minutes() -> None:
    assert next_delay(60, 0) == 60
    assert next_delay(60, 1) == 120
    assert next_delay(60, 3) == 480
    assert next_delay(60, 10) == 900
    assert next_delay(1, 1) == 2


async def test_run_pollers_polls_every_mailbox_until_stopped(dovecot: DovecotServer, store: StoreContext) -> None:
    accounts = [dovecot.add_user(), dovecot.add_user()]
    boxes = [mailbox_settings(a, name=f"box{i}", poll_seconds=0.05) for i, a in enumerate(accounts)]
    for i, a in enumerate(accounts):
        client = IMAPClient(a.host, a.port, ssl=False, timeout=10)
        client.login(a.username, a.password)
        appender(client)(message(i))
        client.logout()
    settings = gateway_settings(*boxes)
    stop = asyncio.Event()
    task = asyncio.create_task(run_pollers(settings, store, stop, clock=lambda: NOW))
    for _ in range(200):
        if store.count() == 2:
            break
        await asyncio.sleep(0.05)
    client = IMAPClient(accounts[0].host, accounts[0].port, ssl=False, timeout=10)
    client.login(accounts[0].username, accounts[0].password)
    appender(client)(message(7))  # arrives while the service runs
    client.logout()
    for _ in range(200):
        if store.count() == 3:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, timeout=30)
    assert sorted(store.keys()) == ["msg-0@customer.example", "msg-1@customer.example", "msg-7@customer.example"]
    with store.engine.connect() as conn:
        health = {h["mailbox"]: h for h in state.mailbox_health(conn)}
    assert set(health) == {"box0", "box1"}
    assert all(h["ok"] and h["last_ok_at"] and h["locked_by"] is None for h in health.values())


async def test_connector_offers_the_poller_as_a_service(account: Account, store: StoreContext) -> None:
    connector = ImapConnector(gateway_settings(mailbox_settings(account)))
    assert connector.routes() == []
    [service] = connector.services()
    stop = asyncio.Event()
    stop.set()
    await asyncio.wait_for(service(store, stop), timeout=30)
    assert ImapConnector(gateway_settings()).services() == []


def test_poll_mail_once(account: Account, imap: IMAPClient, store: StoreContext,
                        capsys: pytest.CaptureFixture[str]) -> None:
    appender(imap)(message(1))
    settings = gateway_settings(mailbox_settings(account))
    assert poll_main(["--once"], ctx=store, settings=settings) == 0
    assert "sales: 1 messages stored; ok" in capsys.readouterr().out
    assert main(["poll-mail", "--once", "--mailbox", "nope"], ctx=store, settings=settings) == 2


def test_import_history_with_progress_becomes_contact_history(account: Account, imap: IMAPClient,
                                                              store: StoreContext,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    append = appender(imap)
    append(message(1), when=NOW - timedelta(days=400))
    append(message(2), when=NOW - timedelta(days=100))
    append(message(3, sender="sales@company.example", to="old@customer.example"), folder="Sent",
           when=NOW - timedelta(days=90))
    settings = gateway_settings(mailbox_settings(account), company_domains=["company.example"])
    code = mail_main(["import", "--since", (NOW - timedelta(days=200)).date().isoformat(), "--mailbox", "sales"],
                     ctx=store, settings=settings)
    out = capsys.readouterr()
    assert code == 0
    assert "sales: 2 messages offered" in out.out
    assert "import sales: 2/2 messages (100%)" in out.err and "msg/s" in out.err and "left" in out.err
    stored = {e.key: e for e in store.events()}
    assert set(stored) == {"msg-2@customer.example", "msg-3@customer.example"}
    assert {e.name for e in stored.values()} == {"import"}
    connector = ImapConnector(settings)
    ctx = ParseCtx(store.files)
    inbound = connector.process(stored["msg-2@customer.example"], ctx).interactions[0]
    sent = connector.process(stored["msg-3@customer.example"], ctx).interactions[0]
    assert inbound.history_only and sent.history_only
    assert [i.value for i in sent.identities] == ["old@customer.example"]
    with store.engine.connect() as conn:
        assert state.mailbox_health(conn)[0]["folders"] == []  # the import leaves the poller's cursors alone


def test_import_waits_for_a_poll_in_progress_then_gives_up(account: Account, store: StoreContext) -> None:
    from gateway.connectors.email.importer import import_history
    from gateway.core.errors import TransientUpstreamError

    mb = mailbox_settings(account)
    state.ensure_rows(store.engine, "sales", [])
    assert state.acquire_lease(store.engine, "sales", "poller:1", now=NOW, lease_s=300)
    waits: list[float] = []
    with pytest.raises(TransientUpstreamError, match="being polled"):
        import_history(gateway_settings(mb), mb, store, since=NOW.date(), now=NOW, stream=io.StringIO(),
                       wait_s=0, sleep=waits.append)


def test_command_line_with_the_real_event_log(account: Account, imap: IMAPClient, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    appender(imap)(message(1))
    config = tmp_path / "gateway.toml"
    config.write_text(
        f'[[email.mailboxes]]\nname = "sales"\nhost = "{account.host}"\nport = {account.port}\nssl = false\n'
        f'username = "{account.username}"\npassword_env = "LG_TEST_MAIL_PASSWORD"\n'
    )
    monkeypatch.setenv("LG_TEST_MAIL_PASSWORD", account.password)
    monkeypatch.setenv("GATEWAY_DATABASE_URL", f"sqlite:///{tmp_path / 'gw.db'}")
    monkeypatch.setenv("GATEWAY_FILES_DIR", str(tmp_path / "files"))
    assert poll_main(["--once", "--config", str(config)]) == 0
    assert "sales: 1 messages stored; ok" in capsys.readouterr().out
    assert poll_main(["--once", "--config", str(config)]) == 0
    assert "sales: 0 messages stored; ok" in capsys.readouterr().out
