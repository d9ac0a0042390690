"""Users' passwords: Argon2id hashes (memory-hard), checked as slowly for unknown names as for known ones."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, update

from gateway.core.errors import NotFound, PayloadError
from gateway.store.schema import users

__all__ = ["Hashing", "hash_password", "set_password", "store_password_hash", "verify_password"]

T = TypeVar("T")
MIN_LENGTH = 8
_hasher = PasswordHasher()  # Argon2id, 64 MiB, 3 passes: the library's defaults (RFC 9106 low-memory profile)


@cache
def _dummy() -> str:
    """A hash to verify against for unknown names, so that they cost as much as known ones."""
    return _hasher.hash("not a password of anyone")


def hash_password(password: str) -> str:
    """An Argon2id hash (slow on purpose: call it outside a write transaction)."""
    if len(password) < MIN_LENGTH:
        raise PayloadError(f"password: at least {MIN_LENGTH} characters")
    return _hasher.hash(password)


class Hashing:
    """Argon2 work on its own few threads, apart from the store's pool.

    Each hash takes tens of milliseconds and 64 MiB: a burst of logins (a spray of unknown names costs as
    much as known ones, on purpose) queues here, behind itself, and never in front of other requests' reads.
    """

    def __init__(self, threads: int = 2) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="argon2")

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def store_password_hash(conn: Connection, name: str, password_hash: str) -> None:
    res = conn.execute(update(users).where(users.c.name == name).values(password_hash=password_hash))
    if res.rowcount == 0:
        raise NotFound(f"no user {name!r}")


def set_password(conn: Connection, name: str, password: str) -> None:
    """Store an Argon2id hash of the user's password (the CLI's `gateway user password` calls this)."""
    store_password_hash(conn, name, hash_password(password))


def verify_password(row: dict[str, Any] | None, password: str) -> tuple[bool, str | None]:
    """(the password is right and the user active, a fresher hash to store or None); as slow for unknown names."""
    stored = row["password_hash"] if row is not None and row["password_hash"] else None
    try:
        _hasher.verify(stored or _dummy(), password)
    except (VerificationError, InvalidHashError):
        return False, None
    if row is None or stored is None or row["disabled"]:
        return False, None
    return True, _hasher.hash(password) if _hasher.check_needs_rehash(stored) else None
