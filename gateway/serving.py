"""Serving the aiohttp application on a port: the socket taken first, then the app, then the announcement."""

from __future__ import annotations

import errno
import socket
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from aiohttp import web

from gateway.core.errors import ConfigError

__all__ = ["base_url", "listening_socket", "run"]


def run(app_for: Callable[[str], web.Application | Coroutine[Any, Any, web.Application]], host: str, port: int,
        announce: Callable[[str], str], options: dict[str, Any] | None = None) -> None:
    """Serve `app_for(url)` until stopped; print `announce(url)` once it listens (url: the base URL it serves).

    The port is taken before anything starts, so that a port we cannot have is one ConfigError, not a
    half-started gateway (and port 0 gives a free one, named in the URL). `options` go to the aiohttp
    server (gateway.http.slow_clients.server_options: its idle timeout).
    """
    import uvloop

    sock = listening_socket(host, port)
    url = base_url(host, sock.getsockname()[1])
    uvloop.install()
    web.run_app(app_for(url), sock=sock, access_log=None, **(options or {}),
                print=lambda _aiohttp_says: print(announce(url), file=sys.stderr, flush=True))


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
