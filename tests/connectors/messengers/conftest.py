"""Fixtures of the messenger tests (helpers live in messenger_harness.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.egress import OutboundClient, OutboundPolicy
from gateway.store.files import FileStore
from tests.connectors.messengers.messenger_harness import messenger_settings


@pytest.fixture
def settings() -> Settings:
    return messenger_settings()


@pytest.fixture
def files(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "files")


@pytest.fixture
def http() -> Iterator[OutboundClient]:
    client = OutboundClient(OutboundPolicy(allow_private=True, attempts=1))
    yield client
    client.close()
