"""An acknowledged write on SQLite is fsynced: synchronous=FULL unless the operator chooses otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from gateway.config.settings import Settings
from gateway.store.db import make_engine


@pytest.mark.parametrize(("chosen", "pragma"), [(None, 2), ("full", 2), ("normal", 1)])
def test_sqlite_commits_are_fsynced_unless_told_otherwise(tmp_path: Path, chosen: str | None, pragma: int) -> None:
    extra = {} if chosen is None else {"sqlite_synchronous": chosen}
    settings = Settings(database_url=f"sqlite:///{tmp_path}/g.db", **extra)  # type: ignore[arg-type]
    engine = make_engine(settings.database_url, synchronous=settings.sqlite_synchronous)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA synchronous")).scalar_one() == pragma
    finally:
        engine.dispose()
