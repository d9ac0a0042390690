"""`gateway demo`: the stand-in, the demo's settings and users, then the server, announced as a demo."""

from __future__ import annotations

import asyncio
import secrets
import sys
from pathlib import Path

import structlog
from aiohttp import web
from sqlalchemy import Engine, make_url

from gateway.config import Settings
from gateway.demo.providers import stand_in_app
from gateway.demo.settings import MANAGERS, PREFIX, demo_settings

__all__ = ["ADMIN", "Demo", "banner", "ensure_demo_users"]

log = structlog.get_logger(__name__)

ADMIN = "demo"
_LETTERS = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def _password() -> str:
    return "-".join("".join(secrets.choice(_LETTERS) for _ in range(4)) for _ in range(3))


def ensure_demo_users(engine: Engine) -> str:
    """The managers the demo's PBX extensions name, and the admin `demo` with a new password (returned)."""
    from gateway.store import users
    from gateway.store.passwords import hash_password, store_password_hash

    password = _password()
    password_hash = hash_password(password)  # slow on purpose: outside the transaction
    with engine.begin() as conn:
        for extension, name in MANAGERS.items():
            if users.user_by_name(conn, name) is None:
                users.create_user(conn, name, users.Role.MANAGER, extension=extension, department="Продажи")
        if users.user_by_name(conn, ADMIN) is None:
            users.create_user(conn, ADMIN, users.Role.ADMIN)
        store_password_hash(conn, ADMIN, password_hash)
    return password


def _prepare(settings: Settings) -> str:
    from gateway.store.bootstrap import bootstrap
    from gateway.store.db import make_engine

    engine = make_engine(settings.database_url, synchronous=settings.sqlite_synchronous)
    try:
        bootstrap(engine, settings)
        return ensure_demo_users(engine)
    finally:
        engine.dispose()


def _program() -> str:
    """How to call us from here, so that the hints can be pasted as they are (`.venv/bin/gateway`)."""
    called = Path(sys.argv[0] if sys.argv else "")
    if called.name != "gateway":
        return "gateway"
    try:
        return str(called.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(called)


def banner(settings: Settings, url: str, password: str) -> str:
    gateway = _program()
    store = make_url(settings.database_url).render_as_string(hide_password=True)
    ignored = "" if not Path("gateway.toml").exists() else \
        "\n  ./gateway.toml is not read by the demo: `gateway serve` runs it."
    return (
        f"Lead Gateway DEMO on {url}\n"
        "  The demo configuration: sample accounts for Mango, a site form, Telegram, VK and WhatsApp, with public\n"
        f"  secrets; their APIs are played by a stand-in under {url}{PREFIX.lstrip('/')}/, so nothing reaches the\n"
        "  internet.\n"
        f"  Log in at {url}login as {ADMIN} with the password {password} (a new one at every start).\n"
        f"  Send traffic from another terminal: {gateway} simulate mango   (or forms, telegram, vk, whatsapp)\n"
        f"  Data: {store} and {settings.files_dir}.\n"
        f"  Your own set-up: cp gateway.example.toml gateway.toml, edit it, then {gateway} serve{ignored}"
    )


class Demo:
    """The demo's server: `app()` builds it (stand-in, settings, users), `announcement()` says what runs."""

    def __init__(self) -> None:
        self.settings: Settings | None = None
        self.password = ""

    async def app(self, url: str) -> web.Application:
        """The gateway at `url` on the demo's settings, with the providers' stand-in under /demo/providers."""
        from gateway.app import create_app
        from gateway.logs import configure_logging

        settings = demo_settings(url.rstrip("/") + PREFIX)
        configure_logging(settings.log_format, settings.log_level)
        self.password = await asyncio.to_thread(_prepare, settings)
        app = create_app(settings)
        app.add_subapp(PREFIX, stand_in_app())
        self.settings = settings
        log.info("demo.configuration", url=url, stand_in=url.rstrip("/") + PREFIX, admin=ADMIN,
                 note="the demo configuration, not gateway.toml")
        return app

    def announcement(self, url: str) -> str:
        assert self.settings is not None, "announced before the app was built"
        return banner(self.settings, url, self.password)
