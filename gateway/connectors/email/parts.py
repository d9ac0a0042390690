"""MIME parts as files: raw header parameters, RFC 2231/2047 file names, decoded content in chunks."""

from __future__ import annotations

import binascii
import mimetypes
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.message import Message

from gateway.connectors.email.charset import decode_bytes
from gateway.connectors.email.headers import clean_text, decode_8bit, decode_header_text, unfold
from gateway.connectors.email.spans import Spans

__all__ = ["MimeFile", "file_name", "header_params", "part_bytes", "raw_header", "safe_name"]

CHUNK = 1 << 20
_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_NOT_BASE64 = bytes(b for b in range(256) if b not in _BASE64_ALPHABET)  # deleted with bytes.translate
_MAX_NAME = 200


def raw_header(part: Message, name: str) -> str | None:
    """The first raw value of a header (undecoded), without asking the policy to parse it."""
    for key, value in part.raw_items():
        if key.lower() == name:
            return value if isinstance(value, str) else str(value)
    return None


def _param_value(value: str | tuple[str | None, str | None, str]) -> str:
    if isinstance(value, tuple):  # RFC 2231: (charset, language, percent-decoded text as latin-1)
        charset, _lang, text = value
        return clean_text(decode_bytes(text.encode("latin-1", "surrogateescape"), charset)[0])
    return decode_header_text(value)  # quoted RFC 2047 words and raw 8-bit names are common too


def header_params(raw: str) -> tuple[str, dict[str, str]]:
    """("text/plain", {"charset": "koi8-r"}) from a raw Content-Type or Content-Disposition value."""
    holder = Message()  # compat32: parameters are parsed from the raw string, RFC 2231 included
    holder["X"] = decode_8bit(unfold(raw))  # raw 8-bit names would otherwise turn into U+FFFD
    try:
        params = holder.get_params(header="x") or []
    except (ValueError, IndexError, TypeError, UnicodeError):
        params = []
    if not params:
        return raw.split(";", 1)[0].strip().lower(), {}
    main = params[0][0].strip().lower()
    out: dict[str, str] = {}
    for key, value in params[1:]:
        if key and key.lower() not in out:
            try:
                out[key.lower()] = _param_value(value)
            except (LookupError, UnicodeError, ValueError):
                continue
    return main, out


def safe_name(name: str) -> str:
    """A display name: no folders, no control characters, at most 200 characters (extension kept)."""
    name = clean_text(name).replace("\r", "").replace("\n", "").replace("\t", " ")
    name = re.split(r"[\\/]", name)[-1].strip().strip(".") or ""
    if len(name) > _MAX_NAME:
        stem, dot, ext = name.rpartition(".")
        name = f"{stem[: _MAX_NAME - len(ext) - 1]}.{ext}" if dot and len(ext) <= 16 else name[:_MAX_NAME]
    return name


def file_name(disposition: dict[str, str], ctype: dict[str, str]) -> str | None:
    """The file name from Content-Disposition `filename`, else Content-Type `name`."""
    for params, key in ((disposition, "filename"), (ctype, "name")):
        value = params.get(key)
        if value and value.strip():
            return safe_name(value) or None
    return None


_NAMES = {"message/rfc822": "message.eml", "message/delivery-status": "delivery-status.txt",
          "text/rfc822-headers": "headers.txt", "message/disposition-notification": "disposition-notification.txt"}


def _default_name(ctype: str, index: int) -> str:
    if ctype in _NAMES:
        return _NAMES[ctype]
    ext = mimetypes.guess_extension(ctype, strict=False) or ".bin"
    return f"part-{index + 1}{ext}"


@dataclass(slots=True)
class MimeFile:
    """An attachment or inline file of a parsed mail; its content is decoded on demand."""

    name: str
    content_type: str
    inline: bool
    content_id: str | None
    encoded_size: int
    part: Message | None
    error: str | None = None
    spans: Spans | None = None

    @classmethod
    def of(cls, part: Message, ctype: str, name: str | None, *, inline: bool, content_id: str | None,
           index: int, spans: Spans | None = None) -> MimeFile:
        payload = part.get_payload()
        source = spans.of(payload) if spans is not None and isinstance(payload, str) else None
        size = len(source) if source is not None else len(payload) if isinstance(payload, str) else 0
        if name is None and ctype == "message/rfc822" and isinstance(payload, list) and payload \
                and isinstance(payload[0], Message):
            subject = decode_header_text(raw_header(payload[0], "subject"))
            name = safe_name(f"{subject[:80]}.eml") if subject else None
        return cls(name or _default_name(ctype, index), ctype, inline, content_id, size, part, spans=spans)

    @classmethod
    def unreadable(cls, index: int, reason: str) -> MimeFile:
        return cls(f"part-{index + 1}.bin", "application/octet-stream", False, None, 0, None, reason)

    @property
    def estimated_size(self) -> int:
        """About the decoded size, known before decoding (base64 shrinks by a quarter)."""
        if self.part is not None and _encoding(self.part) == "base64":
            return self.encoded_size * 3 // 4
        return self.encoded_size

    def chunks(self, size: int = CHUNK) -> Iterator[bytes]:
        """The decoded content, a chunk at a time (base64 is decoded without a second full copy)."""
        if self.part is None:
            return
        payload = self.part.get_payload()
        if isinstance(payload, list):
            data = _message_bytes(payload[0]) if payload and isinstance(payload[0], Message) else b""
            yield self.spans.restore(data) if self.spans is not None else data
        else:
            yield from _decoded(self.part, self.spans, size)


def _encoding(part: Message) -> str:
    return (raw_header(part, "content-transfer-encoding") or "").strip().lower()


def _decoded(part: Message, spans: Spans | None, size: int) -> Iterator[bytes]:
    payload = part.get_payload()
    source = spans.of(payload) if spans is not None and isinstance(payload, str) else None
    if _encoding(part) == "base64" and isinstance(payload, str):
        yield from _base64_chunks(source if source is not None else payload, size)
        return
    if source is not None:
        for start in range(0, len(source), size):
            yield bytes(source[start:start + size])
        return
    data = part.get_payload(decode=True)
    data = data if isinstance(data, bytes) else b""
    data = spans.restore(data) if spans is not None else data
    for start in range(0, len(data), size):
        yield data[start:start + size]


def part_bytes(part: Message, spans: Spans | None) -> bytes:
    """A leaf part's whole decoded content (for text parts)."""
    return b"".join(_decoded(part, spans, CHUNK))


def _base64_chunks(payload: str | memoryview, size: int) -> Iterator[bytes]:
    leftover = b""
    for start in range(0, len(payload), size):
        window = payload[start:start + size]
        data = window.encode("ascii", "ignore") if isinstance(window, str) else bytes(window)
        piece = leftover + data.translate(None, _NOT_BASE64)
        cut = len(piece) - len(piece) % 4
        leftover = piece[cut:]
        if cut:
            yield _b64(piece[:cut])
    if leftover.strip(b"="):
        yield _b64(leftover + b"=" * (-len(leftover) % 4))


def _b64(data: bytes) -> bytes:
    try:
        return binascii.a2b_base64(data)
    except binascii.Error:  # stray padding inside: decode what can be decoded, block by block
        out = bytearray()
        for start in range(0, len(data), 4):
            try:
                out += binascii.a2b_base64(data[start:start + 4])
            except binascii.Error:
                continue
        return bytes(out)


def _message_bytes(inner: Message) -> bytes:
    try:
        return inner.as_bytes(policy=policy.compat32)
    except (ValueError, TypeError, UnicodeError, LookupError, AttributeError):
        return b""
