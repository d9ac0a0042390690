from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.connectors.telephony.mango import MangoConnector
from gateway.egress import OutboundClient, OutboundPolicy
from gateway.store.files import FileStore
from tests.connectors.telephony.mango.mango_support import settings


@pytest.fixture
def connector() -> MangoConnector:
    return MangoConnector(settings())


@pytest.fixture
def files(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "files")


@pytest.fixture
def http() -> Iterator[OutboundClient]:
    client = OutboundClient(OutboundPolicy(allow_private=True, attempts=1))
    yield client
    client.close()
