"""Normalise identities: phones to E.164, e-mails trimmed and lower-cased, messenger ids as given."""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

from gateway.core.models import IdentityKind

__all__ = ["find_phones", "is_internal_number", "normalise_email", "normalise_identity", "normalise_phone"]

_EXT_WORDS = re.compile(r"(доб\.?|добавочный|вн\.?|ext\.?|extension|x)\s*\d+\s*$", re.I)
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
# A Russian mobile as PBXs, forms and people most often write it: +79…, 79… or 89… (Mango's spelling), 9….
# Every number of +7 9XX XXX-XX-XX is valid but some of +7 93X (the tests check each range against
# phonenumbers' metadata); those, and every other spelling, go through phonenumbers.
_RU_MOBILE = re.compile(r"(\+7|7|8)?(9[0-24-9]\d{8})")


def is_internal_number(raw: str) -> bool:
    """A PBX extension (2–5 digits) or a SIP URI: an employee, never a client's phone."""
    s = raw.strip().lower()
    if s.startswith(("sip:", "sips:")) or "@" in s:
        return True
    digits = re.sub(r"\D", "", s)
    return 0 < len(digits) <= 5


@lru_cache(maxsize=4096)
def normalise_phone(raw: str, region: str = "RU") -> str | None:
    """E.164 for a valid number in any usual spelling; None for extensions, SIP URIs and garbage."""
    if not raw:
        return None
    text = raw.strip()
    mobile = _RU_MOBILE.fullmatch(text)
    if mobile and (mobile.group(1) == "+7" or region == "RU"):  # the usual case, without parsing (~40 us)
        return "+7" + mobile.group(2)
    if is_internal_number(raw):
        return None
    digits = re.sub(r"\D", "", _EXT_WORDS.sub("", text))
    if len(digits) < 6 or len(digits) > 17:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        # "7XXXXXXXXXX" without "+" in a region that is not +7 (Mango sends numbers this way)
        if not text.startswith("+") and digits[0] in "78" and len(digits) == 11:
            try:
                number = phonenumbers.parse("+7" + digits[1:], None)
            except phonenumbers.NumberParseException:
                return None
            if not phonenumbers.is_valid_number(number):
                return None
        else:
            return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str | None:
    value = raw.strip().strip("<>").strip().lower()
    if value.startswith("mailto:"):
        value = value[7:]
    return value if _EMAIL.match(value) and len(value) <= 320 else None


def normalise_identity(kind: IdentityKind | str, value: str, region: str = "RU") -> str | None:
    kind = IdentityKind(kind)
    if kind is IdentityKind.PHONE:
        return normalise_phone(value, region)
    if kind is IdentityKind.EMAIL:
        return normalise_email(value)
    if kind is IdentityKind.WHATSAPP:
        digits = re.sub(r"\D", "", value)
        return digits or None
    value = value.strip()
    return value[:320] or None


def find_phones(text: str | None, region: str = "RU", limit: int | None = 5) -> list[str]:
    """Valid phones written in free text (a mail body, a chat message), as E.164, without repeats."""
    found: list[str] = []
    if not text:
        return found
    for match in phonenumbers.PhoneNumberMatcher(text[:20000], region, leniency=phonenumbers.Leniency.VALID):
        e164 = phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
        if e164 not in found:
            found.append(e164)
        if limit is not None and len(found) >= limit:
            break
    return found
