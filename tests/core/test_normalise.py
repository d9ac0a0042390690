"""Phone and e-mail normalisation: properties over generated spellings."""

from __future__ import annotations

import phonenumbers
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.core.normalise import find_phones, is_internal_number, normalise_email, normalise_phone

RU_MOBILE = st.integers(min_value=900_000_0000, max_value=999_999_9999).map(str)  # 10 national digits


def spellings(national: str) -> list[str]:
    a, b, c, d = national[:3], national[3:6], national[6:8], national[8:]
    return [
        f"+7{national}", f"7{national}", f"8{national}", national, f"8 ({a}) {b}-{c}-{d}", f"+7 {a} {b} {c} {d}",
        f"+7({a}){b}{c}{d}", f"8-{a}-{b}-{c}-{d}", f" +7 {a} {b}-{c}-{d} ", f"+7 ({a}) {b}-{c}-{d} доб. 123",
        f"8 10 7 {a} {b}{c}{d}", f"7{national} ext 12",
    ]


@settings(max_examples=200)
@given(RU_MOBILE)
def test_every_spelling_of_one_number_gives_one_e164(national: str) -> None:
    results = {normalise_phone(s, "RU") for s in spellings(national)}
    expected = phonenumbers.format_number(phonenumbers.parse(f"+7{national}"), phonenumbers.PhoneNumberFormat.E164)
    assert results == {expected} or results == {None}  # unallocated ranges are invalid in every spelling


@given(st.text(max_size=40))
def test_normalisation_is_idempotent(raw: str) -> None:
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
    got = normalise_email(f"  {email.upper()} ")
    assert got is None or got == email.lower()


def test_phones_found_in_text() -> None:
    assert find_phones("позвоните 8 (916) 123-45-67 или +7 495 123 45 67, доб. 12") == ["+79161234567", "+74951234567"]
