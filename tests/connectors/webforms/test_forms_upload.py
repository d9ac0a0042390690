"""The streaming multipart reader: limits, truncated bodies, temporary files, names, content."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.connectors.webforms.content import UnsupportedMediaType
from gateway.connectors.webforms.upload import UploadLimits, header_params, read_multipart
from gateway.core.errors import GatewayError, PayloadError, PayloadTooLarge
from gateway.store.files import FileStore
from tests.connectors.webforms.forms_requests import (
    BOUNDARY,
    EXE,
    HTML,
    PDF,
    PNG,
    Body,
    FilePart,
    multipart,
    stored_files,
    temp_files,
)

ALLOWED = ["image/*", "application/pdf", "text/plain", "application/zip"]


def limits(**kw: object) -> UploadLimits:
    values: dict = {"max_bytes": 1 << 20, "max_files": 5, "allowed_types": ALLOWED, **kw}
    return UploadLimits(**values)


@pytest.fixture
def files(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "files")


async def read(files: FileStore, body: bytes | Body, **kw: object):
    source = body if isinstance(body, Body) else Body(body)
    return await read_multipart(source.stream(), BOUNDARY.encode(), files, limits(**kw))


async def test_fields_and_a_file_are_read_and_committed(files: FileStore) -> None:
    body = multipart([("name", "Иван"), ("phone", "+7 916 123-45-67")], [FilePart("brief", "ТЗ.pdf", PDF)])
    upload = await read(files, body)
    assert upload.fields == {"name": ["Иван"], "phone": ["+7 916 123-45-67"]}
    assert len(temp_files(files)) == 1  # still temporary until committed
    [f] = upload.commit()
    assert (f.name, f.content_type, f.size) == ("ТЗ.pdf", "application/pdf", len(PDF))
    assert files.read(f.id or "") == PDF
    assert temp_files(files) == []


async def test_one_byte_chunks_give_the_same_result(files: FileStore) -> None:
    body = multipart([("a", "1"), ("a", "2")], [FilePart("f", "x.png", PNG, "image/png")])
    upload = await read(files, Body(body, chunk=1))
    [f] = upload.commit()
    assert upload.fields == {"a": ["1", "2"]}
    assert (f.content_type, files.read(f.id or "")) == ("image/png", PNG)


async def test_over_the_request_limit_is_refused_early_and_leaves_nothing(files: FileStore) -> None:
    limit = 256 * 1024
    body = Body(multipart([("name", "x")], [FilePart("f", "big.pdf", PDF + b"0" * (4 * limit))]), chunk=16 * 1024)
    with pytest.raises(PayloadTooLarge):
        await read(files, body, max_bytes=limit)
    assert body.consumed <= limit + body.chunk  # refused before much more than the cap was read
    assert temp_files(files) == [] and stored_files(files) == []


async def test_one_byte_over_the_limit_is_413(files: FileStore) -> None:
    body = multipart([("name", "x")])
    await read(files, body, max_bytes=len(body))
    with pytest.raises(PayloadTooLarge):
        await read(files, body, max_bytes=len(body) - 1)


async def test_too_many_files_is_413_and_leaves_nothing(files: FileStore) -> None:
    body = multipart(files=[FilePart("f", f"{i}.txt", b"hello", "text/plain") for i in range(3)])
    with pytest.raises(PayloadTooLarge, match="more than 2 files"):
        await read(files, body, max_files=2)
    assert temp_files(files) == [] and stored_files(files) == []


async def test_fields_over_their_limit_are_413(files: FileStore) -> None:
    with pytest.raises(PayloadTooLarge):
        await read(files, multipart([("text", "я" * 4000)]), max_field_bytes=1000)
    with pytest.raises(PayloadTooLarge):
        await read(files, multipart([(f"f{i}", "1") for i in range(20)]), max_fields=10)


@pytest.mark.parametrize("cut", [10, 100, -40, -10, -3])
async def test_a_truncated_body_is_400_and_leaves_nothing(files: FileStore, cut: int) -> None:
    body = multipart([("name", "Иван")], [FilePart("f", "a.pdf", PDF * 20)])
    with pytest.raises(PayloadError) as info:
        await read(files, body[:cut])
    assert info.value.status == 400 and "multipart" in info.value.message
    assert temp_files(files) == [] and stored_files(files) == []


async def test_a_body_without_the_closing_boundary_is_truncated(files: FileStore) -> None:
    with pytest.raises(PayloadError, match="truncated"):
        await read(files, multipart([("a", "1")], [FilePart("f", "a.txt", b"hi")], close=False))
    assert temp_files(files) == []


@pytest.mark.parametrize("body", [b"not multipart at all", b"--" + BOUNDARY.encode() + b"\r\nno-colon-header\r\n\r\n",
                                  b"\r\n\r\n--other--\r\n"])
async def test_malformed_bodies_are_400(files: FileStore, body: bytes) -> None:
    with pytest.raises(PayloadError):
        await read(files, body)
    assert temp_files(files) == []


async def test_a_part_without_a_name_is_400(files: FileStore) -> None:
    body = multipart(files=[FilePart("f", "a.txt", b"hi", disposition='form-data; filename="a.txt"')])
    with pytest.raises(PayloadError, match="field name"):
        await read(files, body)


async def test_an_empty_file_input_is_skipped(files: FileStore) -> None:
    upload = await read(files, multipart([("a", "1")], [FilePart("f", "", b"")]))
    assert upload.commit() == [] and temp_files(files) == []


async def test_an_executable_posing_as_pdf_is_415_and_leaves_nothing(files: FileStore) -> None:
    with pytest.raises(UnsupportedMediaType) as info:
        await read(files, multipart(files=[FilePart("f", "invoice.pdf", EXE + b"x" * 20000, "application/pdf")]))
    assert info.value.status == 415
    assert temp_files(files) == [] and stored_files(files) == []


async def test_html_posing_as_pdf_is_refused(files: FileStore) -> None:
    with pytest.raises(UnsupportedMediaType, match="text/html"):
        await read(files, multipart(files=[FilePart("f", "invoice.pdf", HTML, "application/pdf")]))


async def test_a_png_named_pdf_is_stored_as_what_it_is(files: FileStore) -> None:
    upload = await read(files, multipart(files=[FilePart("f", "scan.pdf", PNG, "application/pdf")]))
    [f] = upload.commit()
    assert (f.content_type, f.name, f.declared_type, f.original_name) == (
        "image/png", "scan.png", "application/pdf", "scan.pdf")


async def test_an_archive_is_stored_as_it_is(files: FileStore) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("../../evil.txt", "x" * 100_000)
    archive = buf.getvalue()
    upload = await read(files, multipart(files=[FilePart("f", "docs.zip", archive, "application/x-zip-compressed")]))
    [f] = upload.commit()
    assert f.content_type == "application/zip" and files.read(f.id or "") == archive
    assert stored_files(files) == [files.path(f.id or "")]  # one file: the archive, never unpacked


@pytest.mark.parametrize(("raw", "shown"), [
    ("../../etc/passwd", "passwd.txt"),
    ("a\x00.pdf", "a.txt"),
    ("CON", "_CON.txt"),
    ("x" * 300 + ".txt", "x" * 116 + ".txt"),
    ("C:\\Users\\me\\notes.txt", "notes.txt"),
    ("report\u202etxt.exe", "reporttxt.txt"),
])
async def test_names_are_made_safe_and_files_stay_inside_the_store(files: FileStore, raw: str, shown: str) -> None:
    disposition = 'form-data; name="f"; filename="' + raw.replace("\\", "\\\\").replace('"', '\\"') + '"'
    upload = await read(files, multipart(files=[FilePart("f", raw, b"plain text", "text/plain", disposition)]))
    [f] = upload.commit()
    assert f.name == shown and f.original_name == raw
    [path] = stored_files(files)
    assert path == files.path(f.id or "") and files.root in path.parents


async def test_an_encoded_name_is_decoded(files: FileStore) -> None:
    disposition = ("form-data; name=\"f\"; filename=\"fallback.txt\"; "
                   "filename*=UTF-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.txt")
    upload = await read(files, multipart(files=[FilePart("f", "", b"text", "text/plain", disposition)]))
    assert [f.name for f in upload.commit()] == ["отчёт.txt"]


def test_header_params() -> None:
    assert header_params('multipart/form-data; boundary="a b"; charset=utf-8') == {"boundary": "a b",
                                                                                   "charset": "utf-8"}
    assert header_params("form-data; name=\"a\\\"b\"; filename*=windows-1251''%EF%F0%E8") == {
        "name": 'a"b', "filename": "при"}
    assert header_params("form-data; filename*=nonsense''%FF") == {"filename": "я"}


field_names = st.text(st.characters(codec="utf-8", exclude_characters='"\r\n\\'), max_size=20)
field_values = st.text(st.characters(codec="utf-8"), max_size=200)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fields=st.lists(st.tuples(field_names, field_values), max_size=8),
       names=st.lists(st.text(st.characters(codec="utf-8"), max_size=300), max_size=3), chunk=st.integers(1, 300))
async def test_any_fields_and_names_parse_or_fail_with_our_errors(files: FileStore, fields, names, chunk) -> None:
    parts = [FilePart("f", n, b"text", "text/plain",
                      'form-data; name="f"; filename="' + n.replace("\\", "\\\\").replace('"', '\\"') + '"')
             for n in names if "\r" not in n and "\n" not in n]
    try:
        upload = await read(files, Body(multipart(fields, parts), chunk=chunk))
        for f in upload.commit():
            assert 0 < len(f.name) <= 120 and "/" not in f.name and "\\" not in f.name
    except GatewayError:
        pass
    assert temp_files(files) == []


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=600), prefix=st.booleans())
async def test_any_bytes_parse_or_fail_with_our_errors(files: FileStore, body: bytes, prefix: bool) -> None:
    data = (f"--{BOUNDARY}\r\n".encode() + body) if prefix else body
    try:
        (await read(files, data)).discard()
    except GatewayError:
        pass
    assert temp_files(files) == []
