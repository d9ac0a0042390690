"""Mail end to end as `gateway serve` runs it: the embedded poller, the worker process, the API, /readyz."""

from __future__ import annotations

import asyncio
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
from imapclient import IMAPClient

from tests.conftest import make_settings, start_server


def mail(sender: str, subject: str, body: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "sales@example.com", subject
    msg["Message-ID"] = f"<{abs(hash((sender, subject)))}@client.example>"
    msg.set_content(body)
    return bytes(msg)


async def test_a_mail_becomes_an_unsorted_lead_and_readyz_shows_the_mailbox(
        tmp_path: Path, account: Any, imap: IMAPClient) -> None:
    imap.append("INBOX", mail("Пётр <petr@client.example>", "Нужен расчёт", "Позвоните: 8 916 555-44-33"))
    settings = make_settings(tmp_path, email={"mailboxes": [{
        "name": "sales", "host": account.host, "port": account.port, "ssl": False, "username": account.username,
        "password": account.password, "poll_seconds": 0.5}]})
    runner, srv = await start_server(settings)
    try:
        async with httpx.AsyncClient() as client:
            lead = None
            for _ in range(200):
                items = (await client.get(f"{srv.url}/api/v1/unsorted", headers=srv.headers())).json()["items"]
                if items:
                    lead = items[0]
                    break
                await asyncio.sleep(0.1)
            assert lead is not None, "the mail did not become a lead"
            assert (lead["channel"], lead["kind"], lead["email"]) == ("imap", "mail", "petr@client.example")
            assert lead["subject"] == "Нужен расчёт" and lead["source"] == "sales"
            found = (await client.get(f"{srv.url}/api/v1/contacts", params={"phone": "+79165554433"},
                                      headers=srv.headers())).json()["items"]
            assert found and found[0]["id"] == lead["contact_id"]
            ready = (await client.get(f"{srv.url}/readyz", headers=srv.headers("operator"))).json()
            [box] = ready["mailboxes"]
            assert box["mailbox"] == "sales" and box["ok"] and box["last_ok_at"]
    finally:
        await runner.cleanup()
    assert "\\Seen" not in str(imap.get_flags(imap.select_folder("INBOX") and imap.search("ALL")))
