"""Long base64 runs of a large message, kept out of the stdlib parser.

The `email` parser splits a body into lines and holds them as strings: a 25 MB attachment
costs several times its size. Runs of at least 1,000 base64 lines are replaced by a short
marker before parsing; the parts that carry one decode their content straight from the raw
bytes (a memoryview, no copy), and text that held one gets its bytes back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Spans", "elide"]

THRESHOLD = 1 << 20  # messages below this are parsed as they are
_RUN = re.compile(rb"(?:[A-Za-z0-9+/=]{16,998}+\r?\n){1000,}+")  # possessive: no backtracking state kept
_MARKER = re.compile(rb"lg-elided-span-(\d+)\.")
_MARKER_TEXT = re.compile(r"lg-elided-span-(\d+)\.")


@dataclass(slots=True)
class Spans:
    """The runs taken out of a message, by index."""

    raw: memoryview | None = None
    ranges: list[tuple[int, int]] = field(default_factory=list)

    def of(self, payload: str) -> memoryview | None:
        """The raw run a part's payload stands for, when the payload is only a marker."""
        m = _MARKER_TEXT.fullmatch(payload.strip())
        if m is None or self.raw is None or int(m.group(1)) >= len(self.ranges):
            return None
        start, end = self.ranges[int(m.group(1))]
        return self.raw[start:end]

    def restore(self, data: bytes) -> bytes:
        """`data` with every marker replaced by the bytes it stands for."""
        if self.raw is None or b"lg-elided-span-" not in data:
            return data
        raw = self.raw

        def back(m: re.Match[bytes]) -> bytes:
            index = int(m.group(1))
            if index >= len(self.ranges):
                return m.group(0)
            start, end = self.ranges[index]
            return bytes(raw[start:end])

        return _MARKER.sub(back, data)


def elide(raw: bytes) -> tuple[bytes, Spans]:
    """(what the parser sees, the runs left out); small messages are returned unchanged."""
    spans = Spans()
    if len(raw) < THRESHOLD:
        return raw, spans
    pieces: list[bytes] = []
    pos = 0
    for m in _RUN.finditer(raw):
        pieces.append(raw[pos:m.start()])
        pieces.append(b"lg-elided-span-%d.\r\n" % len(spans.ranges))
        spans.ranges.append((m.start(), m.end()))
        pos = m.end()
    if not spans.ranges:
        return raw, spans
    pieces.append(raw[pos:])
    spans.raw = memoryview(raw)
    return b"".join(pieces), spans
