"""A multipart/form-data body read as a stream: fields kept, files written to disk as they come.

python-multipart does the parsing; this module enforces the form's limits while the bytes
arrive (the whole request's size, the number of files, the fields' size, each file's type
judged from its first bytes), so a request over a limit is refused before much more than the
limit has been read. Files stay temporary until the whole body has been read and checked;
`commit()` then moves them into the file store, `discard()` removes them. Whatever goes
wrong, no temporary file is left behind.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser

from gateway.connectors.base import FileStore, FileWriter
from gateway.connectors.webforms.content import compatible, judge
from gateway.connectors.webforms.filename import replace_extension, safe_filename
from gateway.core.errors import PayloadError, PayloadTooLarge

__all__ = ["MultipartUpload", "UploadLimits", "UploadedFile", "decode_text", "header_params", "read_multipart"]

SNIFF_BYTES = 8192
_PARAM = re.compile(r';\s*([^\s=;]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


@dataclass(frozen=True, slots=True)
class UploadLimits:
    max_bytes: int  # the whole request
    max_files: int
    allowed_types: list[str]
    max_field_bytes: int = 1 << 20  # all text fields together
    max_fields: int = 256


@dataclass(slots=True)
class UploadedFile:
    field: str
    name: str  # safe to show
    original_name: str  # as sent: data only
    declared_type: str
    content_type: str  # what the content is
    size: int = 0
    id: str | None = None  # the file store id, once committed


@dataclass(slots=True)
class _Part:
    headers: dict[str, str] = field(default_factory=dict)
    name: str = ""
    file: UploadedFile | None = None
    writer: FileWriter | None = None
    judged: bool = False
    value: bytearray = field(default_factory=bytearray)


def decode_text(data: bytes, charset: str | None = None) -> str:
    """Text from a form: the declared charset, else UTF-8, else Windows-1251 (old Russian sites)."""
    for candidate in (charset, "utf-8"):
        if candidate:
            try:
                return data.decode(candidate)
            except (LookupError, UnicodeDecodeError):
                continue
    return data.decode("cp1251", errors="replace")


def header_params(value: str) -> dict[str, str]:
    """The parameters of a header value (`form-data; name="a"`); `filename*` (RFC 5987) wins over `filename`."""
    params: dict[str, str] = {}
    for key, raw in _PARAM.findall(value):
        key = key.lower()
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        if key.endswith("*"):
            charset, _, rest = raw.partition("'")
            _lang, _, encoded = rest.partition("'")
            params[key[:-1]] = decode_text(unquote_to_bytes(encoded), charset.strip() or None)
        elif key not in params:
            params[key] = raw.strip()
    return params


class MultipartUpload:
    """Feeds one multipart body into python-multipart and keeps what it yields."""

    def __init__(self, boundary: bytes, files: FileStore, limits: UploadLimits) -> None:
        self.fields: dict[str, list[str]] = {}
        self.files: list[UploadedFile] = []
        self._store = files
        self._limits = limits
        self._read = 0
        self._field_bytes = 0
        self._writers: list[FileWriter] = []
        self._part = _Part()
        self._header = [bytearray(), bytearray()]
        self._complete = False
        try:
            self._parser = MultipartParser(boundary, callbacks={
                "on_part_begin": self._part_begin, "on_part_data": self._part_data, "on_part_end": self._part_end,
                "on_header_field": self._header_field, "on_header_value": self._header_value,
                "on_header_end": self._header_end, "on_headers_finished": self._headers_finished,
                "on_end": self._end,
            })
        except (FormParserError, ValueError) as exc:
            raise PayloadError(f"bad multipart boundary: {exc}") from None

    def feed(self, chunk: bytes) -> None:
        self._read += len(chunk)
        if self._read > self._limits.max_bytes:
            raise PayloadTooLarge(f"request over {self._limits.max_bytes} bytes")
        if self._complete:
            return  # the epilogue after the closing boundary is ignored
        try:
            self._parser.write(chunk)
        except FormParserError as exc:
            raise PayloadError(f"malformed multipart body: {exc}") from None

    def finish(self) -> None:
        """Check that the body ended with its closing boundary."""
        if not self._complete:
            raise PayloadError("truncated multipart body: no closing boundary")

    def commit(self) -> list[UploadedFile]:
        """Move every file into the file store; returns them with their ids."""
        for upload, writer in zip(self.files, self._writers, strict=True):
            upload.id = writer.commit(upload.content_type).id
        self._writers.clear()
        return self.files

    def discard(self) -> None:
        """Remove every temporary file (idempotent)."""
        for writer in self._writers:
            writer.discard()
        if self._part.writer is not None and self._part.writer not in self._writers:
            self._part.writer.discard()

    # python-multipart callbacks (synchronous, called from `feed`)

    def _part_begin(self) -> None:
        self._part = _Part()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header[0] += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._header[1] += data[start:end]

    def _header_end(self) -> None:
        name, value = (decode_text(bytes(h)) for h in self._header)
        self._part.headers[name.strip().lower()] = value.strip()
        self._header = [bytearray(), bytearray()]

    def _headers_finished(self) -> None:
        part = self._part
        params = header_params(part.headers.get("content-disposition", ""))
        if "name" not in params:
            raise PayloadError("multipart part without a field name")
        part.name = params["name"]
        if "filename" not in params:
            if sum(len(v) for v in self.fields.values()) >= self._limits.max_fields:
                raise PayloadTooLarge(f"more than {self._limits.max_fields} fields")
            return
        if len(self.files) >= self._limits.max_files:
            raise PayloadTooLarge(f"more than {self._limits.max_files} files")
        declared = part.headers.get("content-type", "application/octet-stream")
        original = params["filename"]
        part.file = UploadedFile(part.name, safe_filename(original), original, declared.split(";")[0].strip(), "")
        part.writer = self._store.writer()

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        part = self._part
        if part.writer is None:
            self._field_bytes += end - start
            if self._field_bytes > self._limits.max_field_bytes:
                raise PayloadTooLarge(f"form fields over {self._limits.max_field_bytes} bytes")
            part.value += data[start:end]
            return
        part.writer.write(data[start:end])
        if not part.judged and part.writer.size >= SNIFF_BYTES:
            self._judge(part)

    def _part_end(self) -> None:
        part = self._part
        if part.writer is None or part.file is None:
            charset = _charset(part.headers.get("content-type", ""))
            self.fields.setdefault(part.name, []).append(decode_text(bytes(part.value), charset))
            return
        if part.writer.size == 0 and not part.file.original_name:
            part.writer.discard()  # a file input left empty
            self._part = _Part()
            return
        if not part.judged:
            self._judge(part)
        part.file.size = part.writer.size
        self.files.append(part.file)
        self._writers.append(part.writer)
        self._part = _Part()

    def _judge(self, part: _Part) -> None:
        assert part.writer is not None and part.file is not None
        upload = part.file
        upload.content_type = judge(part.writer.head, upload.declared_type, self._limits.allowed_types)
        if _misnamed(upload.name, upload.content_type):
            upload.name = replace_extension(upload.name, upload.content_type)  # shown as what it is
        part.judged = True

    def _end(self) -> None:
        self._complete = True


def _charset(content_type: str) -> str | None:
    match = re.search(r"charset\s*=\s*\"?([\w.:-]+)", content_type, re.I)
    return match.group(1) if match else None


def _misnamed(name: str, content_type: str) -> bool:
    """No extension, or one that claims another kind of content (`photo.pdf` holding a PNG)."""
    guessed = mimetypes.guess_type(name, strict=False)[0]
    if guessed is None:
        return "." not in name
    return not compatible(content_type, guessed)


async def read_multipart(
    stream: AsyncIterator[bytes], boundary: bytes, files: FileStore, limits: UploadLimits
) -> MultipartUpload:
    """Read a whole multipart body; on any error the temporary files are gone before it raises."""
    upload = MultipartUpload(boundary, files, limits)
    try:
        async for chunk in stream:
            upload.feed(chunk)
        upload.finish()
    except BaseException:
        upload.discard()
        raise
    return upload
