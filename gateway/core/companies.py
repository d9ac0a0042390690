"""Companies as one: a name without its legal form and quotes, and the INN (the Russian tax number) checked."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["company_key", "find_inn", "valid_inn"]

_LEGAL_FORMS = (
    "общество с ограниченной ответственностью", "публичное акционерное общество", "закрытое акционерное общество",
    "открытое акционерное общество", "акционерное общество", "индивидуальный предприниматель",
    "ооо", "оао", "зао", "пао", "ао", "ип", "нко", "ано", "гк", "пк", "llc", "ltd", "inc", "gmbh", "jsc",
)
_FORM_WORDS = re.compile(r"\b(?:" + "|".join(re.escape(f) for f in _LEGAL_FORMS) + r")\b")
_NOT_WORD = re.compile(r"[^\w]+")
_INN_IN_TEXT = re.compile(r"(?i)\bинн\b\D{0,5}(\d{12}|\d{10})(?!\d)")
_INN_KEYS = {"inn", "инн", "company_inn", "tax_id"}


def company_key(name: str | None) -> str | None:
    """«ООО "Ромашка"», "Ромашка, ООО" and "ромашка" are one company: "ромашка"."""
    if not name:
        return None
    text = name.lower().replace("ё", "е")
    text = _FORM_WORDS.sub(" ", _NOT_WORD.sub(" ", text))
    key = " ".join(text.split())
    return key[:512] or None


def valid_inn(value: str | None) -> bool:
    """Ten digits (an organisation) or twelve (a person), with their check digits right."""
    if not value or not value.isdigit() or len(value) not in (10, 12):
        return False
    digits = [int(c) for c in value]

    def check(weights: Iterable[int], upto: int) -> int:
        return sum(w * d for w, d in zip(weights, digits[:upto], strict=True)) % 11 % 10

    if len(digits) == 10:
        return check((2, 4, 10, 3, 5, 9, 4, 6, 8), 9) == digits[9]
    return (check((7, 2, 4, 10, 3, 5, 9, 4, 6, 8), 10) == digits[10]
            and check((3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8), 11) == digits[11])


def _fields(custom: dict[str, Any]) -> Iterable[tuple[str, Any]]:
    yield from custom.items()
    fields = custom.get("fields")
    if isinstance(fields, dict):
        yield from fields.items()
    elif isinstance(fields, list):
        yield from ((str(f.get("name", "")), f.get("value")) for f in fields if isinstance(f, dict))


def find_inn(custom: dict[str, Any], texts: Iterable[str | None]) -> str | None:
    """An INN a form field named so, or a text ("ИНН 7707083893"), carries; only a valid one."""
    for key, value in _fields(custom):
        candidate = re.sub(r"\D", "", str(value or ""))
        if key.strip().lower() in _INN_KEYS and valid_inn(candidate):
            return candidate
    for text in texts:
        for match in _INN_IN_TEXT.finditer(text or ""):
            if valid_inn(match.group(1)):
                return match.group(1)
    return None
