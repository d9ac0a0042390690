"""A generated journal whose answers are known: leads built from their index, inserted straight into the store.

Each lead's attributes cycle with different periods, so every filter value occurs and combinations vary.
`expected()` is the reference: the journal's rules written again in plain Python over the specs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, insert, select

from gateway.config import Settings, load_settings
from gateway.store.bootstrap import bootstrap
from gateway.store.schema import deals, leads, pipelines, sources, stages, users

TZ = ZoneInfo("Europe/Moscow")
START = datetime(2024, 3, 1, 6, 0, tzinfo=UTC)  # 09:00 in Moscow
N = 280

CHANNELS = ["mango", "imap", "forms", "telegram", "vk", "whatsapp", "manual"]
KIND_OF = {"mango": "call", "imap": "mail", "forms": "form", "telegram": "chat", "vk": "chat", "whatsapp": "chat",
           "manual": "manual"}
QUALITIES = ["target", "repeat", "non_target", "unverified"]
STATUSES = ["unsorted", "accepted", "declined", "linked", "attached"]
SOURCES = {  # name: (group, advertising)
    "Яндекс.Директ": ("Контекст", True), "Google Ads": ("Контекст", True), "Сайт": (None, True),
    "Рассылка": ("Почта", False),
}
SOURCE_NAMES = [*SOURCES, None]
USERS = {  # name: (department, dismissed)
    "ivanov": ("Продажи", False), "petrov": ("Продажи", False), "sidorov": ("Поддержка", True),
    "smirnova": ("Поддержка", False),
}
MANAGERS = ["ivanov", "petrov", None, "sidorov", "smirnova", None]
PIPELINES = [("Продажи", ["Неразобранное", "Лид", "Переговоры", "Успешно", "Отказ"]),
             ("Тендеры", ["Неразобранное", "Лид", "Заявка"])]
TAGS = [[], ["vip"], ["опт"], ["vip", "опт"], []]
NAMES = ["Иван Петров", "Ольга Смирнова", "ACME Ltd", "Пётр", None, "Мария Ivanova_x"]


@dataclass
class DealSpec:
    name: str
    responsible: str | None
    pipeline: str
    stage: str
    tags: list[str]


@dataclass
class LeadSpec:
    i: int
    channel: str
    kind: str
    direction: str
    status: str
    quality: str
    advertising: bool
    source: str | None
    manager: str | None
    pipeline: str | None
    stage: str | None
    deal: DealSpec | None
    received_at: datetime
    taken_at: datetime | None
    needs_callback: bool
    score: int
    tags: list[str]
    name: str | None
    phone: str | None
    email: str | None
    subject: str | None
    text: str | None
    result: str | None
    extra: dict[str, Any] = field(default_factory=dict)


def _deal(i: int) -> DealSpec | None:
    if i % 3 != 0:
        return None
    pipeline, stage_names = PIPELINES[(i // 3) % 2]
    return DealSpec(name=f"Сделка {i}", responsible=["petrov", "ivanov", None, "smirnova", "sidorov"][(i // 3) % 5],
                    pipeline=pipeline, stage=stage_names[1 + (i // 6) % (len(stage_names) - 1)],
                    tags=[["тендер"], [], ["vip"]][(i // 3) % 3])


def spec(i: int) -> LeadSpec:
    channel = CHANNELS[i % 7]
    kind = KIND_OF[channel]
    direction = ["in", "in", "out", "internal"][i % 4] if kind == "call" else ("out" if i % 11 == 0 else "in")
    deal = _deal(i)
    own_pipeline = None if deal is not None or i % 10 == 9 else PIPELINES[(i // 2) % 2][0]
    own_stage = "Неразобранное" if own_pipeline else None
    received = START + timedelta(hours=7 * i, minutes=i % 60)
    missed = kind == "call" and direction == "in" and i % 8 < 4
    return LeadSpec(
        i=i, channel=channel, kind=kind, direction=direction, status=STATUSES[i % 5], quality=QUALITIES[(i // 2) % 4],
        advertising=i % 5 != 3, source=SOURCE_NAMES[i % 5], manager=MANAGERS[i % 6], pipeline=own_pipeline,
        stage=own_stage, deal=deal, received_at=received,
        taken_at=received + timedelta(hours=30) if deal is not None else None,
        needs_callback=missed and i % 16 < 8, score=(i * 7) % 11, tags=TAGS[i % 5], name=NAMES[i % 6],
        phone=f"+7495{1000000 + i * 37:07d}" if i % 4 != 1 else None,
        email=f"client{i}@example{i % 3}.ru" if i % 3 != 1 else None,
        subject=f"Заявка номер {i}" if kind in ("mail", "form") else None,
        text="Нужен КАМАЗ и прицеп" if i % 9 == 0 else ("hello world" if i % 9 == 4 else None),
        result=("missed" if missed else "answered") if kind == "call" else None,
    )


def specs(n: int = N) -> list[LeadSpec]:
    return [spec(i) for i in range(n)]


def settings_for(database_url: str, tmp_path: Any, **overrides: Any) -> Settings:
    return load_settings(
        None, database_url=database_url, files_dir=tmp_path / "files", timezone="Europe/Moscow",
        pipelines=[{"name": n, "stages": s} for n, s in PIPELINES],
        sources=[{"name": n, "group": g, "advertising": a} for n, (g, a) in SOURCES.items()], **overrides,
    )


def populate(engine: Engine, settings: Settings, items: list[LeadSpec]) -> dict[int, int]:
    """Insert users, deals and leads; returns lead id by spec index."""
    bootstrap(engine, settings)
    now = START
    with engine.begin() as conn:
        uid = {}
        for name, (dept, dismissed) in USERS.items():
            uid[name] = conn.execute(insert(users).values(
                name=name, role="manager", department=dept, disabled=dismissed, created_at=now,
            ).returning(users.c.id)).scalar_one()
        src = {r.name: r.id for r in conn.execute(select(sources.c.id, sources.c.name))}
        pid = {r.name: r.id for r in conn.execute(select(pipelines.c.id, pipelines.c.name))}
        sid = {(r.pipeline_id, r.name): r.id for r in conn.execute(select(stages))}
        ids: dict[int, int] = {}
        for s in items:
            deal_id = None
            if s.deal is not None:
                pipeline_id = pid[s.deal.pipeline]
                deal_id = conn.execute(insert(deals).values(
                    name=s.deal.name, pipeline_id=pipeline_id, stage_id=sid[(pipeline_id, s.deal.stage)],
                    responsible_id=uid.get(s.deal.responsible), status="open", tags=s.deal.tags,
                    created_at=now, updated_at=now,
                ).returning(deals.c.id)).scalar_one()
            ids[s.i] = conn.execute(insert(leads).values(
                key=f"test:{s.i}", channel=s.channel, kind=s.kind, direction=s.direction, status=s.status,
                quality=s.quality, advertising=s.advertising, source_id=src.get(s.source), deal_id=deal_id,
                pipeline_id=pid.get(s.pipeline), stage_id=sid.get((pid.get(s.pipeline), s.stage)),
                manager_id=uid.get(s.manager), phone=s.phone, email=s.email, name=s.name, subject=s.subject,
                text=s.text, result=s.result, duration_s=30 if s.result == "answered" else 0 if s.result else None,
                needs_callback=s.needs_callback, score=s.score, score_details=[{"rule": "test", "points": s.score}],
                tags=s.tags, received_at=s.received_at, taken_at=s.taken_at, utm={"utm_source": "ya"}, custom={},
                created_at=now, updated_at=now,
            ).returning(leads.c.id)).scalar_one()
    return ids


# --- the reference -----------------------------------------------------------------------------
def shown_manager(s: LeadSpec, mode: str) -> str | None:
    responsible = s.deal.responsible if s.deal else None
    return (s.manager or responsible) if mode == "taken" else (responsible or s.manager)


def shown_stage(s: LeadSpec) -> tuple[str | None, str | None]:
    return (s.deal.pipeline, s.deal.stage) if s.deal else (s.pipeline, s.stage)


def _bound(v: date | datetime, end: bool) -> datetime:
    if isinstance(v, datetime):
        return v if v.tzinfo else v.replace(tzinfo=TZ)
    return datetime.combine(v + timedelta(days=1) if end else v, time.min, tzinfo=TZ)


def _text_hit(s: LeadSpec, q: str) -> bool:
    """A whole phone or e-mail by equality; else `q` (or its digits) inside any searched field, any case."""
    digits = "".join(ch for ch in q if ch.isdigit())
    if len(digits) >= 10 and "@" not in q:
        return s.phone == "+7" + digits[-10:]
    if "@" in q and "." in q.rsplit("@", 1)[-1]:
        return s.email == q.strip().lower()
    hay = [h.lower() for h in (s.name, s.email, s.phone, s.subject, (s.text or "")[:2000]) if h]
    words = [q.lower()] + ([digits] if len(digits) >= 3 and digits != q else [])
    return any(w in h for w in words for h in hay)


def matches(s: LeadSpec, f: dict[str, Any]) -> bool:
    mode = f.get("manager_mode", "taken")
    moment = s.received_at if f.get("by", "received") == "received" else s.taken_at
    if "from" in f and (moment is None or moment < _bound(f["from"], end=False)):
        return False
    if "to" in f and (moment is None or moment >= _bound(f["to"], end=True)):
        return False
    for key in ("channel", "kind", "status", "direction"):
        if key in f and getattr(s, key) not in f[key]:
            return False
    if "quality" in f and not (s.quality in f["quality"] or ("unsorted" in f["quality"] and s.status == "unsorted")):
        return False
    if "source" in f and s.source not in f["source"]:
        return False
    if "source_group" in f and (s.source is None or SOURCES[s.source][0] not in f["source_group"]):
        return False
    if "manager" in f or "department" in f:
        who = shown_manager(s, mode)
        if who is None or (USERS[who][1] and not f.get("include_dismissed")):
            return False
        if "manager" in f and who not in f["manager"]:
            return False
        if "department" in f and USERS[who][0] not in f["department"]:
            return False
    pipeline, stage = shown_stage(s)
    if "pipeline" in f and pipeline not in f["pipeline"]:
        return False
    if "stage" in f and stage not in f["stage"]:
        return False
    if "advertising" in f and s.advertising is not f["advertising"]:
        return False
    if "needs_callback" in f and s.needs_callback is not f["needs_callback"]:
        return False
    if "tag" in f and not set(f["tag"]) & set(s.tags + (s.deal.tags if s.deal else [])):
        return False
    return not ("q" in f and not _text_hit(s, f["q"]))


def expected(items: list[LeadSpec], f: dict[str, Any]) -> list[int]:
    """Spec indexes that match, in the journal's order."""
    hits = [s for s in items if matches(s, f)]
    if f.get("sort") == "score":
        hits.sort(key=lambda s: (s.score, s.received_at, s.i), reverse=True)
    else:
        hits.sort(key=lambda s: (s.received_at, s.i), reverse=True)
    return [s.i for s in hits]


def as_query(f: dict[str, Any]) -> dict[str, str]:
    """The same filter as query parameters."""
    out = {}
    for k, v in f.items():
        if isinstance(v, list):
            out[k] = ",".join(v)
        elif isinstance(v, bool):
            out[k] = json.dumps(v)
        elif isinstance(v, date | datetime):
            out[k] = v.isoformat()
        else:
            out[k] = str(v)
    return out
