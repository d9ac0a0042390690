"""Separating a reply's new text from the quoted mail and the signature (both kept)."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["SplitText", "split_reply"]

_ATTRIBUTION = re.compile(
    r"(^On\b.{0,200}\bwrote:\s*$)"
    r"|(\b(пишет|написал|написала|написал\(а\)|писал|писала)\s*:\s*$)"
    r"|(^-{2,}\s*(Original Message|Исходное сообщение|Reply message|Ответ на сообщение)\s*-{2,}\s*$)",
    re.IGNORECASE,
)
_HEADER_FROM = re.compile(r"^\s*\*?(From|От|Від|Von|De)\s*:\*?\s*\S", re.IGNORECASE)
_HEADER_NEXT = re.compile(
    r"^\s*\*?(Sent|Date|Отправлено|Дата|To|Кому|Subject|Тема|Cc|Копия|Gesendet|Envoyé)\s*:", re.IGNORECASE
)
_SIGNATURE = re.compile(r"^(--|-- |—)\s*$")
_RULE = re.compile(r"^\s*_{10,}\s*$")


@dataclass(frozen=True, slots=True)
class SplitText:
    new: str  # what the author wrote this time
    signature: str  # after the "-- " line
    quote: str  # the mail being answered, from its attribution line on

    @property
    def quoted(self) -> str:
        """Signature and quote together: the part kept but shown apart."""
        return "\n\n".join(p for p in (self.signature, self.quote) if p)


def _is_quote(line: str) -> bool:
    return line.lstrip().startswith(">")


def _header_block(lines: list[str], i: int) -> bool:
    """An Outlook-style "From: / Sent: / To: / Subject:" block starts at line i."""
    if not _HEADER_FROM.match(lines[i]):
        return False
    following = [ln for ln in lines[i + 1: i + 6] if ln.strip()]
    return sum(1 for ln in following if _HEADER_NEXT.match(ln)) >= 2


def _cut(lines: list[str]) -> int | None:
    """Where the quoted part starts: an attribution line, a header block, or a rule before one."""
    for i, line in enumerate(lines):
        stripped = line.strip()
        if not stripped or _is_quote(line):
            continue
        joined = f"{stripped} {lines[i + 1].strip()}" if i + 1 < len(lines) else stripped
        if _ATTRIBUTION.search(stripped) or (stripped.startswith("On ") and _ATTRIBUTION.search(joined)):
            return i
        if stripped.endswith(":") and "@" in stripped and _next_is_quote(lines, i):
            return i  # "пн, 1 янв. 2024 г. в 10:00, Иван <ivan@example.com>:"
        if _header_block(lines, i):
            return i - 1 if i > 0 and _RULE.match(lines[i - 1]) else i
    return None


def _next_is_quote(lines: list[str], i: int) -> bool:
    for line in lines[i + 1: i + 3]:
        if line.strip():
            return _is_quote(line)
    return False


def _split_signature(lines: list[str]) -> tuple[list[str], list[str]]:
    for i in range(len(lines) - 1, -1, -1):
        if _SIGNATURE.match(lines[i]) and len(lines) - i <= 15:
            return lines[:i], lines[i + 1:]
    return lines, []


def split_reply(text: str) -> SplitText:
    """Top-posted replies are cut at the attribution; interleaved ones lose only their `>` lines."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = _cut(lines)
    if cut is not None:
        head, quote = lines[:cut], lines[cut:]
    elif any(_is_quote(ln) for ln in lines):
        head = [ln for ln in lines if not _is_quote(ln)]
        quote = [ln for ln in lines if _is_quote(ln)]
    else:
        head, quote = lines, []
    head, signature = _split_signature(head)
    return SplitText(
        new="\n".join(head).strip(),
        signature="\n".join(signature).strip(),
        quote="\n".join(quote).strip(),
    )
