"""Who is who in a Mango call: client numbers versus extensions and SIP identities (protocols §5)."""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["external_number", "line_source", "same_line"]

_NON_DIGITS = re.compile(r"\D")


def external_number(raw: str | None) -> str | None:
    """The number as sent when it can be a client's phone; None for SIP URIs and extensions."""
    if not raw:
        return None
    value = raw.strip()
    if value.lower().startswith("sip:") or "@" in value:
        return None
    if len(_NON_DIGITS.sub("", value)) <= 5:
        return None
    return value


def _line_digits(value: str) -> str:
    digits = _NON_DIGITS.sub("", value)
    return digits[-10:] if len(digits) >= 10 else digits or value


def same_line(a: str, b: str) -> bool:
    """`74951234567`, `+7 495 123-45-67` and `84951234567` are one line."""
    return _line_digits(a) == _line_digits(b)


def line_source(line: str | None, lines: Mapping[str, str]) -> str | None:
    """The configured source name of a line, else "Call to number <line>"."""
    if not line:
        return None
    if line in lines:
        return lines[line]
    for number, name in sorted(lines.items()):
        if same_line(number, line):
            return name
    return f"Call to number {line}"
