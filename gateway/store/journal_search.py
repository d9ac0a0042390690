"""Free-text search in the journal, with a substring index when the store has one.

The index is optional: SEARCH_DDL is what a migration adds (SQLite: an FTS5 trigram table kept
by triggers; PostgreSQL: a pg_trgm GIN index on one expression). Without it, the same search runs
as LIKE over the columns. Either way a term matches a substring of the name, e-mail, phone,
subject, company or the first 2,000 characters of the text, in any letter case.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Select, func, literal_column, or_, select, text
from sqlalchemy.sql.elements import ColumnClause

__all__ = ["SEARCH_DDL", "create_search_index", "has_search_index", "search_terms"]

TEXT_PREFIX = 2000
_COLS = ("name", "email", "phone", "subject", "company")
_PG_DOC = ("lower(coalesce(leads.name, '') || chr(10) || coalesce(leads.email, '') || chr(10) || "
           "coalesce(leads.phone, '') || chr(10) || coalesce(leads.subject, '') || chr(10) || "
           f"coalesce(leads.company, '') || chr(10) || left(coalesce(leads.text, ''), {TEXT_PREFIX}))")
_FTS_VALUES = ", ".join([*(f"new.{c}" for c in _COLS), f"substr(new.text, 1, {TEXT_PREFIX})"])
_FTS_OLD = _FTS_VALUES.replace("new.", "old.")
_FTS_COLS = ", ".join([*_COLS, "text"])

SEARCH_DDL: dict[str, list[str]] = {
    "sqlite": [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS leads_fts USING fts5({_FTS_COLS}, content='leads', "
        "content_rowid='id', tokenize='trigram')",
        f"CREATE TRIGGER IF NOT EXISTS leads_fts_ai AFTER INSERT ON leads BEGIN "
        f"INSERT INTO leads_fts(rowid, {_FTS_COLS}) VALUES (new.id, {_FTS_VALUES}); END",
        f"CREATE TRIGGER IF NOT EXISTS leads_fts_ad AFTER DELETE ON leads BEGIN "
        f"INSERT INTO leads_fts(leads_fts, rowid, {_FTS_COLS}) VALUES ('delete', old.id, {_FTS_OLD}); END",
        f"CREATE TRIGGER IF NOT EXISTS leads_fts_au AFTER UPDATE OF {_FTS_COLS} ON leads BEGIN "
        f"INSERT INTO leads_fts(leads_fts, rowid, {_FTS_COLS}) VALUES ('delete', old.id, {_FTS_OLD}); "
        f"INSERT INTO leads_fts(rowid, {_FTS_COLS}) VALUES (new.id, {_FTS_VALUES}); END",
        "INSERT INTO leads_fts(leads_fts) VALUES ('rebuild')",
    ],
    "postgresql": [
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        f"CREATE INDEX IF NOT EXISTS ix_leads_search ON leads USING gin (({_PG_DOC}) gin_trgm_ops)",
    ],
}


def create_search_index(conn: Connection) -> None:
    """Add the search index to an existing store (what the migration does)."""
    for stmt in SEARCH_DDL[conn.dialect.name]:
        conn.exec_driver_sql(stmt)


def has_search_index(conn: Connection) -> bool:
    if conn.dialect.name == "sqlite":
        return conn.execute(text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'leads_fts'")
                            ).first() is not None
    return True  # PostgreSQL: the expression works without its index, only slower


def _like_escape(value: str, esc: str) -> str:
    return value.replace(esc, esc + esc).replace("%", esc + "%").replace("_", esc + "_")


def _pg(words: list[str]) -> Any:
    doc: ColumnClause[str] = literal_column(_PG_DOC)
    return or_(*(doc.like(f"%{_like_escape(w.lower(), chr(92))}%") for w in words))


def _fts(words: list[str]) -> Select[Any]:
    """The ids of the leads the index finds (rowid of the FTS table = the lead's id)."""
    phrase = " OR ".join('"' + w.replace('"', '""') + '"' for w in words)
    return select(literal_column("rowid")).select_from(text("leads_fts")).where(
        text("leads_fts MATCH :fts_query").bindparams(fts_query=phrase))


def _like(words: list[str], leads: Any) -> Any:
    """SQLite without the index: LIKE folds ASCII only, so try the usual spellings of other alphabets."""
    conds: list[Any] = []
    for w in words:
        e = _like_escape(w, "!")
        for s in sorted({e, e.lower(), e.upper(), e.capitalize(), e.title()}):
            conds.extend(leads.c[c].like(f"%{s}%", escape="!") for c in _COLS)
            conds.append(func.substr(leads.c.text, 1, TEXT_PREFIX).like(f"%{s}%", escape="!"))
    return or_(*conds)


def search_terms(q: str, dialect: str, indexed: bool, leads: Any) -> tuple[Any, Any, Select[Any] | None]:
    """(the condition through the index, the same as a scan, the matching ids): the caller picks by density."""
    words = [q]
    digits = "".join(ch for ch in q if ch.isdigit())
    if len(digits) >= 3 and digits != q:
        words.append(digits)
    if dialect == "postgresql":
        cond = _pg(words)
        return cond, cond, None
    scan = _like(words, leads)
    if indexed and all(len(w) >= 3 for w in words):
        ids = _fts(words)
        return leads.c.id.in_(ids), scan, ids
    return scan, scan, None
