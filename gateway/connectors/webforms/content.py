"""What an uploaded file really is, judged by its first bytes, and whether a form takes it.

The declared type is the sender's claim; the content decides. A `.pdf` whose bytes are
HTML is HTML, an executable is refused whatever the form allows, and markup that a browser
would run (HTML, SVG, XML, scripts) passes only when a form names its type exactly, never
through a wildcard such as `image/*`. Archives are recognised by their header and stored
as they are: nothing here unpacks them.
"""

from __future__ import annotations

import fnmatch

import filetype

from gateway.core.errors import PayloadError

__all__ = ["GENERIC", "UnsupportedMediaType", "compatible", "judge", "sniff"]

GENERIC = frozenset({"", "application/octet-stream", "binary/octet-stream", "application/x-download",
                     "application/force-download", "application/unknown"})
EXECUTABLE = frozenset({"application/x-msdownload", "application/x-executable", "application/x-mach-binary",
                        "application/x-sharedlib", "application/x-shellscript", "application/wasm",
                        "application/x-shockwave-flash", "application/x-google-chrome-extension",
                        "application/x-deb", "application/x-rpm", "application/vnd.microsoft.portable-executable",
                        "application/x-dosexec", "application/java-vm", "application/java-archive"})
ACTIVE = frozenset({"text/html", "application/xhtml+xml", "image/svg+xml", "application/xml", "text/xml",
                    "application/javascript", "text/javascript"})
_ALIASES = {
    "image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png",
    "application/x-zip-compressed": "application/zip", "application/x-zip": "application/zip",
    "application/x-pdf": "application/pdf", "text/x-csv": "text/csv", "application/csv": "text/csv",
}
_CONTAINERS = {  # sniffed container -> declared types it may carry
    "application/zip": ("application/vnd.openxmlformats-officedocument.*", "application/vnd.oasis.opendocument.*",
                        "application/epub+zip", "application/vnd.ms-*"),
    "application/x-ole-storage": ("application/msword", "application/vnd.ms-*", "application/vnd.visio"),
    "text/plain": ("text/*", "application/json", "application/rtf"),
}
# WHATWG MIME sniffing: a body starting with one of these tags is treated as HTML by browsers.
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<script", b"<iframe", b"<h1", b"<div", b"<font",
                b"<table", b"<a ", b"<a>", b"<style", b"<title", b"<b ", b"<b>", b"<body", b"<br", b"<p ", b"<p>",
                b"<!--", b"<meta", b"<form", b"<img", b"<object", b"<embed", b"<svg")
_HTML_ANYWHERE = (b"<script", b"<html", b"<iframe", b"<body", b"<object", b"<embed")


class UnsupportedMediaType(PayloadError):
    """A file of a type the form does not take (HTTP 415)."""

    status = 415


def _normal(content_type: str | None) -> str:
    base = (content_type or "").split(";", 1)[0].strip().lower()
    return _ALIASES.get(base, base)


def _text_kind(head: bytes) -> str | None:
    if b"\x00" in head:
        return None
    body = head.removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    if body.startswith(_HTML_STARTS) or any(marker in body for marker in _HTML_ANYWHERE):
        return "image/svg+xml" if b"<svg" in body and b"<html" not in body else "text/html"
    if b"<svg" in body:
        return "image/svg+xml"
    if body.startswith(b"<?xml"):
        return "application/xml"
    controls = sum(1 for b in head if b < 32 and b not in b"\t\n\r\f\b\x1b")
    return "text/plain" if controls * 20 <= len(head) else None


def sniff(head: bytes) -> str:
    """The type of a file from its first bytes (up to 8 KiB); `application/octet-stream` when unknown."""
    if head.startswith((b"MZ", b"\x7fELF", b"\xfe\xed\xfa", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe",
                        b"\xca\xfe\xba\xbe", b"#!")):
        return "application/x-executable"
    guessed = filetype.guess_mime(head)
    if guessed:
        return _normal(guessed)
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "application/x-ole-storage"
    if not head:
        return "text/plain"
    return _text_kind(head) or "application/octet-stream"


def _allowed(content_type: str, allowed: list[str]) -> bool:
    if content_type in EXECUTABLE:
        return False
    patterns = [_normal(p) for p in allowed]
    if content_type in ACTIVE:
        return content_type in patterns
    return any(fnmatch.fnmatchcase(content_type, p) for p in patterns)


def compatible(sniffed: str, declared: str) -> bool:
    """Whether a declared type is a fair description of content sniffed as `sniffed`."""
    declared = _normal(declared)
    if declared in GENERIC or declared == sniffed:
        return True
    if declared in ACTIVE or declared in EXECUTABLE:
        return False
    return any(fnmatch.fnmatchcase(declared, p) for p in _CONTAINERS.get(sniffed, ()))


def judge(head: bytes, declared: str | None, allowed: list[str]) -> str:
    """The type to store a file as; raises UnsupportedMediaType when the form does not take it."""
    sniffed = sniff(head)
    claim = _normal(declared)
    fits = compatible(sniffed, claim)
    stored = claim if fits and claim not in GENERIC and _allowed(claim, allowed) else sniffed
    if not _allowed(stored, allowed):
        raise UnsupportedMediaType(f"file type not accepted: {stored}", declared=claim or None)
    if not fits and claim not in GENERIC and not _allowed(claim, allowed):
        raise UnsupportedMediaType(f"declared file type not accepted: {claim}", detected=stored)
    return stored
