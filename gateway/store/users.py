"""Users: roles, PBX extensions, API tokens (random, shown once, stored hashed)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, insert, select, update

from gateway.core.errors import Conflict, NotFound
from gateway.store.schema import users

__all__ = ["Role", "create_user", "hash_token", "issue_token", "list_users", "user_by_name", "user_by_token"]


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    OPERATOR = "operator"


def hash_token(token: str) -> str:
    """Tokens carry 256 random bits, so one SHA-256 is enough (no password stretching needed)."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "lg_" + secrets.token_urlsafe(32)


def create_user(conn: Connection, name: str, role: Role | str, *, extension: str | None = None,
                email: str | None = None, department: str | None = None,
                now: datetime | None = None) -> tuple[int, str]:
    """Create a user; returns (id, token). The token is not stored, only its hash."""
    if conn.execute(select(users.c.id).where(users.c.name == name)).first():
        raise Conflict(f"user {name!r} exists")
    token = new_token()
    user_id = conn.execute(
        insert(users).values(
            name=name, role=Role(role).value, extension=extension, email=email, department=department,
            token_hash=hash_token(token), disabled=False, created_at=now or datetime.now(UTC),
        ).returning(users.c.id)
    ).scalar_one()
    return int(user_id), token


def issue_token(conn: Connection, name: str) -> str:
    """A new token for a user; the old one stops working at once."""
    token = new_token()
    res = conn.execute(update(users).where(users.c.name == name).values(token_hash=hash_token(token)))
    if res.rowcount == 0:
        raise NotFound(f"no user {name!r}")
    return token


def set_disabled(conn: Connection, name: str, disabled: bool = True) -> None:
    res = conn.execute(update(users).where(users.c.name == name).values(disabled=disabled))
    if res.rowcount == 0:
        raise NotFound(f"no user {name!r}")


def user_by_token(conn: Connection, token: str) -> dict[str, Any] | None:
    row = conn.execute(
        select(users).where(users.c.token_hash == hash_token(token), users.c.disabled.is_(False))
    ).mappings().first()
    return dict(row) if row else None


def user_by_name(conn: Connection, name: str) -> dict[str, Any] | None:
    """The user of that name, disabled ones too (a login refuses them after the same work)."""
    row = conn.execute(select(users).where(users.c.name == name)).mappings().first()
    return dict(row) if row else None


def list_users(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(users.c.id, users.c.name, users.c.role, users.c.extension, users.c.email,
               users.c.department, users.c.disabled, users.c.created_at).order_by(users.c.id)
    ).mappings()
    return [dict(r) for r in rows]
