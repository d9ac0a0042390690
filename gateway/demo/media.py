"""Files the demo's stand-in hands out: a call recording and a photo, made here rather than shipped."""

from __future__ import annotations

import io
import math
import struct
import wave
import zlib
from functools import cache

__all__ = ["photo_png", "recording_wav"]

RATE = 8000  # telephone quality, as PBX recordings are


@cache
def recording_wav(seconds: float = 3.0) -> bytes:
    """A short mono WAV: two ringback tones (425 Hz, as Russian exchanges play them), then a softer tone."""
    frames = bytearray()
    for i in range(int(RATE * seconds)):
        t = i / RATE
        ringing = t < 2.0 and (t % 1.0) < 0.6
        level = 0.4 * math.sin(2 * math.pi * 425 * t) if ringing else 0.15 * math.sin(2 * math.pi * 300 * t)
        frames += struct.pack("<h", int(level * 32767))
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(bytes(frames))
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@cache
def photo_png(width: int = 160, height: int = 120) -> bytes:
    """A small RGB picture (a sky-to-field gradient), a valid PNG."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter: none
        for x in range(width):
            sky = y < height * 2 // 3
            rows += bytes((90 + x // 2, 150 + y // 2, 230) if sky else (70, 140 + x // 4, 60))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(bytes(rows)))
            + _chunk(b"IEND", b""))
