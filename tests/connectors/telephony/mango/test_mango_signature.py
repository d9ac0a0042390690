"""Mango's signature against the published vectors (protocols.md §6, §7)."""

from __future__ import annotations

import pytest

from gateway.connectors.telephony.mango.signature import link_sign, sign, signed_form, verify
from tests.connectors.telephony.mango.mango_support import TEST_KEY, TEST_SALT, load

SECTION_7 = {  # vector id -> sign, as printed in protocols.md §7
    "A1": "c7d0ee5ede64c118723f62e19c42dca3f8902471bb820d807a9185ce424fe9b4",
    "A2": "8452cd48faea9b1493b401fb7268225661ba93226105ea0d72ea8b78b86a9ef2",
    "A3": "e4c94af8f2e2d7049f6ede7b6a76b11c57dec2917e621ae0da330650915f321e",
    "A4": "76b7331d9ad42e99378387dc3b83d228b402fdbc8823493d42312a6bbed99ce6",
    "A5": "2dcd1985959dc0424f6e93d941cdfa24a20cf2bbaa10646d1d8a638bd1862711",
    "B1": "62c2008a21af1fc55a8e3e43f4069da12d2880fc90852322c4a93a77e8d86283",
    "B2": "88b6b2f367bb8d57cb43f70592bd152782e7bccf9d74f2f991ad2390a68fd1ed",
    "B3": "b1c9d6ea6c24524823602cc838e8f1cd9a6e9ee3fa8cbe83c4029b077c68e8e0",
    "C1": "d176d29303b8d5e643eb71da8fe946935c5247a30e2ffb8897cdc55ec02c1c6a",
    "C2": "e1f0b4f109feaefdcbb8437c94f5b1771c782195d92f5fea0b82b67cc70bb7f9",
}
VECTORS = {
    d.id: d.json
    for scenario in ("incoming_answered_via_group", "missed_in_queue_numbers_as_strings", "outgoing_answered")
    for d in load(scenario)
}


@pytest.mark.parametrize("vector", sorted(SECTION_7))
def test_section_7_vectors_verify(vector: str) -> None:
    assert sign(TEST_KEY, VECTORS[vector], TEST_SALT) == SECTION_7[vector]
    assert verify(TEST_KEY, VECTORS[vector], TEST_SALT, SECTION_7[vector])
    assert verify(TEST_KEY, VECTORS[vector], TEST_SALT, SECTION_7[vector].upper())


def test_section_6_command_vector() -> None:
    payload = {"command_id": "cb-0001", "from": {"extension": "101"}, "to_number": "79261234567",
               "line_number": "74951234567"}
    form = signed_form(TEST_KEY, TEST_SALT, payload)
    assert form["json"] == ('{"command_id":"cb-0001","from":{"extension":"101"},"to_number":"79261234567",'
                            '"line_number":"74951234567"}')
    assert form["sign"] == "c73aeafbb42bf01c7836e7db475c96b8abe9a82848ce6f9d4a4f79f66c2bb914"


def test_section_6_recording_link_vector() -> None:
    assert link_sign(TEST_KEY, 1767268800, "MToxMDAwMDAwMDAxOkE6cmVjOjE=", TEST_SALT) == (
        "7549ff64316c15897da070e5f8a8babeb9152b9c4e51da602ce404d64848cfe4"
    )


@pytest.mark.parametrize("vector", sorted(SECTION_7))
def test_one_byte_changed_is_refused(vector: str) -> None:
    text = VECTORS[vector]
    for i in (0, len(text) // 2, len(text) - 1):
        tampered = text[:i] + chr(ord(text[i]) ^ 1) + text[i + 1:]
        assert not verify(TEST_KEY, tampered, TEST_SALT, SECTION_7[vector])


def test_wrong_salt_or_garbage_signature_is_refused() -> None:
    assert not verify(TEST_KEY, VECTORS["A1"], "other-salt", SECTION_7["A1"])
    assert not verify(TEST_KEY, VECTORS["A1"], TEST_SALT, "not hex at all ✓")
    assert not verify(TEST_KEY, VECTORS["A1"], TEST_SALT, "")
