"""Decoding mail text in whatever charset it declares, or the one it really uses.

Russian mail often lies about its charset: koi8-r, windows-1251, cp866 and utf-8 are
mislabelled as each other, and some labels are unknown to Python (`LookupError`).
The declared charset competes with UTF-8 and the usual Cyrillic ones on how plausible the
decoded text looks; the label and valid UTF-8 get a head start, so they win unless another
reading is clearly better. Other declared charsets (CJK, Greek...) are trusted when they decode.
"""

from __future__ import annotations

import codecs
import math
import re
import unicodedata

__all__ = ["decode_bytes", "lookup_charset", "plausibility"]

# Russian letter frequencies, per cent (National Corpus of the Russian Language); ё raised: "счёт" is in
# every sales mail.
_FREQ = {
    "о": 10.97, "е": 8.45, "а": 8.01, "и": 7.35, "н": 6.70, "т": 6.26, "с": 5.47, "р": 4.73, "в": 4.54,
    "л": 4.40, "к": 3.49, "м": 3.21, "д": 2.98, "п": 2.81, "у": 2.62, "я": 2.01, "ы": 1.90, "ь": 1.74,
    "г": 1.70, "з": 1.65, "б": 1.59, "ч": 1.44, "й": 1.21, "х": 0.97, "ж": 0.94, "ш": 0.73, "ю": 0.64,
    "ц": 0.48, "щ": 0.36, "э": 0.32, "ф": 0.26, "ъ": 0.04, "ё": 0.20,  # 0.04 in print
}
_LOGP = {ch: math.log(p / 100) for ch, p in _FREQ.items()}
_TYPOGRAPHY = set("«»—–…№“”„‘’•·°±€\u00a0")
_ALIASES = {
    "x-cp1251": "cp1251", "win-1251": "cp1251", "cp-1251": "cp1251", "windows1251": "cp1251",
    "x-win-1251": "cp1251", "koi8r": "koi8-r", "x-koi8-r": "koi8-r", "koi-8-r": "koi8-r", "koi8": "koi8-r",
    "x-cp866": "cp866", "dos-866": "cp866", "ibm-866": "cp866", "utf8": "utf-8", "x-unicode-2-0-utf-8": "utf-8",
    "unicode-1-1-utf-8": "utf-8", "unknown-8bit": "", "x-unknown": "", "unknown": "", "default": "",
}
# Labels that are often wrong about Cyrillic text: test the alternatives against them.
_DOUBTFUL = {"cp1251", "koi8-r", "koi8-u", "cp866", "iso8859-5", "iso8859-1", "cp1252", "ascii", "mac-cyrillic",
             "iso8859-15", "utf-8"}
_CYRILLIC = ("cp1251", "koi8-r", "cp866")
_SAMPLE = 65536
_MARGIN = 1.0  # how much better (mean log-likelihood per char) an alternative must be to override the label
_CAPS = 0.4  # whole words in capitals: rarer than lower case, but real (subjects, company names)
_UTF8_BONUS = 3.0  # single-byte Cyrillic text is rarely valid UTF-8 by accident (cp866 sometimes is)
_NON_ASCII = re.compile(rb"[\x80-\xff]")


def lookup_charset(label: str | None) -> str | None:
    """The Python codec for a MIME charset label, or None when unknown or not a text encoding."""
    if not label:
        return None
    name = label.strip().strip("\"'").lower()
    name = _ALIASES.get(name, name)
    if not name:
        return None
    try:
        codec = codecs.lookup(name)
    except (LookupError, ValueError):
        return None
    if not getattr(codec, "_is_text_encoding", True):  # base64, zlib, rot13...: not charsets
        return None
    return codec.name


def _script(ch: str) -> str:
    if "a" <= ch.lower() <= "z" or ("\u00c0" <= ch <= "\u024f" and ch.isalpha()):
        return "latin"
    if "\u0400" <= ch <= "\u04ff":
        return "cyrillic"
    return "other"


def _word_score(word: str) -> tuple[float, int]:
    """(log-likelihood, count) of a word's non-ASCII letters, less penalties for odd capitals and mixed scripts."""
    high = [ch for ch in word if ch >= "\x80"]
    if not high:
        return 0.0, 0
    accented = all(_script(ch) == "latin" for ch in word) and len(high) < len(word)  # "Grüße", not "äîáðûé"
    score = sum(_LOGP.get(ch.lower(), -3.5 if accented else -6.0) for ch in high)
    if not (word.islower() or word.isupper() or word.istitle()):
        score -= 3.0 * len(high)  # "дНАПШИ": capitals in the middle of a word
    elif word.isupper() and len(word) > 1:
        score -= _CAPS * len(high)  # whole words in capitals are rarer than in lower case
    if len({_script(ch) for ch in word} - {"other"}) > 1:
        score -= 5.0 * len(high)  # Latin and Cyrillic letters in one word
    return score, len(high)


def _other_score(ch: str) -> float:
    if ch in _TYPOGRAPHY:
        return -3.5
    if ch == "\ufffd" or unicodedata.category(ch).startswith("C"):
        return -15.0
    return -8.0


_WORD = re.compile(r"[^\W\d_]+")


def plausibility(text: str) -> float:
    """Mean log-likelihood of the non-ASCII characters as Russian or Latin text (higher is better)."""
    total, count, pos = 0.0, 0, 0
    for m in _WORD.finditer(text):
        total += _gap_score(text, pos, m.start())
        score, n = _word_score(m.group())
        count += n + sum(1 for ch in text[pos:m.start()] if ch >= "\x80")
        total += score
        pos = m.end()
    total += _gap_score(text, pos, len(text))
    count += sum(1 for ch in text[pos:] if ch >= "\x80")
    return total / count if count else 0.0


def _gap_score(text: str, start: int, end: int) -> float:
    """Non-letters between words; a symbol wedged between two letters ("Gr№e") costs more."""
    total = 0.0
    for i in range(start, end):
        ch = text[i]
        if ch >= "\x80":
            total += _other_score(ch)
            if 0 < i < len(text) - 1 and text[i - 1].isalpha() and text[i + 1].isalpha():
                total -= 4.0
    return total


def _strict(data: bytes, codec: str, *, final: bool = True) -> str | None:
    """`data` decoded without errors (a cut-off last sequence allowed when not `final`), or None."""
    try:
        return codecs.getincrementaldecoder(codec)().decode(data, final=final)
    except (UnicodeDecodeError, LookupError):
        return None


def _best(sample: bytes, declared: str | None, *, final: bool) -> str:
    """The codec under which `sample` reads best; the label and valid UTF-8 get a head start."""
    scores: dict[str, float] = {}
    for codec in dict.fromkeys([*([declared] if declared else []), "utf-8", *_CYRILLIC, "cp1252"]):
        text = _strict(sample, codec, final=final)
        if text is None and codec == declared:
            text = sample.decode(codec, errors="replace")  # a mostly valid label keeps a chance
        if text is not None:
            bonus = (_MARGIN if codec == declared else 0.0) + (_UTF8_BONUS if codec == "utf-8" else 0.0)
            scores[codec] = plausibility(text) + bonus
    return max(scores, key=lambda c: scores[c]) if scores else "cp1252"


def decode_bytes(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Decode `data`, trusting `declared` only as far as it deserves; returns (text, codec used)."""
    codec = lookup_charset(declared)
    if not _NON_ASCII.search(data):
        if codec is None or codec in _DOUBTFUL:
            return data.decode("ascii"), "ascii"
        return data.decode(codec, errors="replace"), codec
    sample, final = data[:_SAMPLE], len(data) <= _SAMPLE
    if codec is not None and codec not in _DOUBTFUL:
        if _strict(sample, codec, final=final) is not None:
            return data.decode(codec, errors="replace"), codec
        codec = None  # a declaration that does not even decode
    chosen = _best(sample, codec, final=final)
    return data.decode(chosen, errors="replace"), chosen
