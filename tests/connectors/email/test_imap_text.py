"""Charsets, header words, HTML to text and quote splitting; fuzzing the whole parser."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from imap_store import ParseCtx
from test_imap_corpus import NAMES, corpus_event, corpus_settings

from gateway.connectors.email.charset import decode_bytes, lookup_charset
from gateway.connectors.email.connector import ImapConnector
from gateway.connectors.email.headers import (
    decode_header_text,
    message_ids,
    normalise_message_id,
    parse_addresses,
    parse_date,
)
from gateway.connectors.email.html_text import html_to_text
from gateway.connectors.email.mime import parse_message
from gateway.connectors.email.quoting import split_reply
from gateway.core.errors import PayloadError
from gateway.store.files import FileStore

WORDS = ("здравствуйте прошу выставить счёт на поставку единиц товара телефон для связи указан ниже добрый день "
         "коммерческое предложение доставка оплата менеджер спасибо уважением компания москва заказ цена срочно "
         "договор акт сверки").split()
CYRILLIC = ["utf-8", "cp1251", "koi8-r", "cp866"]


@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=12), st.sampled_from(CYRILLIC),
       st.booleans())
def test_a_true_label_always_wins(words: list[str], charset: str, capital: bool) -> None:
    text = " ".join(words)
    text = text.capitalize() if capital else text
    assert decode_bytes(text.encode(charset), charset)[0] == text


SENTENCES = [
    "Добрый день!", "Прошу выставить счёт на оплату по договору поставки.",
    "Нам нужна доставка в Казань до конца месяца.", "Подскажите, пожалуйста, сроки производства.",
    "Реквизиты нашей компании во вложении.", "Сколько будет стоить партия из пятидесяти единиц?",
    "Спасибо, ждём ваше коммерческое предложение.", "Перезвоните мне после обеда, я буду на месте.",
    "С уважением, Анна, менеджер по закупкам.", "Оплату гарантируем в течение трёх рабочих дней.",
    "Есть ли у вас скидки для постоянных клиентов?", "Акт сверки получили, всё верно.",
]


@given(st.lists(st.sampled_from(SENTENCES), min_size=2, max_size=4), st.sampled_from(CYRILLIC),
       st.sampled_from([*CYRILLIC, "iso-8859-1", "us-ascii", "x-unknown", None]))
def test_russian_prose_survives_any_label(sentences: list[str], real: str, label: str | None) -> None:
    text = " ".join(sentences)
    assert decode_bytes(text.encode(real), label)[0] == text


def test_labels_python_does_not_know_fall_back() -> None:
    assert lookup_charset("x-unknown") is None and lookup_charset("base64") is None
    assert lookup_charset("win-1251") == "cp1251" and lookup_charset('"KOI8-R"') == "koi8-r"
    assert decode_bytes("Привет".encode("cp1251"), "x-mac-unknown")[0] == "Привет"
    assert decode_bytes(b"plain ascii", "unknown-8bit") == ("plain ascii", "ascii")


def test_other_scripts_keep_their_declared_charset() -> None:
    for text, charset in [("日本語のテキストです", "shift_jis"), ("Ελληνικά κείμενα", "iso-8859-7"),
                          ("Grüße aus München", "iso-8859-1"), ("Café crème", "windows-1252")]:
        assert decode_bytes(text.encode(charset), charset)[0] == text


def test_header_words_and_addresses() -> None:
    koi = base64.b64encode("Иванов, Иван".encode("koi8-r")).decode()
    [first, second] = parse_addresses([f'"=?koi8-r?B?{koi}?=" <Ivan@Example.COM>, bob@x.org', "not an address"])
    assert (first.name, first.email, second.email) == ("Иванов, Иван", "ivan@example.com", "bob@x.org")
    assert decode_header_text("=?utf-8?Q?=D0=A1=D1=87=D1=91=D1=82?= =?utf-8?Q?_=E2=84=96?=1") == "Счёт №1"
    assert decode_header_text("=?utf-8?B?broken!!?=") != ""
    assert normalise_message_id(" <abc@def> ") == "abc@def" and normalise_message_id("<>") is None
    assert message_ids(["<a@b>\r\n <c@d> <a@b>"]) == ["a@b", "c@d"]
    assert parse_date("Mon, 1 Jan 2024 10:00:00 +0300").isoformat() == "2024-01-01T10:00:00+03:00"
    assert parse_date("yesterday") is None and parse_date("Mon, 1 Jan 1900 10:00:00 +0000") is None


def test_html_to_text_keeps_structure_links_and_quotes() -> None:
    text = html_to_text("<div>Привет,&nbsp;<b>мир</b></div><ul><li>один</li><li>два</li></ul>"
                        '<a href="https://x.ru/">сайт</a><style>x{}</style><blockquote>старое<br>письмо</blockquote>')
    assert text == "Привет, мир\n\n- один\n- два\n\nсайт (https://x.ru/)\n> старое\n> письмо"
    assert html_to_text("<p>unclosed <b>tags <i>everywhere") == "unclosed tags everywhere"


@pytest.mark.parametrize(("text", "new", "quoted_start"), [
    ("Да.\n\nOn Mon, Jan 1, 2024 at 10:00 AM John <j@x.com> wrote:\n> hi", "Да.", "On Mon"),
    ("Да.\n\nOn Mon, Jan 1, 2024 at 10:00 AM John <j@x.com>\nwrote:\n> hi", "Да.", "On Mon"),
    ("Да.\n\n01.02.2024 10:00, Sales пишет:\n> old", "Да.", "01.02.2024"),
    ("Ок\n\n-----Original Message-----\nFrom: a", "Ок", "-----Original"),
    ("Ок\n\n-----Исходное сообщение-----\nОт: a", "Ок", "-----Исходное"),
    ("Ок\nFrom: Sales <s@x.ru>\nSent: Monday\nTo: me\nSubject: Re", "Ок", "From: Sales"),
    ("> вопрос 1\nответ 1\n> вопрос 2\nответ 2", "ответ 1\nответ 2", "> вопрос 1"),
    ("Текст\n-- \nПодпись", "Текст", "Подпись"),
    ("Просто текст", "Просто текст", ""),
])
def test_reply_split(text: str, new: str, quoted_start: str) -> None:
    split = split_reply(text)
    assert split.new == new
    assert split.quoted.startswith(quoted_start)


corpus = st.sampled_from([n for n in NAMES if n != "not_a_message"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=corpus, edits=st.lists(st.tuples(st.integers(0, 10_000), st.binary(max_size=8)), max_size=6),
       cut=st.integers(0, 10_000))
def test_fuzzed_mail_gives_an_interaction_or_a_payload_error(name: str, edits: list[tuple[int, bytes]], cut: int,
                                                              tmp_path: Path) -> None:
    raw = bytearray(corpus_event(name).body)
    for at, junk in edits:
        raw[at % max(len(raw), 1): at % max(len(raw), 1) + len(junk)] = junk
    raw = bytes(raw[: max(cut, 1)]) if cut < len(raw) // 2 else bytes(raw)
    connector = ImapConnector(corpus_settings())
    try:
        outcome = connector.process(corpus_event(name, raw), ParseCtx(FileStore(tmp_path / "files")))
    except PayloadError:
        return
    assert len(outcome.interactions) == 1
    assert "\x00" not in outcome.interactions[0].model_dump_json()


HEAD = b"From: a@b.ru\r\nSubject: x\r\n\r\n"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000) | st.binary(max_size=500).map(lambda body: HEAD + body))
def test_random_bytes_never_crash_the_parser(raw: bytes) -> None:
    """Any bytes: a parsed mail, or a PayloadError saying why not; a mail with headers is always a mail."""
    try:
        mail = parse_message(raw)
    except PayloadError as exc:
        assert not raw.startswith(HEAD), exc
        assert any(why in str(exc) for why in ("empty message", "no header fields", "no From, To, Date")), exc
        return
    assert "\x00" not in mail.text and len(mail.text) <= 500_000
    if raw.startswith(HEAD):
        assert (mail.subject, [a.email for a in mail.sender]) == ("x", ["a@b.ru"])
