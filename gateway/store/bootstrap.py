"""Create or upgrade the schema (Alembic), then make the configured pipelines and sources exist."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, select, update

from gateway.config import UNSORTED, PipelineSettings, Settings
from gateway.store.db import ensure_reachable
from gateway.store.dialect import insert_ignore
from gateway.store.schema import pipelines, sources, stages, users

__all__ = ["alembic_config", "bootstrap", "migrate", "unknown_extension_users"]

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(conn: Connection) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest revision (safe to run from several processes on PostgreSQL)."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4242001)")
        command.upgrade(alembic_config(conn), "head")


def _stage_kind(p: PipelineSettings, name: str, position: int) -> str:
    if position == 0 or name == UNSORTED:
        return "unsorted"
    won, lost = p.closing_stages()
    return "won" if name == won else "lost" if name == lost else "working"


def ensure_pipelines(conn: Connection, settings: Settings) -> None:
    for pos, p in enumerate(settings.pipelines):
        conn.execute(insert_ignore(conn, pipelines, ["name"]).values(name=p.name, position=pos))
        pid = conn.execute(select(pipelines.c.id).where(pipelines.c.name == p.name)).scalar_one()
        conn.execute(update(pipelines).where(pipelines.c.id == pid).values(position=pos))
        for spos, name in enumerate(p.stages):
            kind = _stage_kind(p, name, spos)
            conn.execute(insert_ignore(conn, stages, ["pipeline_id", "name"]).values(
                pipeline_id=pid, name=name, position=spos, kind=kind))
            conn.execute(update(stages).where(stages.c.pipeline_id == pid, stages.c.name == name)
                         .values(position=spos, kind=kind))


def ensure_sources(conn: Connection, settings: Settings, now: datetime) -> None:
    for s in settings.sources:
        conn.execute(insert_ignore(conn, sources, ["name"]).values(
            name=s.name, advertising=s.advertising, group_name=s.group, created_at=now))
        conn.execute(update(sources).where(sources.c.name == s.name)
                     .values(advertising=s.advertising, group_name=s.group))


def bootstrap(engine: Engine, settings: Settings) -> None:
    ensure_reachable(engine)
    migrate(engine)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4242002)")
        ensure_pipelines(conn, settings)
        ensure_sources(conn, settings, datetime.now(UTC))


def unknown_extension_users(conn: Connection, settings: Settings) -> list[tuple[str, str, str]]:
    """(account, extension, user) for every PBX extension mapped to a user name nobody has."""
    mapped = [(m.account, ext, name) for m in settings.telephony.mango for ext, name in m.extensions.items()]
    if not mapped:
        return []
    known = set(conn.execute(select(users.c.name).where(users.c.name.in_({n for _, _, n in mapped}))).scalars())
    return [(account, ext, name) for account, ext, name in mapped if name not in known]
