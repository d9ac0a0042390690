"""Attachment names made safe to show and to offer for download.

A sent name is data, never a path: files are stored under their hash in the file store.
The shown name loses any directory part, control and bidi/format characters (so
`invoice\u202efdp.exe` cannot pose as a PDF), characters Windows refuses, reserved
device names (`CON`, `LPT1`...) and excess length; the original is kept beside it.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata

__all__ = ["MAX_NAME_CHARS", "extension_for", "replace_extension", "safe_filename"]

MAX_NAME_CHARS = 120
_MAX_EXT_CHARS = 16
_WINDOWS_FORBIDDEN = re.compile(r'[<>:"/\\|?*]')
_RESERVED = re.compile(r"^(con|prn|aux|nul|clock\$|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³])$", re.I)
_EXTRA_EXTENSIONS = {
    "text/plain": ".txt",
    "image/jpeg": ".jpg",
    "application/zip": ".zip",
    "application/msword": ".doc",
    "application/vnd.ms-excel": ".xls",
    "application/octet-stream": ".bin",
}


def _visible(ch: str) -> bool:
    # Cc: control, Cf: format (bidi overrides and isolates, zero-width, BOM), Cs: surrogates,
    # Co/Cn: private use and unassigned, Zl/Zp: line and paragraph separators.
    return unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def extension_for(content_type: str) -> str:
    """The usual extension of a content type (`.pdf`), or an empty string."""
    return _EXTRA_EXTENSIONS.get(content_type) or mimetypes.guess_extension(content_type, strict=False) or ""


def _split(name: str) -> tuple[str, str]:
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > _MAX_EXT_CHARS - 1 or not ext.isalnum():
        return name, ""
    return stem, "." + ext


def safe_filename(raw: str, content_type: str = "application/octet-stream") -> str:
    """A name to show for an uploaded file: never empty, never a path, at most MAX_NAME_CHARS."""
    name = unicodedata.normalize("NFC", raw)
    name = re.split(r"[/\\]", name)[-1]  # the last path segment only, whatever the separator
    name = "".join(ch for ch in name if _visible(ch))
    name = _WINDOWS_FORBIDDEN.sub("_", name)
    name = re.sub(r"\s+", " ", name).strip(" .")
    stem, ext = _split(name)
    if not name:
        stem, ext = "file", extension_for(content_type)
    if _RESERVED.match(stem.split(".")[0].rstrip(" ")):
        stem = "_" + stem
    stem = stem[: MAX_NAME_CHARS - len(ext)].rstrip(" .") or "file"
    return stem + ext


def replace_extension(name: str, content_type: str) -> str:
    """`name` with the usual extension of `content_type` (a file stored as what it really is)."""
    stem, _ext = _split(name)
    ext = extension_for(content_type)
    return stem[: MAX_NAME_CHARS - len(ext)] + ext
