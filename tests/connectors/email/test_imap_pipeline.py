"""From a Dovecot mailbox to leads: the poller into the real event log, the processor, the core pipeline."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from imap_dovecot import Account
from imap_support import NOW, appender, corpus, gateway_settings, mailbox_settings
from imapclient import IMAPClient
from sqlalchemy import select

from gateway.connectors.email.connector import ImapConnector
from gateway.connectors.email.poller import poll_once
from gateway.dispatch.processor import Processor
from gateway.egress import OutboundClient, OutboundPolicy
from gateway.store.schema import attachments, events, leads, messages
from gateway.store.standalone import EventLogContext


def test_mailbox_to_leads_threads_history_and_failures(account: Account, imap: IMAPClient, tmp_path: Path) -> None:
    append = appender(imap)
    when = NOW - timedelta(hours=1)
    for name, folder in [("thread_1_question", "INBOX"), ("thread_2_answer_sent", "Sent"),
                         ("thread_3_followup", "INBOX"), ("auto_reply", "INBOX"),
                         ("cyrillic_attachment_names", "INBOX"), ("not_a_message", "INBOX")]:
        append(corpus(f"{name}.eml"), folder=folder, when=when)
    mailbox = mailbox_settings(account)
    settings = gateway_settings(mailbox, company_domains=["company.example"]).model_copy(update={
        "database_url": f"sqlite:///{tmp_path / 'gw.db'}", "files_dir": tmp_path / "files"})
    ctx = EventLogContext(settings)
    http = OutboundClient(OutboundPolicy())
    try:
        report = poll_once(settings, mailbox, ctx, now=NOW)
        assert report.ok and report.fetched == 6
        processor = Processor(settings, ctx.engine, {"imap": ImapConnector(settings)}, ctx.files, http)
        for _ in range(3):
            processor.run_batch("test-worker")
        with ctx.engine.connect() as conn:
            lead_rows = {r.key: r for r in conn.execute(select(leads))}
            message_rows = {r.key: r for r in conn.execute(select(messages))}
            event_rows = {r.key: r for r in conn.execute(select(events))}
            files = conn.execute(select(attachments.c.name, attachments.c.role)).all()
    finally:
        http.close()
        ctx.close()
    question = lead_rows["imap:sales:thread-1@client-company.ru"]
    assert question.status == "unsorted" and question.email == "anna@client-company.ru"
    assert "imap:sales:thread-2@company.example" not in lead_rows  # our answer: history, not a lead
    assert "imap:sales:thread-3@client-company.ru" not in lead_rows  # the follow-up joined the thread
    assert message_rows["imap:sales:thread-3@client-company.ru"].lead_id == question.id
    assert message_rows["imap:sales:thread-2@company.example"].contact_id == question.contact_id
    assert lead_rows["imap:sales:auto@client-company.ru"].quality == "non_target"
    assert ("Счёт №15 от 26.02.pdf", "attachment") in files and ("message.eml", "original") in files
    [bad] = [e for e in event_rows.values() if e.status in ("failed", "dead")]
    assert "not a mail message" in (bad.last_error or "")
    assert all(e.status == "done" for e in event_rows.values() if e is not bad)
