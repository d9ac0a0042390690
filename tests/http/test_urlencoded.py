"""The fast form decoder gives exactly what `urllib.parse.parse_qsl` gives, pairs and errors alike."""

from __future__ import annotations

import random
from urllib.parse import parse_qsl, urlencode

import pytest

from gateway.connectors.urlencoded import decode_form

PIECES = [b"a", b"=", b"&", b"%", b"+", b"%41", b"%c3", b"%a9", b"%C3%A9", b"%zz", b" ", b"\n", b"\xc3\xa9", b"\xff",
          b"%ff", b"_", b"%3D", b"%26", b"%2", b"~", b"\r\n", b"%0A", b"%00", b"\t", b"%%", b"%4"]


def _reference(body: bytes) -> tuple[str, object]:
    try:
        return "ok", parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body),
                               encoding="utf-8", errors="strict")
    except (ValueError, UnicodeDecodeError) as exc:
        return "error", type(exc).__name__


def _ours(body: bytes) -> tuple[str, object]:
    try:
        return "ok", decode_form(body)
    except (ValueError, UnicodeDecodeError) as exc:
        return "error", type(exc).__name__


@pytest.mark.parametrize("body", [
    b"", b"a=1", b"a=1&b=", b"a", b"a=1&&b=2", b"a=b=c", b"json=%7B%22x%22%3A+1%7D", b"a=%C3%A9+%E2%82%AC",
    b"a=%zz", b"a=%4", b"a=%", b"a=%ff", b"a=\xff", b"a=caf\xc3\xa9", b"a=1\r\n", b"a=%0D%0A+", b"a=%3D%26",
])
def test_tricky_bodies_decode_as_parse_qsl_does(body: bytes) -> None:
    assert _ours(body) == _reference(body)


def test_random_bodies_decode_as_parse_qsl_does() -> None:
    rng = random.Random(16)
    for _ in range(20_000):
        body = b"".join(rng.choice(PIECES) for _ in range(rng.randint(0, 10)))
        assert _ours(body) == _reference(body), body


def test_a_signed_notification_round_trips() -> None:
    text = '{"entry_id":"MToxMDA=","from":{"number":"79161234567"},"text":"Привет, мир! 100% 😀 a+b=c&d"}'
    fields = {"vpbx_api_key": "k" * 32, "sign": "ab" * 32, "json": text}
    assert decode_form(urlencode(fields).encode()) == list(fields.items())
