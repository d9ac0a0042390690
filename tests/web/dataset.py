"""A realistic day for the operators' page: every kind of lead in Unsorted, known people, failed events.

Leads go through the real core pipeline (as connectors hand them over), with the technical fields
connectors keep, media in the file store, and the errors the dispatcher stores. Used by the browser
tests (a few hundred leads) and by bench/page.py (thousands, on top of a large journal).
"""

from __future__ import annotations

import random
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, update

from gateway.core.models import (
    AttachmentRef,
    CallInfo,
    Channel,
    IdentityKind,
    IdentityRef,
    Interaction,
    Kind,
    MessageRef,
)
from gateway.core.pipeline import PipelineConfig, process_interaction
from gateway.store.crm import CrmRepo
from gateway.store.files import FileStore
from gateway.store.schema import events, users
from gateway.store.triage import AcceptRequest, Actor, accept

__all__ = ["FULL_NAMES", "Day", "png", "seed_day"]

FULL_NAMES = {"root": "Сергей Админов", "vera": "Вера Петрова", "anna": "Анна Смирнова", "boris": "Борис Иванов"}
FIRST = ["Иван", "Пётр", "Ольга", "Мария", "Алексей", "Наталья", "Сергей", "Елена", "Дмитрий", "Анна", "Юлия"]
LAST = ["Иванов", "Петров", "Смирнова", "Кузнецова", "Попов", "Соколова", "Лебедев", "Козлова", "Новиков"]
TEXTS = ["Здравствуйте, сколько стоит доставка в Казань?", "Нужен счёт на 40 стульев для офиса",
         "Перезвоните, пожалуйста, после обеда", "Есть ли скидка при заказе от 100 штук?",
         "Хотим обсудить монтаж и гарантию", "Пришлите, пожалуйста, прайс-лист на прицепы КАМАЗ"]
SOURCES = ["Яндекс.Директ", "Сайт", "Авито", "Рекомендация", "2ГИС"]
ERRORS = [
    "TransientUpstreamError: upstream unreachable: ConnectError",
    "TransientUpstreamError: recording not ready yet",
    "PermanentUpstreamError: stats/calls/result/: 403",
    "PayloadError: no From, To, Date, Subject or Message-ID header: not a mail message",
    "ConfigError: no [[telephony.mango]] account 'old'",
    'Traceback (most recent call last):\n  File "x.py", line 1, in <module>\nValueError: unexpected shape',
]


def png(width: int = 64, height: int = 48) -> bytes:
    """A small valid PNG (a two-colour gradient), made here rather than kept as a binary fixture."""
    raw = b"".join(b"\x00" + bytes(v for x in range(width) for v in (x * 4 % 256, 120, (200 + y * 3) % 256))
                   for y in range(height))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


@dataclass
class Day:
    """What was made: lead ids by kind, the known people's phones, the ids of leads from them."""

    unsorted: list[int]
    by_kind: dict[str, list[int]]
    known_phones: list[str]
    deals: list[int]


def _phone(rng: random.Random) -> str:
    return f"+79{rng.randrange(10**9):09d}"


def _call(i: int, at: datetime, rng: random.Random, phone: str) -> Interaction:
    missed = rng.random() < 0.35
    talk = None if missed else rng.randrange(20, 900)
    return Interaction(
        key=f"mango:main:day-{i}", channel=Channel.MANGO, kind=Kind.CALL, occurred_at=at, account="main",
        identities=[IdentityRef(kind=IdentityKind.PHONE, value=phone)], source=rng.choice(SOURCES[:2]),
        call=CallInfo(answered=not missed, result="missed" if missed else "answered", duration_s=talk,
                      ring_s=rng.randrange(2, 40), line="74951234567", complete=True),
        custom={"entry_id": f"MTAxNjk{i:08d}", "acd_group": "100", "ivr_digits": "2"})


def _form(i: int, at: datetime, rng: random.Random, phone: str) -> Interaction:
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    return Interaction(
        key=f"forms:site-ru:day-{i}", channel=Channel.FORMS, kind=Kind.FORM, occurred_at=at, account="site-ru",
        name=name, identities=[IdentityRef(kind=IdentityKind.PHONE, value=phone),
                               IdentityRef(kind=IdentityKind.EMAIL, value=f"client{i}@mail.example")],
        text=rng.choice(TEXTS), source="Сайт", utm={"utm_source": "yandex", "utm_campaign": "spring-sale"},
        custom={"city": rng.choice(["Казань", "Самара", "Москва"]), "page": "https://example.ru/prices",
                "referrer": "https://yandex.ru/", "site": "example.ru", "ip": "203.0.113.7",
                "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)", "submission": f"{i:032x}"})


def _mail(i: int, at: datetime, rng: random.Random, files: FileStore) -> Interaction:
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    email = f"buyer{i}@company{i % 40}.example"
    key = f"imap:sales:<day-{i}@company.example>"
    brief = files.put_bytes(b"%PDF-1.4 brief " * (200 + i % 700), "application/pdf")
    return Interaction(
        key=f"lead:{key}", channel=Channel.IMAP, kind=Kind.MAIL, occurred_at=at, account="sales", name=name,
        identities=[IdentityRef(kind=IdentityKind.EMAIL, value=email)], subject="Запрос коммерческого предложения",
        text=rng.choice(TEXTS), source="sales@example.ru",
        custom={"message_id": f"<day-{i}@company.example>", "folder": "INBOX", "from": email,
                "to": ["sales@example.ru"]},
        attachments=[AttachmentRef(name="ТЗ.pdf", size=brief.size, content_type="application/pdf", file_id=brief.id)],
        messages=[MessageRef(key=key, at=at, author=name, subject="Запрос коммерческого предложения",
                             text=rng.choice(TEXTS), html="<p>Добрый день!</p><p>Нужен <b>счёт</b>.</p>")])


def _chat(i: int, at: datetime, rng: random.Random, photo: AttachmentRef) -> Interaction:
    channel = rng.choice([Channel.TELEGRAM, Channel.WHATSAPP, Channel.VK])
    name = rng.choice(FIRST)
    fetched = i % 5 != 0
    media = photo if fetched else AttachmentRef(name="photo.jpg", omitted=True, reason="файл больше 20 МБ",
                                                content_type="image/jpeg")
    key = f"{channel.value}:sales_bot:day-{i}"
    return Interaction(
        key=key, channel=channel, kind=Kind.CHAT, occurred_at=at, account="sales_bot", name=name,
        identities=[IdentityRef(kind=IdentityKind(channel.value), value=str(10_000 + i))], text="Вот фото",
        custom={"chat_id": 10_000 + i, "username": f"user{i}"}, conversation_key=key,
        messages=[MessageRef(key=f"{key}:1", at=at, author=name, text="Вот фото", attachments=[media])],
        attachments=[media])


def _interaction(i: int, at: datetime, rng: random.Random, files: FileStore, photo: AttachmentRef,
                 phone: str) -> Interaction:
    x = i % 20
    if x < 9:
        return _call(i, at, rng, phone)
    if x < 13:
        return _form(i, at, rng, phone)
    if x < 16:
        return _mail(i, at, rng, files)
    if x < 19:
        return _chat(i, at, rng, photo)
    return Interaction(key=f"manual:vera:day-{i}", channel=Channel.MANUAL, kind=Kind.MANUAL, occurred_at=at,
                       account="vera", name=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                       identities=[IdentityRef(kind=IdentityKind.PHONE, value=phone)], text="Звонил на мобильный")


def _known_people(engine: Engine, cfg: PipelineConfig, rng: random.Random, now: datetime, n: int,
                  actor: Actor) -> tuple[list[str], list[int]]:
    """People who already have an open deal (so their new leads are 'known')."""
    phones, deals = [], []
    for k in range(n):
        phone = _phone(rng)
        at = now - timedelta(days=3, minutes=k)
        ix = Interaction(key=f"forms:site-ru:before-{k}", channel=Channel.FORMS, kind=Kind.FORM, occurred_at=at,
                         name=f"{rng.choice(FIRST)} {rng.choice(LAST)}", text="Первое обращение",
                         identities=[IdentityRef(kind=IdentityKind.PHONE, value=phone)], source="Сайт")
        with engine.begin() as conn:
            lead_id = process_interaction(CrmRepo(conn, at), ix, event_id=None, cfg=cfg).lead_id
            assert lead_id is not None
            deals.append(accept(conn, lead_id, actor, AcceptRequest(), now=at)["deal_id"])
        phones.append(phone)
    return phones, deals


def seed_day(engine: Engine, files: FileStore, *, unsorted: int, events_failed: int = 0, known: int = 12,
             seed: int = 7, now: datetime | None = None) -> Day:
    """`unsorted` leads of every kind into Unsorted over the last days (some from known people), and
    `events_failed` failed or dead events with the errors the dispatcher stores."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    cfg = PipelineConfig(region="RU", short_call_seconds=10, default_pipeline="Продажи")
    with engine.begin() as conn:
        for login, full in FULL_NAMES.items():
            conn.execute(update(users).where(users.c.name == login).values(full_name=full))
        vera = conn.execute(users.select().where(users.c.name == "vera")).mappings().first()
    actor = Actor(int(vera["id"]), "vera", "manager") if vera else Actor(1, "vera", "manager")
    phones, deals = _known_people(engine, cfg, rng, now, known, actor)
    picture = files.put_bytes(png(), "image/png")
    photo = AttachmentRef(name="photo.png", size=picture.size, content_type="image/png", file_id=picture.id)
    made: dict[str, list[int]] = {}
    ids: list[int] = []
    batch = 200
    for lo in range(0, unsorted, batch):
        with engine.begin() as conn:
            for i in range(lo, min(unsorted, lo + batch)):
                at = now - timedelta(minutes=7 * (unsorted - i) + rng.randrange(5))
                phone = phones[i % len(phones)] if phones and i % 23 == 5 else _phone(rng)
                ix = _interaction(i, at, rng, files, photo, phone)
                res = process_interaction(CrmRepo(conn, at), ix, event_id=None, cfg=cfg)
                if res.lead_id is not None:
                    ids.append(res.lead_id)
                    made.setdefault(ix.kind.value, []).append(res.lead_id)
    if events_failed:
        _events(engine, rng, now, events_failed)
    return Day(unsorted=ids, by_kind=made, known_phones=phones, deals=deals)


def _events(engine: Engine, rng: random.Random, now: datetime, n: int) -> None:
    rows: list[dict[str, Any]] = []
    for i in range(n):
        status = "failed" if i % 3 else "dead"
        connector, account = rng.choice([("mango", "main"), ("imap", "sales"), ("telegram", "sales_bot"),
                                         ("forms", "site-ru")])
        at = now - timedelta(minutes=3 * i)
        rows.append({"id": f"{int(at.timestamp() * 1000):013x}{i:011x}", "connector": connector, "account": account,
                     "key": f"day-event-{i}", "name": "call" if connector == "mango" else "message",
                     "received_at": at, "headers": {}, "body": b'{"sample": true}', "status": status,
                     "attempts": 8 if status == "dead" else rng.randrange(1, 5), "next_attempt_at": now + timedelta(
                         minutes=10), "last_error": ERRORS[i % len(ERRORS)]})
    with engine.begin() as conn:
        conn.execute(insert(events), rows)
