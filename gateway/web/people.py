"""The people the page names: full names instead of logins, each user's own time zone."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update

from gateway.core.errors import PayloadError
from gateway.store.schema import users
from gateway.web.formats import zone_choices

__all__ = ["People", "people", "save_preferences"]


class People(dict[str, dict[str, Any]]):
    """login -> {full_name, department, disabled}: one small read per page."""

    def name(self, login: str | None) -> str:
        """The person's full name, else the login; '' for nobody."""
        if not login:
            return ""
        found = self.get(login)
        return (found or {}).get("full_name") or login


def people(conn: Connection) -> People:
    rows = conn.execute(select(users.c.name, users.c.full_name, users.c.department, users.c.disabled,
                               users.c.role)).mappings()
    return People({r["name"]: dict(r) for r in rows})


def save_preferences(conn: Connection, user_id: int, *, full_name: str | None, timezone: str | None) -> None:
    """A user's own name and time zone (empty: the company's zone)."""
    if timezone and timezone not in zone_choices():
        raise PayloadError("timezone: choose one of the offered zones")
    name = (full_name or "").strip()[:255] or None
    conn.execute(update(users).where(users.c.id == user_id).values(full_name=name, timezone=timezone or None))
