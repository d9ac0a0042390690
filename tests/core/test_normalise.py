"""Phone and e-mail normalisation: properties over generated spellings."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gateway.core.normalise import find_phones, is_internal_number, normalise_email, normalise_phone

RU_MOBILE = st.integers(min_value=900_000_0000, max_value=999_999_9999).map(str)  # 10 national digits
ANY_PLUS7 = st.integers(min_value=200_000_0000, max_value=999_999_9999).map(str)  # "8 10 ..." would dial abroad


def spellings(national: str) -> list[str]:
    a, b, c, d = national[:3], national[3:6], national[6:8], national[8:]
    return [
        f"+7{national}", f"7{national}", f"8{national}", national, f"8 ({a}) {b}-{c}-{d}", f"+7 {a} {b} {c} {d}",
        f"+7({a}){b}{c}{d}", f"8-{a}-{b}-{c}-{d}", f" +7 {a} {b}-{c}-{d} ", f"+7 ({a}) {b}-{c}-{d} доб. 123",
        f"8 10 7 {a} {b}{c}{d}", f"7{national} ext 12",
    ]


def e164_if_valid(national: str) -> str | None:
    """What phonenumbers itself says of +7<national>: its E.164 when valid, else None (an unallocated range)."""
    number = phonenumbers.parse(f"+7{national}")
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@settings(max_examples=300)
@given(st.one_of(RU_MOBILE, ANY_PLUS7))
@example("9161234567")  # valid: every spelling is +79161234567
@example("2000000000")  # unallocated: every spelling is None
def test_every_spelling_of_one_number_gives_one_e164(national: str) -> None:
    results = {normalise_phone(s, "RU") for s in spellings(national)}
    assert results == {e164_if_valid(national)}


def test_the_examples_cover_both_branches() -> None:
    assert e164_if_valid("9161234567") == "+79161234567" and e164_if_valid("2000000000") is None


@given(st.one_of(RU_MOBILE, ANY_PLUS7), st.integers(min_value=0, max_value=11))
@example("9161234567", 4)
@example("2000000000", 4)
def test_a_normalised_phone_normalises_to_itself(national: str, spelling: int) -> None:
    once = normalise_phone(spellings(national)[spelling], "RU")
    assert once == e164_if_valid(national)
    if once is not None:
        assert normalise_phone(once, "RU") == once


@given(st.emails())
def test_a_normalised_email_normalises_to_itself(email: str) -> None:
    once = normalise_email(f" <{email.upper()}> ")
    assert once == email.lower()
    assert normalise_email(once) == once


@given(st.text(max_size=40))
def test_normalisation_is_idempotent(raw: str) -> None:
    """Any text: a result, when there is one, is a fixed point (the two tests above prove results exist)."""
    once = normalise_phone(raw, "RU")
    assert once is None or normalise_phone(once, "RU") == once
    email = normalise_email(raw)
    assert email is None or normalise_email(email) == email


@given(st.integers(min_value=0, max_value=99999).map(str), st.sampled_from(["", " ", "-", "доб "]))
def test_extensions_never_become_phones(ext: str, prefix: str) -> None:
    assert normalise_phone(prefix + ext, "RU") is None
    if ext:
        assert is_internal_number(ext)


@given(st.from_regex(r"sip:[a-z0-9]{1,12}@[a-z0-9]{1,12}\.mangosip\.ru", fullmatch=True))
def test_sip_uris_never_become_phones(uri: str) -> None:
    assert normalise_phone(uri, "RU") is None


def test_known_spellings() -> None:
    assert normalise_phone("+7 (495) 123-45-67 доб. 123") == "+74951234567"
    assert normalise_phone("87011234567") == "+77011234567"  # Kazakhstan shares +7
    assert normalise_phone("8916123456") is None  # a truncated number is garbage
    assert normalise_phone("7800123456789") is None
    assert normalise_phone("+380441234567") == "+380441234567"


@given(st.emails())
def test_emails_trimmed_and_lowercased(email: str) -> None:
    assert normalise_email(f"  {email.upper()} ") == email.lower()


def test_phones_found_in_text() -> None:
    assert find_phones("позвоните 8 (916) 123-45-67 или +7 495 123 45 67, доб. 12") == ["+79161234567", "+74951234567"]


@pytest.mark.parametrize("spelling", ["+7{}", "7{}", "8{}", "{}", " +7{} "])
def test_every_mobile_range_agrees_with_the_metadata(spelling: str) -> None:
    """The usual spellings of +79… are read without phonenumbers: each 9XX range, at its ends and at twenty
    numbers inside, gives what phonenumbers' own parse gives."""
    draw = random.Random(7)
    for prefix in range(900, 1000):
        for rest in ("0000000", "9999999", *(f"{draw.randrange(10_000_000):07d}" for _ in range(20))):
            national = f"{prefix}{rest}"
            text = spelling.format(national)
            full = phonenumbers.parse(text, "RU")
            expected = phonenumbers.format_number(full, phonenumbers.PhoneNumberFormat.E164) \
                if phonenumbers.is_valid_number(full) else None
            assert normalise_phone.__wrapped__(text, "RU") == expected, text


def test_a_mobile_without_plus_outside_russia_is_left_to_phonenumbers() -> None:
    assert normalise_phone("+79161234567", "DE") == "+79161234567"
    assert normalise_phone("89161234567", "DE") == "+4989161234567"  # a Munich number there
