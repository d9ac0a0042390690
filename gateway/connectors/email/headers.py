"""Header values: RFC 2047 words, raw 8-bit text, addresses, Message-IDs and dates."""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import getaddresses, parsedate_to_datetime

from gateway.connectors.email.charset import decode_bytes

__all__ = [
    "Address", "clean_text", "decode_8bit", "decode_header_text", "message_ids", "normalise_message_id",
    "parse_addresses", "parse_date", "unfold",
]

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_MSGID = re.compile(r"<([^<>\s]{1,500})>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MAX_ID = 400


@dataclass(frozen=True, slots=True)
class Address:
    name: str | None
    email: str  # lower-cased

    @property
    def local_part(self) -> str:
        return self.email.rsplit("@", 1)[0]

    @property
    def domain(self) -> str:
        return self.email.rsplit("@", 1)[-1]


def unfold(value: str) -> str:
    return _FOLD.sub("", value)


def decode_8bit(value: str) -> str:
    """A header parsed from bytes keeps 8-bit text as surrogates: decode it as the charset it looks like."""
    if not any("\udc80" <= ch <= "\udcff" for ch in value):
        return value
    return decode_bytes(value.encode("utf-8", "surrogateescape"))[0]


def _word_bytes(encoding: str, payload: str) -> bytes:
    data = payload.encode("ascii", "replace")
    try:
        if encoding in "bB":
            return binascii.a2b_base64(data + b"=" * (-len(data) % 4))
        return binascii.a2b_qp(data, header=True)
    except (binascii.Error, ValueError):
        return data


def decode_header_text(value: str | None) -> str:
    """A header value as text: RFC 2047 words joined and decoded with charset fallbacks."""
    if not value:
        return ""
    value = decode_8bit(unfold(value))
    out: list[str] = []
    pending: tuple[str, bytes] | None = None  # adjacent words in one charset are decoded together
    pos = 0
    for m in _ENCODED_WORD.finditer(value):
        between = value[pos:m.start()]
        charset = m.group(1).split("*", 1)[0]
        data = _word_bytes(m.group(2), m.group(3))
        if pending is not None and between.strip() == "" and pending[0].lower() == charset.lower():
            pending = (pending[0], pending[1] + data)
        else:
            if pending is not None:
                out.append(decode_bytes(pending[1], pending[0])[0])
            if not (pending is not None and between.strip() == ""):
                out.append(between)
            pending = (charset, data)
        pos = m.end()
    if pending is not None:
        out.append(decode_bytes(pending[1], pending[0])[0])
    out.append(value[pos:])
    return clean_text("".join(out)).strip()


def clean_text(text: str) -> str:
    """Text safe for any database column: no NUL or other control characters (tabs and newlines kept)."""
    return _CONTROL.sub("", text)


def parse_addresses(values: list[str]) -> list[Address]:
    """Addresses from header values; display names decoded, malformed entries skipped."""
    out: list[Address] = []
    raw = [decode_8bit(unfold(v)) for v in values]
    try:
        pairs = getaddresses(raw)
    except (ValueError, IndexError, TypeError):
        pairs = []
    for name, addr in pairs:
        addr = clean_text(addr).strip().strip("<>").lower()
        if "@" not in addr or " " in addr or len(addr) > 320 or addr.startswith("@") or addr.endswith("@"):
            continue
        decoded = decode_header_text(name).strip("\"' ") or None
        if all(a.email != addr for a in out):
            out.append(Address(decoded, addr))
    return out


def normalise_message_id(value: str | None) -> str | None:
    """The id inside `<...>` (or a bare id), without brackets; None when there is none worth keeping."""
    if not value:
        return None
    value = clean_text(decode_8bit(unfold(value))).strip()
    m = _MSGID.search(value)
    ident = m.group(1) if m else (value if value and " " not in value and "@" in value else None)
    if not ident or len(ident) > _MAX_ID:
        return None
    return ident


def message_ids(values: list[str]) -> list[str]:
    """Every `<id>` in In-Reply-To or References values, in order, without repeats."""
    found: list[str] = []
    for value in values:
        for m in _MSGID.finditer(clean_text(decode_8bit(unfold(value)))):
            ident = m.group(1)
            if len(ident) <= _MAX_ID and ident not in found:
                found.append(ident)
    return found


def parse_date(value: str | None) -> datetime | None:
    """A Date header as an aware datetime (UTC when it names no zone); None when unreadable."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(clean_text(unfold(value)).strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None or not 1970 <= parsed.year <= 2100:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
