"""A content-addressed file store: attachments and recordings under their SHA-256."""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

__all__ = ["FileStore", "FileWriter", "StoredFile"]

CHUNK = 1 << 16


@dataclass(frozen=True, slots=True)
class StoredFile:
    id: str  # sha256 hex of the content
    size: int
    content_type: str


class FileWriter:
    """Writes a file chunk by chunk into a temporary file, hashing as it goes.

    `commit()` moves it into place under its hash; `discard()` (or leaving the `with`
    block on an error) removes the temporary file, so nothing is left behind.
    """

    def __init__(self, store: FileStore, limit: int | None = None) -> None:
        self._store = store
        self._limit = limit
        self._hash = hashlib.sha256()
        self.size = 0
        self.tmp_path = store.tmp_dir / f"{secrets.token_hex(12)}.part"
        self._fh: BinaryIO | None = open(self.tmp_path, "wb")
        self.head = b""  # the first bytes, for content sniffing

    def write(self, chunk: bytes) -> None:
        if self._fh is None:
            raise ValueError("writer is closed")
        self.size += len(chunk)
        if self._limit is not None and self.size > self._limit:
            raise OverflowError(f"file over {self._limit} bytes")
        if len(self.head) < 8192:
            self.head += chunk[: 8192 - len(self.head)]
        self._hash.update(chunk)
        self._fh.write(chunk)

    def commit(self, content_type: str = "application/octet-stream") -> StoredFile:
        if self._fh is None:
            raise ValueError("writer is closed")
        self._fh.close()
        self._fh = None
        digest = self._hash.hexdigest()
        final = self._store.path(digest)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():
            self.tmp_path.unlink(missing_ok=True)
        else:
            os.replace(self.tmp_path, final)
        return StoredFile(digest, self.size, content_type)

    def discard(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        self.tmp_path.unlink(missing_ok=True)

    def __enter__(self) -> FileWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None or self._fh is not None:
            self.discard()


class FileStore:
    """Files live at `root/ab/cd/<sha256>`; temporary parts under `root/tmp`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.tmp_dir = self.root / "tmp"
        self.tmp_dir.mkdir(parents=True, exist_ok=True)

    def path(self, file_id: str) -> Path:
        if len(file_id) != 64 or any(c not in "0123456789abcdef" for c in file_id):
            raise ValueError("not a file id")
        return self.root / file_id[:2] / file_id[2:4] / file_id

    def writer(self, limit: int | None = None) -> FileWriter:
        return FileWriter(self, limit)

    def put_bytes(self, data: bytes, content_type: str = "application/octet-stream") -> StoredFile:
        with self.writer() as w:
            w.write(data)
            return w.commit(content_type)

    def put_chunks(self, chunks: Iterator[bytes], content_type: str, limit: int | None = None) -> StoredFile:
        with self.writer(limit) as w:
            for chunk in chunks:
                w.write(chunk)
            return w.commit(content_type)

    def exists(self, file_id: str) -> bool:
        return self.path(file_id).exists()

    def open(self, file_id: str) -> BinaryIO:
        return open(self.path(file_id), "rb")

    def read(self, file_id: str) -> bytes:
        return self.path(file_id).read_bytes()
