"""The streamed .xlsx: a valid package any reader opens, sheets continued past the row limit, odd text kept."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime

import openpyxl

from gateway.export.columns import Column
from gateway.export.xlsxstream import XlsxStream

COLUMNS = (Column("ID", lambda r: r, "int"), Column("Когда", lambda r: r, "datetime"), Column("Текст", lambda r: r),
           Column("Да", lambda r: r, "bool"), Column("Сумма", lambda r: r, "float"))


def _book(rows: list[list], **kwargs: object) -> bytes:
    book = XlsxStream(COLUMNS, "Лиды", **kwargs)  # type: ignore[arg-type]
    out = io.BytesIO()
    for i in range(0, len(rows), 3):
        out.write(book.add(rows[i:i + 3]))
    out.write(book.close())
    return out.getvalue()


def test_values_come_back_as_written() -> None:
    rows = [[1, datetime(2024, 3, 1, 9, 30, 15), "Иван <b>&amp;</b> \"Ко\"", True, 1500.5],
            [2, None, "=1+1", False, None], [3, datetime(1999, 12, 31, 23, 59, 59), "a\x00b\x1fc\nd", None, 0.1]]
    data = _book(rows)
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    assert sheet.title == "Лиды" and [c.value for c in sheet[1]] == ["ID", "Когда", "Текст", "Да", "Сумма"]
    got = [list(r) for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert got[0] == rows[0] and got[1] == rows[1]
    assert got[2] == [3, datetime(1999, 12, 31, 23, 59, 59), "abc\nd", None, 0.1]  # XML cannot carry \x00, \x1f
    assert sheet.cell(row=3, column=3).data_type == "s"  # text that looks like a formula stays text
    assert sheet.cell(row=2, column=2).number_format == "yyyy\\-mm\\-dd\\ hh:mm:ss"


def test_a_full_sheet_continues_on_the_next() -> None:
    rows = [[i, None, f"row {i}", None, None] for i in range(1, 12)]
    book = openpyxl.load_workbook(io.BytesIO(_book(rows, max_rows=5)), read_only=True)
    assert [s.title for s in book.worksheets] == ["Лиды", "Лиды 2", "Лиды 3"]
    ids = [r[0] for s in book.worksheets for r in s.iter_rows(min_row=2, values_only=True)]
    assert ids == list(range(1, 12))
    assert all(next(s.iter_rows(max_row=1, values_only=True))[0] == "ID" for s in book.worksheets)
