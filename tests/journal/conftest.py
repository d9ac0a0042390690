"""A populated store (SQLite and PostgreSQL) with the generated journal."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from gateway.config import Settings
from gateway.store.bootstrap import bootstrap
from gateway.store.db import make_engine
from gateway.store.journal_search import create_search_index
from tests.journal.journal_dataset import LeadSpec, populate, settings_for, specs


@dataclass
class Journal:
    engine: Engine
    settings: Settings
    specs: list[LeadSpec]
    ids: dict[int, int]  # lead id by spec index

    def indexes(self, lead_ids: list[int]) -> list[int]:
        by_id = {v: k for k, v in self.ids.items()}
        return [by_id[i] for i in lead_ids]


@pytest.fixture(scope="module")
def module_tmp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("journal")


@pytest.fixture(scope="module", params=["sqlite", "sqlite+search", "postgresql+search"])
def journal_store(request: pytest.FixtureRequest, module_tmp: Path) -> Iterator[Journal]:
    """The generated journal, built once per module and database (+search: with the text search index)."""
    import uuid

    from sqlalchemy import create_engine, text

    from tests.conftest import PG_ADMIN_URL

    name = None
    if request.param.startswith("sqlite"):
        url = f"sqlite:///{module_tmp}/journal-{uuid.uuid4().hex[:6]}.db"
    else:
        name = f"lg_journal_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    settings = settings_for(url, module_tmp)
    engine = make_engine(url)
    items = specs()
    try:
        if request.param.endswith("+search"):
            bootstrap(engine, settings)
            with engine.begin() as conn:
                create_search_index(conn)
        yield Journal(engine, settings, items, populate(engine, settings, items))
    finally:
        engine.dispose()
        if name is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
