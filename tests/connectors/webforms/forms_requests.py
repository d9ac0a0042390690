"""Building form requests for the tests: multipart bodies by hand, InboundRequest objects, settings."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from multidict import CIMultiDict

from gateway.config import Settings
from gateway.config.forms import FormSettings
from gateway.connectors.base import InboundRequest, StoredEvent
from gateway.store.files import FileStore

BOUNDARY = "----formboundary7MA4YWxkTrZu0gW"
RECEIVED = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000") + b"\x00" * 64
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"


@dataclass(frozen=True)
class FilePart:
    name: str
    filename: str
    data: bytes
    content_type: str = "application/octet-stream"
    disposition: str | None = None  # a hand-written Content-Disposition value


def multipart(fields: Iterable[tuple[str, str]] = (), files: Iterable[FilePart] = (),
              boundary: str = BOUNDARY, close: bool = True) -> bytes:
    """A multipart/form-data body as a browser sends it."""
    out = bytearray()
    for name, value in fields:
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    for part in files:
        disposition = part.disposition or f'form-data; name="{part.name}"; filename="{part.filename}"'
        out += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n".encode()
        out += f"Content-Type: {part.content_type}\r\n\r\n".encode()
        out += part.data + b"\r\n"
    if close:
        out += f"--{boundary}--\r\n".encode()
    return bytes(out)


@dataclass
class Body:
    """A body delivered in chunks, recording how much of it was read."""

    data: bytes
    chunk: int = 1 << 16
    consumed: int = 0

    async def stream(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.data), self.chunk):
            piece = self.data[start:start + self.chunk]
            self.consumed += len(piece)
            yield piece

    async def read(self) -> bytes:
        self.consumed = len(self.data)
        return self.data


def request(body: bytes | Body, *, form_id: str = "site-ru", content_type: str = "", method: str = "POST",
            headers: dict[str, str] | None = None, remote: str = "203.0.113.7",
            content_length: int | None = None, path: str | None = None) -> InboundRequest:
    source = body if isinstance(body, Body) else Body(body)
    hdrs = CIMultiDict(headers or {})
    if content_type:
        hdrs.setdefault("Content-Type", content_type)
    return InboundRequest(
        method=method, path=path or f"/hooks/forms/{form_id}", match={"form_id": form_id}, headers=hdrs,
        query={}, remote=remote, content_type=content_type.split(";")[0], content_length=content_length,
        read=source.read, stream=source.stream, received_at=RECEIVED,
    )


def multipart_request(fields: Iterable[tuple[str, str]] = (), files: Iterable[FilePart] = (),
                      **kwargs: Any) -> InboundRequest:
    return request(multipart(fields, files), content_type=f"multipart/form-data; boundary={BOUNDARY}", **kwargs)


def urlencoded_request(fields: dict[str, str] | list[tuple[str, str]], **kwargs: Any) -> InboundRequest:
    return request(urlencode(fields).encode(), content_type="application/x-www-form-urlencoded", **kwargs)


def json_request(data: Any, **kwargs: Any) -> InboundRequest:
    return request(json.dumps(data).encode(), content_type="application/json", **kwargs)


def make_settings(tmp_path: Path, *forms: FormSettings, **overrides: Any) -> Settings:
    forms = forms or (FormSettings(id="site-ru", min_fill_seconds=0),)
    return Settings(forms=list(forms), files_dir=tmp_path / "files", **overrides)


def stored(event: Any, event_id: str = "ev-1") -> StoredEvent:
    """The stored form of a NewEvent, as the event log hands it to `process`."""
    return StoredEvent(id=event_id, connector=event.connector, account=event.account, key=event.key,
                       name=event.name, group_key=event.group_key, received_at=event.received_at,
                       headers=dict(event.headers), body=event.body)


@dataclass
class Context:
    """What the worker gives `process`; the forms parser needs none of it."""

    files: FileStore
    now: datetime = RECEIVED
    http: Any = None
    events: list[StoredEvent] = field(default_factory=list)

    def related(self, connector: str, account: str, group_key: str,
                names: tuple[str, ...] | None = None) -> list[StoredEvent]:
        return [e for e in self.events if (e.connector, e.account, e.group_key) == (connector, account, group_key)
                and (names is None or e.name in names)]


def temp_files(files: FileStore) -> list[Path]:
    return list(files.tmp_dir.iterdir())


def stored_files(files: FileStore) -> list[Path]:
    return [p for p in files.root.rglob("*") if p.is_file() and files.tmp_dir not in p.parents]
