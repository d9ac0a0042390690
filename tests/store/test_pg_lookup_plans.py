"""PostgreSQL: a batch's lookups by a list are joins on the list, on a new store too.

Before the first ANALYZE of a new store PostgreSQL scans small tables, and `column = ANY(array)` then compares
each row with each item of the list (a prepared statement's array is not hashed): 67 ms for 500 phones among
6,000 identities, a batch at a time, in the first minute of a new store. Written as `IN (SELECT unnest(array))`
the list is joined (hashed or looked up by index, whatever the statistics), never compared item by item.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from gateway.dispatch.runtime import build_runtime
from gateway.store import crm
from gateway.store.bootstrap import bootstrap
from gateway.store.schema import contacts, identities
from tests.conftest import make_settings

T0 = datetime(2026, 1, 10, 9, 0, tzinfo=UTC)
PEOPLE = 2000


def _plan(conn: Connection, stmt: Any, params: dict[str, Any]) -> str:
    """The plan PostgreSQL makes for the statement with the list as a parameter."""
    compiled = stmt.compile(dialect=conn.dialect)
    rows = conn.exec_driver_sql("EXPLAIN (VERBOSE) " + str(compiled), {**compiled.params, **params})
    return "\n".join(row[0] for row in rows)


def test_a_batchs_lookups_by_a_list_are_joins_on_a_new_store(pg_url: str, tmp_path: Path) -> None:
    rt = build_runtime(make_settings(tmp_path, database_url=pg_url))
    bootstrap(rt.engine, rt.settings)
    phones = [f"+7916{i:07d}" for i in range(PEOPLE)]
    try:
        with rt.engine.begin() as conn:
            conn.execute(contacts.insert(), [{"id": i + 1, "name": None, "created_at": T0, "updated_at": T0}
                                             for i in range(PEOPLE)])
            conn.execute(identities.insert(), [{"contact_id": i + 1, "kind": "phone", "value": phone,
                                                "created_at": T0} for i, phone in enumerate(phones)])
            never_analyzed = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_stat_user_tables WHERE relname IN ('identities', 'contacts') "
                "AND last_analyze IS NULL AND last_autoanalyze IS NULL").scalar()
            assert never_analyzed == 2
            ids = list(range(1, 501))
            lookups: dict[str, tuple[Any, dict[str, Any]]] = {
                "identities by value": (crm._CONTACTS_BY_VALUE["postgresql"], {"values": phones[::4]}),
                "blocked by value": (crm._BLOCKED_BY_VALUE["postgresql"], {"values": phones[::4]}),
                "leads by key": (crm._LEADS_BY_KEYS["postgresql"], {"keys": [f"manual:{p}" for p in phones[::4]]}),
                "open deals by contact": (crm._OPEN_DEALS["postgresql"], {"ids": ids}),
            }
            plans = {name: _plan(conn, stmt, params) for name, (stmt, params) in lookups.items()}
        for name, plan in plans.items():
            filters = [line for line in plan.splitlines() if "Filter:" in line or "Cond:" in line]
            assert not [f for f in filters if "= ANY (" in f], f"{name}: the list is compared row by row\n{plan}"
            assert "unnest(" in plan and ("Join" in plan or "Nested Loop" in plan), f"{name}: not a join\n{plan}"
    finally:
        rt.close()
