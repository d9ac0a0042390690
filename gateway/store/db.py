"""Engines for SQLite (WAL) and PostgreSQL, with the same code on top."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from gateway.core.errors import StoreUnavailable

__all__ = ["ensure_reachable", "is_postgres", "make_engine", "read_only", "writable"]

READ_ONLY = "gateway_read_only"  # the execution option `read_only` sets
_QUERY_ONLY = "gateway_query_only"  # in a driver connection's info: whether SQLite's query_only is on there

# What the driver says -> what to do about it.
_HINTS = (
    ("does not exist", "create the database (createdb NAME) or fix the name in GATEWAY_DATABASE_URL"),
    ("authentication failed", "check the user and password in GATEWAY_DATABASE_URL"),
    ("no password supplied", "put the password in GATEWAY_DATABASE_URL or allow this host in pg_hba.conf"),
    ("unable to open database file", "make sure this user may create and write the file's folder"),
    ("readonly database", "make sure this user may write the file and its folder"),
)


def _sqlite_pragmas(synchronous: str) -> Callable[[Any, Any], None]:
    def apply(dbapi_conn: Any, _record: Any) -> None:
        _apply_pragmas(dbapi_conn, synchronous)
    return apply


def _apply_pragmas(dbapi_conn: Any, synchronous: str) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute(f"PRAGMA synchronous={_SYNCHRONOUS[synchronous]}")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cur.execute("PRAGMA temp_store=MEMORY")
    cur.close()


_SYNCHRONOUS = {"full": "FULL", "normal": "NORMAL"}
# SQLite's page cache per connection, in KiB. It fills as the database grows and is kept until the connection
# closes, so it bounds what each connection of the pool and the workers holds: with 64 MiB a server's memory
# rose for as long as the first 64 MB of its database lasted. Processing ran as fast with 8 MiB (10,000 events:
# 4,605-5,153/s against 4,648-5,177/s); the operating system caches the file beneath it.
SQLITE_CACHE_KIB = 8192


def make_engine(url: str, *, pool_size: int = 5, null_pool: bool = False, synchronous: str = "full") -> Engine:
    """An engine for the store. SQLite files get WAL and a busy timeout; their folder is created.

    `synchronous` is SQLite's: "full" (the default) fsyncs every commit, so an acknowledged write survives
    a power loss, not only the process dying."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        if path and path != ":memory:":
            try:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreUnavailable(f"store error: cannot create the folder of {path} ({exc.strerror or exc}); "
                                       "choose another place with GATEWAY_DATABASE_URL") from None
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30, "isolation_level": None},
            pool_size=pool_size if not null_pool else 5,
            poolclass=NullPool if null_pool else None,
        )
        event.listen(engine, "connect", _sqlite_pragmas(synchronous))

        event.listen(engine, "begin", _begin)
        return engine
    kwargs: dict[str, Any] = {"poolclass": NullPool} if null_pool else {"pool_size": pool_size, "max_overflow": 10}
    return create_engine(url, pool_pre_ping=True, **kwargs)


def read_only(conn: Connection) -> Connection:
    """Mark the connection's transactions as reading only. On SQLite they begin DEFERRED: a reader in WAL mode
    takes no write lock, so the edge's group commit and the worker's transactions never wait for it (an
    IMMEDIATE one did, for as long as the read lasted), and the driver refuses a write in them."""
    return conn.execution_options(**{READ_ONLY: True})


def _begin(conn: Connection) -> None:
    """pysqlite's own transaction handling is off (isolation_level=None): BEGIN is ours. A writer begins
    IMMEDIATE, so that writers queue on the lock instead of failing on upgrade; a reader (`read_only`) begins
    DEFERRED with `query_only` on (the pragma is sent only when a connection changes from one kind to the
    other)."""
    reading = bool(conn.get_execution_options().get(READ_ONLY))
    proxy = conn.connection
    _query_only(proxy, reading)
    driver: Any = proxy.driver_connection
    driver.execute("BEGIN" if reading else "BEGIN IMMEDIATE")


def _query_only(proxy: Any, on: bool) -> None:
    """SQLite's `query_only` on the pooled connection as asked, sent only when it changes."""
    if proxy.info.get(_QUERY_ONLY, False) != on:
        proxy.driver_connection.execute(f"PRAGMA query_only={int(on)}")
        proxy.info[_QUERY_ONLY] = on


def writable(proxy: Any) -> Any:
    """A pool's connection taken raw to write on (the event writer's): `query_only` off if a reader left it on."""
    _query_only(proxy, False)
    return proxy


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def ensure_reachable(engine: Engine) -> None:
    """Open one connection, or raise StoreUnavailable in one line naming the store, the cause and the fix."""
    try:
        with engine.connect():
            pass
    except DBAPIError as exc:
        said = str(exc.orig if exc.orig is not None else exc).strip().splitlines()
        reason = said[0] if said else type(exc.orig or exc).__name__
        reason = " ".join(reason.removeprefix("connection failed: ").split()).rstrip(".")
        where = engine.url.render_as_string(hide_password=True)
        hint = next((fix for needle, fix in _HINTS if needle in reason.lower()), None)
        if hint is None:
            hint = "start PostgreSQL there, or point GATEWAY_DATABASE_URL at a running one" \
                if engine.dialect.name == "postgresql" else "check GATEWAY_DATABASE_URL"
        raise StoreUnavailable(f"store error: cannot open {where}: {reason}; {hint}") from None
