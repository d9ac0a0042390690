"""What `process` makes of each kind of mail: who the lead is, threads, non-target mail, files and limits."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from imap_store import ParseCtx
from test_imap_corpus import corpus_event, corpus_settings

from gateway.connectors.email.connector import ImapConnector
from gateway.core.errors import PayloadError
from gateway.core.models import Direction, IdentityKind, Interaction
from gateway.store.files import FileStore

RU = "Здравствуйте! Прошу выставить счёт на поставку 20 единиц товара."


@pytest.fixture
def files(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "files")


def run(name: str, files: FileStore, raw: bytes | None = None, **mailbox: object) -> Interaction:
    settings = corpus_settings()
    if mailbox:
        box = settings.email.mailboxes[0].model_copy(update=mailbox)
        settings = settings.model_copy(update={"email": settings.email.model_copy(update={"mailboxes": [box]})})
    outcome = ImapConnector(settings).process(corpus_event(name, raw), ParseCtx(files))
    [interaction] = outcome.interactions
    return interaction


def ids(ix: Interaction) -> list[tuple[str, str]]:
    return [(i.kind.value, i.value) for i in ix.identities]


def test_mail_from_an_unknown_sender_is_a_lead_with_phones_from_the_new_text(files: FileStore) -> None:
    ix = run("plain_utf8_with_phone", files)
    assert ix.key == "imap:sales:plain-utf8@client-company.ru"
    assert ix.channel.value == "imap" and ix.kind.value == "mail"
    assert ix.direction is Direction.IN and not ix.history_only and ix.non_target_reason is None
    assert ids(ix) == [("email", "anna@client-company.ru"), ("phone", "+79161234567")]
    assert ix.name == "Анна Смирнова" and ix.source == "Почта sales@" and ix.subject == "Запрос счёта"
    [msg] = ix.messages
    assert msg.key == ix.key and msg.text and msg.text.startswith(RU) and "Анна Смирнова\nООО" in (msg.quoted or "")
    [original] = msg.attachments
    assert original.role == "original" and original.name == "message.eml" and original.file_id
    assert files.read(original.file_id) == corpus_event("plain_utf8_with_phone").body


@pytest.mark.parametrize("name", [
    "plain_koi8r", "plain_windows1251", "plain_cp866", "mislabelled_koi8r_as_windows1251",
    "mislabelled_windows1251_as_koi8r", "mislabelled_utf8_as_koi8r", "mislabelled_windows1251_as_utf8",
    "mislabelled_cp866_as_windows1251", "unknown_charset", "raw_8bit_headers", "subject_split_utf8_words",
])
def test_every_charset_and_every_lie_about_it_reads_right(name: str, files: FileStore) -> None:
    ix = run(name, files)
    assert ix.text is not None and ix.text.startswith(RU)
    assert ix.subject and all("а" <= ch.lower() <= "я" or ch in "ё ()-:" or ch.isascii() for ch in ix.subject)


def test_rfc2047_subjects_and_names(files: FileStore) -> None:
    assert run("plain_koi8r", files).subject == "Заявка на поставку"
    assert run("plain_windows1251", files).subject == "Счёт и договор"
    assert run("mislabelled_koi8r_as_windows1251", files).subject == "Заявка (koi8-r под видом windows-1251)"
    assert run("unknown_charset", files).subject == "Неизвестная кодировка"
    raw8 = run("raw_8bit_headers", files)
    assert raw8.subject == "Заявка без кодирования" and raw8.name == "Анна Смирнова"
    assert run("subject_split_utf8_words", files).subject == "Коммерческое предложение"


def test_cyrillic_attachment_names_are_decoded_and_files_stored(files: FileStore) -> None:
    ix = run("cyrillic_attachment_names", files)
    parts = [a for a in ix.messages[0].attachments if a.role == "attachment"]
    assert [a.name for a in parts] == [
        "Счёт №15 от 26.02.pdf", "Реквизиты компании.pdf", "Договор поставки.doc", "Прайс-лист.xlsx"]
    assert all(a.file_id and not a.omitted for a in parts)
    assert files.read(parts[0].file_id or "").startswith(b"%PDF-1.4")
    assert parts[0].content_type == "application/pdf"


def test_nested_multiparts_give_the_plain_text_the_html_and_every_file(files: FileStore) -> None:
    msg = run("nested_multipart", files).messages[0]
    assert msg.text == "Текст письма (plain)." and msg.html and "<b>(html)</b>" in msg.html
    by_name = {a.name: a for a in msg.attachments}
    assert by_name["logo.png"].inline and by_name["logo.png"].content_type == "image/png"
    assert not by_name["brief.pdf"].inline
    forwarded = files.read(by_name["Пересланное письмо.eml"].file_id or "")
    assert b"inner@other.example" in forwarded
    assert by_name["message.eml"].role == "original"


def test_html_only_mail_becomes_readable_text_and_keeps_the_html(files: FileStore) -> None:
    ix = run("html_only", files)
    msg = ix.messages[0]
    assert msg.text and msg.text.startswith("Добрый день!") and "«Модель X»" in msg.text
    assert "alert" not in msg.text and "color" not in msg.text
    assert "каталог (https://client-company.ru/catalog)" in msg.text
    assert msg.quoted and msg.quoted.startswith("26.02.2024 9:00, Отдел продаж пишет:")
    assert msg.html and "<script>" in msg.html  # kept as received; the page sanitises it
    assert ("phone", "+74957654321") in ids(ix)


@pytest.mark.parametrize(("name", "reason"), [
    ("auto_reply", "auto-reply"), ("auto_reply_outlook", "auto-reply"), ("bounce", "bounce"),
    ("bulk_newsletter", "bulk"),
])
def test_automatic_mail_is_not_a_target_lead(name: str, reason: str, files: FileStore) -> None:
    ix = run(name, files)
    assert ix.non_target_reason == reason
    assert all(i.kind is IdentityKind.EMAIL for i in ix.identities)  # no phones read from a robot's text


def test_a_thread_of_three_replies_joins_up(files: FileStore) -> None:
    first, ours, theirs, ours_again = (run(n, files) for n in (
        "thread_1_question", "thread_2_answer_sent", "thread_3_followup", "thread_4_answer_sent"))
    assert first.reply_to == [] and first.direction is Direction.IN
    assert ours.direction is Direction.OUT and ours.history_only
    assert ids(ours) == [("email", "anna@client-company.ru")]  # the recipient, not our signature's phone
    assert ours.reply_to == [first.key]
    assert theirs.reply_to == [ours.key, first.key]
    assert theirs.messages[0].text == "Спасибо, оформляем заказ. Мой мобильный +7 926 555-12-34."
    assert (theirs.messages[0].quoted or "").startswith("пн, 26 февр. 2024 г. в 12:00, Отдел продаж")
    assert ("phone", "+79265551234") in ids(theirs) and ("phone", "+74951234567") not in ids(theirs)
    assert ours_again.reply_to == [theirs.key, ours.key, first.key]
    assert ours_again.messages[0].text == "Заказ принят, счёт во вложении."


def test_mail_without_message_id_is_keyed_by_its_content(files: FileStore) -> None:
    ix = run("no_message_id", files)
    assert ix.key.startswith("imap:sales:sha256:") and len(ix.key) == len("imap:sales:sha256:") + 64


def test_broken_boundary_and_nul_bytes_still_give_clean_text(files: FileStore) -> None:
    broken = run("malformed_boundary", files)
    assert broken.text == "Текст, который всё равно нужно показать. Телефон 8 916 765-43-21."
    assert ("phone", "+79167654321") in ids(broken)
    nul = run("nul_byte", files)
    assert nul.text == "До нуляпосле нуля." and "\x00" not in nul.model_dump_json()


def test_site_notification_makes_the_reply_to_person_the_lead(files: FileStore) -> None:
    ix = run("website_form_notification", files)
    assert ix.direction is Direction.IN and ix.name == "Пётр Иванов"
    assert ids(ix) == [("email", "petr.ivanov@gmail.com"), ("phone", "+79265550011")]


def test_our_own_mail_is_internal(files: FileStore) -> None:
    ix = run("internal_colleague", files)
    assert ix.direction is Direction.INTERNAL and ix.identities == []


def test_not_a_message_raises_payload_error_with_the_reason(files: FileStore) -> None:
    with pytest.raises(PayloadError, match="not a mail message"):
        run("not_a_message", files)
    with pytest.raises(PayloadError, match="empty"):
        run("no_message_id", files, raw=b"\r\n\r\n")


def test_attachment_over_the_limit_is_recorded_as_omitted(files: FileStore) -> None:
    msg = run("cyrillic_attachment_names", files, max_attachment_mb=0.00005).messages[0]  # 52 bytes
    by_name = {a.name: a for a in msg.attachments}
    big = by_name["Договор поставки.doc"]
    assert big.omitted and big.file_id is None and big.reason == "over the 52-byte attachment limit"
    assert 80 <= big.size <= 84  # estimated from the encoded size: it was never decoded
    assert not by_name["Прайс-лист.xlsx"].omitted  # 10 bytes: under the limit
    assert not by_name["message.eml"].omitted  # the original is kept whatever the attachment limit


def test_message_over_the_size_limit_keeps_its_header_and_says_so(files: FileStore) -> None:
    raw = corpus_event("plain_utf8_with_phone").body
    head = raw.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n"
    event = corpus_event("plain_utf8_with_phone", head)
    event = type(event)(**{**{f: getattr(event, f) for f in event.__slots__},
                           "headers": {"role": "inbox", "folder": "INBOX", "truncated": "1", "size": "73400320"}})
    outcome = ImapConnector(corpus_settings()).process(event, ParseCtx(files))
    [original] = outcome.interactions[0].messages[0].attachments
    assert original.omitted and original.size == 73400320 and "over the 50 MB limit" in (original.reason or "")
    assert outcome.interactions[0].subject == "Запрос счёта"


def test_large_attachment_is_stored_whole(files: FileStore) -> None:
    from imap_support import large_message

    payload = bytes(range(256)) * (25_000_000 // 256)
    ix = run("plain_utf8_with_phone", files, raw=large_message(payload))
    [attachment] = [a for a in ix.messages[0].attachments if a.role == "attachment"]
    assert attachment.size == len(payload) and not attachment.omitted
    assert attachment.file_id == hashlib.sha256(payload).hexdigest()
