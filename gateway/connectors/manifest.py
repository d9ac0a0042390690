"""What a connector declares about itself: `<connector folder>/manifest.py` holds one `MANIFEST`.

The contract test (tests/connectors/test_contract.py) holds every connector of the registry to
its manifest: the routes it mounts, its settings model, the keys its events are stored under,
and a README.md beside it that names all of these and the provider's documentation.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

__all__ = ["Manifest"]


@dataclass(frozen=True, slots=True)
class Manifest:
    channel: str  # the registry's name for it, and `events.connector` of what it stores
    name: str
    receives: str  # one line: what arrives and what becomes a lead
    routes: tuple[tuple[str, str], ...] = ()  # (method, aiohttp path) mounted under the app
    polls: bool = False  # a long-running service (a poller) instead of, or beside, routes
    settings: type[BaseModel] | None = None  # the model of one configured account
    settings_key: str | None = None  # where that model sits in gateway.toml, e.g. "telephony.mango"
    keys: tuple[str, ...] = ()  # the idempotency keys of its stored events: a provider retry finds its key
    docs: tuple[str, ...] = ()  # the provider's documentation

