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


_SCAN = """
import re, sqlite3, sys
from pathlib import Path
from sqlalchemy import text
from gateway.store.db import make_engine

path = sys.argv[1]
raw = sqlite3.connect(path)
raw.execute("CREATE TABLE blobs (b BLOB)")
raw.executemany("INSERT INTO blobs VALUES (randomblob(3000))", [()] * 16000)  # about 48 MB
raw.commit()
raw.close()
def rss() -> int:
    return int(re.search(r"VmRSS:\\s+(\\d+)", Path("/proc/self/status").read_text()).group(1))
engine = make_engine(f"sqlite:///{path}")
with engine.connect() as conn:
    conn.execute(text("SELECT 1")).scalar_one()
    before = rss()
    for _ in range(2):
        assert conn.execute(text("SELECT sum(length(b)) FROM blobs")).scalar_one() == 48_000_000
    print(rss() - before)
"""


def test_a_connection_holds_a_bounded_page_cache_however_large_the_database(tmp_path: Path) -> None:
    """Reading a 48 MB database through one connection grows the process by its page cache's bound (8 MiB), not
    by the database: memory stays flat as the store grows (with a 64 MiB cache it grew about 48 MB here)."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _SCAN, str(tmp_path / "big.db")], check=True, capture_output=True,
                         text=True, cwd=Path(__file__).resolve().parents[2])
    grown_kib = int(out.stdout.strip())
    assert grown_kib < 20 * 1024, f"the process grew {grown_kib} KiB reading the database"
