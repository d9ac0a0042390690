"""Serving the aiohttp application on a port: the socket taken first, then the app, then the announcement."""

from __future__ import annotations

import asyncio
import errno
import inspect
import socket
import sys
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import suppress
from typing import Any

from aiohttp import web

from gateway.core.errors import ConfigError
from gateway.heap import settle
from gateway.http.fast_lane import LaneSite
from gateway.http.keys import LANE

__all__ = ["base_url", "listening_socket", "run", "serve", "site_on"]


def run(app_for: Callable[[str], web.Application | Coroutine[Any, Any, web.Application]], host: str, port: int,
        announce: Callable[[str], str], options: dict[str, Any] | None = None) -> None:
    """Serve `app_for(url)` until stopped; print `announce(url)` once it listens (url: the base URL it serves).

    The port is taken before anything starts, so that a port we cannot have is one ConfigError, not a
    half-started gateway (and port 0 gives a free one, named in the URL). `options` go to the aiohttp
    server (gateway.http.slow_clients.server_options: its idle timeout). As aiohttp's `run_app` does, SIGINT
    and SIGTERM stop it gracefully; connections are served by the fast lane first (gateway.http.fast_lane).
    Once it listens, its garbage collector is set for a long run (gateway.heap).
    """
    import uvloop

    sock = listening_socket(host, port)
    url = base_url(host, sock.getsockname()[1])
    uvloop.install()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def ready() -> None:
        print(announce(url), file=sys.stderr, flush=True)
        settle()  # started: what it holds now lives as long as it does

    main = loop.create_task(serve(app_for(url), sock, ready, options or {}))
    try:
        loop.run_until_complete(main)
    except (web.GracefulExit, KeyboardInterrupt):
        pass
    finally:
        try:
            if not main.done():
                main.cancel()
                with suppress(asyncio.CancelledError):
                    loop.run_until_complete(main)
        finally:
            rest = asyncio.all_tasks(loop)
            for task in rest:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*rest, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


async def serve(app: web.Application | Awaitable[web.Application], sock: socket.socket, ready: Callable[[], None],
                options: dict[str, Any]) -> None:
    """Run `app` on the listening `sock` until cancelled (or a signal), then clean it up."""
    if inspect.isawaitable(app):
        app = await app
    runner = web.AppRunner(app, access_log=None, handle_signals=True, **options)
    await runner.setup()
    try:
        await site_on(runner, sock).start()
        ready()
        await asyncio.Event().wait()  # until cancelled
    finally:
        await runner.cleanup()


def site_on(runner: web.AppRunner, sock: socket.socket) -> web.SockSite:
    """The site serving `runner`'s application on `sock`: through its fast lane when it has one."""
    lane = runner.app.get(LANE)
    return LaneSite(runner, sock, lane) if lane is not None else web.SockSite(runner, sock)


def base_url(host: str, port: int) -> str:
    """How this machine reaches a server listening on host:port."""
    shown = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(host, host)  # noqa: S104 - a name
    return f"http://{f'[{shown}]' if ':' in shown and not shown.startswith('[') else shown}:{port}/"


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound and listening on host:port, or a ConfigError naming the cause and the fix."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=128)
    except socket.gaierror:
        raise ConfigError(f"cannot listen on {host}:{port}: no such address; choose another with --host") from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(f"cannot listen on {host}:{port}: the port is in use (another gateway?); stop "
                              "that one or choose another port with --port") from None
        if exc.errno == errno.EACCES:
            raise ConfigError(f"cannot listen on {host}:{port}: not allowed (ports below 1024 need privileges); "
                              "choose another with --port") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise ConfigError(f"cannot listen on {host}:{port}: no such address on this machine; choose another "
                              "with --host") from None
        raise
