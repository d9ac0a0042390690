"""Passwords for the web page (Argon2id, memory-hard) and the backoff of repeated failed logins."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, select, update

from gateway.core.errors import NotFound, PayloadError
from gateway.store.schema import users

__all__ = ["LoginThrottle", "hash_password", "login_row", "set_password", "store_password_hash", "verify_password"]

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


def store_password_hash(conn: Connection, name: str, password_hash: str) -> None:
    res = conn.execute(update(users).where(users.c.name == name).values(password_hash=password_hash))
    if res.rowcount == 0:
        raise NotFound(f"no user {name!r}")


def set_password(conn: Connection, name: str, password: str) -> None:
    """Store an Argon2id hash of the user's password (the CLI's `gateway user password` calls this)."""
    store_password_hash(conn, name, hash_password(password))


def login_row(conn: Connection, name: str) -> dict[str, Any] | None:
    """The user a login names (disabled ones too: they are refused after the same work)."""
    row = conn.execute(select(users).where(users.c.name == name)).mappings().first()
    return dict(row) if row else None


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


@dataclass(slots=True)
class _Failures:
    count: int
    last: float


class LoginThrottle:
    """Per (name, client address) backoff after failed logins, kept in this process's memory.

    The first `free` failures cost nothing; then each attempt must wait 2, 4, 8 ... seconds
    (at most `max_wait`) after the previous failure. A success clears the record. Records of
    quiet pairs are forgotten after `forget_after` seconds. Several processes each keep their own.
    """

    def __init__(self, clock: Callable[[], float], *, free: int = 3, max_wait: float = 900,
                 forget_after: float = 3600, max_entries: int = 100_000) -> None:
        self._clock, self._free, self._max_wait = clock, free, max_wait
        self._forget_after, self._max_entries = forget_after, max_entries
        self._seen: dict[tuple[str, str], _Failures] = {}

    def _wait(self, f: _Failures) -> float:
        over = f.count - self._free
        return 0.0 if over < 0 else min(self._max_wait, math.pow(2, over + 1))

    def retry_after(self, name: str, address: str) -> float:
        """Seconds to wait before this pair may try again (0: now)."""
        f = self._seen.get((name.casefold(), address))
        if f is None:
            return 0.0
        return max(0.0, f.last + self._wait(f) - self._clock())

    def failed(self, name: str, address: str) -> None:
        now = self._clock()
        if len(self._seen) >= self._max_entries:
            self._forget(now)
        key = (name.casefold(), address)
        f = self._seen.get(key)
        self._seen[key] = _Failures((f.count if f else 0) + 1, now)

    def succeeded(self, name: str, address: str) -> None:
        self._seen.pop((name.casefold(), address), None)

    def _forget(self, now: float) -> None:
        for key in [k for k, f in self._seen.items() if now - f.last > self._forget_after]:
            del self._seen[key]
        if len(self._seen) >= self._max_entries:  # still full: drop the oldest half
            for key in sorted(self._seen, key=lambda k: self._seen[k].last)[: self._max_entries // 2]:
                del self._seen[key]
