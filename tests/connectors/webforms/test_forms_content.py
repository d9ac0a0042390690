"""Content sniffing and names: what a file is decides how it is stored, not what it claims."""

from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from gateway.connectors.webforms.content import ACTIVE, EXECUTABLE, UnsupportedMediaType, judge, sniff
from gateway.connectors.webforms.filename import MAX_NAME_CHARS, safe_filename
from tests.connectors.webforms.forms_requests import ELF, EXE, HTML, PDF, PNG

DEFAULT = ["image/*", "application/pdf", "text/plain", "application/zip", "application/msword",
           "application/vnd.openxmlformats-officedocument.*"]


def docx() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


@pytest.mark.parametrize(("head", "kind"), [
    (PDF, "application/pdf"), (PNG, "image/png"), (EXE, "application/x-executable"),
    (ELF, "application/x-executable"), (b"#!/bin/sh\nrm -rf /", "application/x-executable"),
    (HTML, "text/html"), (b"  <svg xmlns='http://www.w3.org/2000/svg'><script/></svg>", "image/svg+xml"),
    (b"<?xml version='1.0'?><a/>", "application/xml"), ("Привет, мир".encode(), "text/plain"),
    ("Привет".encode("cp1251"), "text/plain"), (b"\x00\x01\x02\x03binary", "application/octet-stream"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "application/x-ole-storage"),
])
def test_sniff(head: bytes, kind: str) -> None:
    assert sniff(head) == kind


@pytest.mark.parametrize(("head", "declared", "stored"), [
    (PDF, "application/pdf", "application/pdf"),
    (PDF, "application/octet-stream", "application/pdf"),
    (PNG, "image/jpeg", "image/png"),  # stored as what it is
    (PNG, "application/pdf", "image/png"),
    (b"a,b\n1,2\n", "text/csv", "text/plain"),  # text/csv is not allowed, the text is
    (docx(), "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "application/msword", "application/msword"),
])
def test_judge_accepts(head: bytes, declared: str, stored: str) -> None:
    assert judge(head, declared, DEFAULT) == stored


@pytest.mark.parametrize(("head", "declared", "allowed"), [
    (EXE, "application/pdf", DEFAULT),
    (EXE, "application/octet-stream", ["*/*"]),  # executables never, whatever the form says
    (ELF, "image/png", ["*/*", "application/x-executable"]),
    (HTML, "application/pdf", DEFAULT),
    (HTML, "text/plain", ["text/*"]),  # active content needs its exact type listed
    (b"<svg onload='x()'/>", "image/svg+xml", ["image/*"]),
    (b"hello", "application/x-msdownload", DEFAULT),  # the declared type counts too
    (b"\x00\x01binary", "application/octet-stream", DEFAULT),
])
def test_judge_refuses(head: bytes, declared: str, allowed: list[str]) -> None:
    with pytest.raises(UnsupportedMediaType):
        judge(head, declared, allowed)


def test_active_content_passes_when_named_exactly() -> None:
    assert judge(HTML, "text/html", ["text/html"]) == "text/html"


@given(st.binary(max_size=300), st.text(max_size=40))
@example(b"hello", "")  # taken as what the bytes are
@example(PNG, "image/png")  # taken as declared
@example(EXE, "")  # refused
def test_judge_raises_only_our_error(head: bytes, declared: str) -> None:
    try:
        stored = judge(head, declared, DEFAULT)
    except UnsupportedMediaType as exc:
        assert "file type not accepted" in str(exc)
        return
    declared_type = declared.split(";")[0].strip().lower()
    assert stored in (sniff(head), declared_type)  # what the bytes are, or what the sender said they are
    assert any(stored == p or (p.endswith("*") and stored.startswith(p[:-1])) for p in DEFAULT), stored
    assert stored not in EXECUTABLE | ACTIVE


@given(st.text(max_size=400))
def test_safe_names_are_never_paths_or_controls(raw: str) -> None:
    name = safe_filename(raw)
    assert 0 < len(name) <= MAX_NAME_CHARS
    assert not any(c in name for c in '/\\<>:"|?*\x00\n\r\u202e\u2066')
    assert name not in (".", "..") and not name.endswith((" ", "."))
    assert name.split(".")[0].upper() not in ("CON", "PRN", "AUX", "NUL", "COM1", "LPT1")
