"""Companies: looked for before one is created (by INN, then by name without legal form), then enriched."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects import postgresql, sqlite

from gateway.core.companies import company_key
from gateway.store.schema import companies, contacts

__all__ = ["company_for", "join_company"]


def _by_inn(conn: Connection, inn: str) -> int | None:
    return conn.execute(select(companies.c.id).where(companies.c.inn == inn)).scalar()


def company_for(conn: Connection, name: str | None, inn: str | None, now: datetime) -> int | None:
    """The company these name and INN describe: found (and given the INN it lacked) or created."""
    key = company_key(name)
    if inn and (found := _by_inn(conn, inn)) is not None:
        return int(found)
    if key is None and not inn:
        return None
    if key is not None:
        q = select(companies.c.id, companies.c.inn).where(companies.c.name_key == key).order_by(companies.c.id)
        for company in conn.execute(q).mappings().all():
            if company["inn"] is None or not inn:
                if inn:
                    conn.execute(update(companies).where(companies.c.id == company["id"]).values(inn=inn))
                return int(company["id"])
    mod = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = mod.insert(companies).values(name=(name or f"ИНН {inn}")[:512], name_key=key, inn=inn or None,
                                        created_at=now)
    if inn:
        stmt = stmt.on_conflict_do_nothing(index_elements=["inn"], index_where=companies.c.inn.is_not(None))
    created = conn.execute(stmt.returning(companies.c.id)).scalar()
    return int(created) if created is not None else _by_inn(conn, inn or "")


def join_company(conn: Connection, contact_id: int, company_id: int) -> None:
    """A contact without a company belongs to this one from now on (one that has a company keeps it)."""
    conn.execute(update(contacts).where(contacts.c.id == contact_id, contacts.c.company_id.is_(None))
                 .values(company_id=company_id))
