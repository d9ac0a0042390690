"""A reply to a mail lead: sent by SMTP (aiosmtpd) in its thread, copied to Sent on Dovecot, not imported twice."""

from __future__ import annotations

import asyncio
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from imapclient import IMAPClient
from sqlalchemy import create_engine, select

from gateway.store.schema import events, messages
from tests.conftest import free_port, make_settings, start_server, until


class Inbox:
    """aiosmtpd's handler: keeps what it was given."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


def first_mail() -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"] = "Пётр <petr@client.example>", "sales@example.com"
    msg["Subject"], msg["Message-ID"] = "Вопрос по доставке", "<q1@client.example>"
    msg["References"] = "<q0@client.example>"
    msg.set_content("Когда доставите?")
    return bytes(msg)



async def test_a_mail_reply_is_threaded_copied_to_sent_and_not_imported_twice(
        tmp_path: Path, account: Any, imap: IMAPClient) -> None:
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    imap.append("INBOX", first_mail())
    settings = make_settings(tmp_path, email={"company_addresses": ["sales@example.com"], "mailboxes": [{
        "name": "sales", "host": account.host, "port": account.port, "ssl": False, "username": account.username,
        "password": account.password, "poll_seconds": 0.5, "smtp_host": "127.0.0.1", "smtp_port": smtp.port,
        "smtp_security": "none", "address": "sales@example.com"}]})
    runner, srv = await start_server(settings)
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            async def lead() -> Any:
                items = (await client.get(f"{srv.url}/api/v1/unsorted", headers=srv.headers())).json()["items"]
                return items[0] if items else None

            found = await until(lead)
            r = await client.post(f"{srv.url}/api/v1/leads/{found['id']}/reply",
                                  json={"text": "Добрый день! Доставим завтра до обеда."}, headers=srv.headers())
            assert r.status_code == 202, r.text
            message_id = r.json()["message"]["message_id"]
            [(sender, rcpts, raw)] = await until(lambda: asyncio.sleep(0, inbox.received))
            sent = message_from_bytes(raw, policy=policy.default)
            assert (sender, rcpts) == ("sales@example.com", ["petr@client.example"])
            assert sent["In-Reply-To"] == "<q1@client.example>"
            assert sent["References"] == "<q1@client.example>"
            assert sent["Subject"] == "Re: Вопрос по доставке" and sent["Message-ID"] == f"<{message_id}>"
            assert sent.get_content().strip() == "Добрый день! Доставим завтра до обеда."

            async def copied() -> list[int]:
                imap.select_folder("Sent", readonly=True)
                return list(imap.search(["HEADER", "Message-ID", f"<{message_id}>"]))

            assert len(await until(copied)) == 1
            await asyncio.sleep(2.0)  # the poller has been through Sent again meanwhile
            body = (await client.get(f"{srv.url}/api/v1/leads/{found['id']}", headers=srv.headers())).json()
            assert [(m["direction"], m["text"]) for m in body["conversation"]] == [
                ("in", "Когда доставите?"), ("out", "Добрый день! Доставим завтра до обеда.")]
        engine = create_engine(settings.database_url)
        with engine.connect() as conn:
            stored = conn.execute(select(events.c.key).where(events.c.connector == "imap",
                                                             events.c.key == message_id)).all()
            outgoing = conn.execute(select(messages.c.key).where(messages.c.direction == "out")).all()
        engine.dispose()
        assert len(stored) == 1 and len(outgoing) == 1  # the Sent copy was not imported a second time
    finally:
        await runner.cleanup()
        smtp.stop()
