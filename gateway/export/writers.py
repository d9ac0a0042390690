"""File writers that take rows page by page: CSV as bytes chunks, XLSX through XlsxWriter's constant memory mode."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import xlsxwriter

from gateway.export.columns import Column, safe_text

__all__ = ["BOM", "SEPARATORS", "CsvWriter", "XlsxFile"]

SEPARATORS = {",": ",", ";": ";", "comma": ",", "semicolon": ";", "tab": "\t", "\t": "\t"}
BOM = "\ufeff".encode()
XLSX_MAX_ROWS = 1_048_576  # per sheet, the header included


def _csv_cell(value: Any) -> Any:
    kind = value.__class__
    if kind is str:
        return safe_text(value) if value and value[0] in "=+-@\t\r" else value
    if value is None:
        return ""
    if kind is bool:
        return "да" if value else "нет"
    if kind is datetime:
        return value.isoformat(" ")
    return value


class CsvWriter:
    """CSV in UTF-8 with a byte order mark (so that Excel reads Cyrillic), one chunk per page."""

    def __init__(self, columns: Sequence[Column], sep: str = ",") -> None:
        self.columns = columns
        self.sep = SEPARATORS[sep]
        self._buf = io.StringIO()
        self._csv = csv.writer(self._buf, delimiter=self.sep, lineterminator="\r\n")

    def _take(self) -> bytes:
        data = self._buf.getvalue().encode("utf-8")
        self._buf.seek(0)
        self._buf.truncate()
        return data

    def header(self) -> bytes:
        self._csv.writerow([c.title for c in self.columns])
        return BOM + self._take()

    def rows(self, rows: Sequence[Sequence[Any]]) -> bytes:
        self._csv.writerows([[_csv_cell(v) for v in row] for row in rows])
        return self._take()


class XlsxFile:
    """An .xlsx file written row by row in constant memory; a sheet that fills up continues on the next one."""

    def __init__(self, path: Path, columns: Sequence[Column], sheet: str = "Лиды",
                 tmpdir: Path | None = None) -> None:
        options: dict[str, Any] = {"constant_memory": True, "strings_to_formulas": False,
                                   "strings_to_urls": False, "strings_to_numbers": False}
        if tmpdir is not None:
            options["tmpdir"] = str(tmpdir)
        self.book = xlsxwriter.Workbook(str(path), options)
        self.columns = columns
        self.sheet_name = sheet
        self._bold = self.book.add_format({"bold": True})
        self._when = self.book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self._sheets = 0
        self._new_sheet()

    def _new_sheet(self) -> None:
        self._sheets += 1
        name = self.sheet_name if self._sheets == 1 else f"{self.sheet_name} {self._sheets}"
        self.ws = self.book.add_worksheet(name[:31])
        for i, col in enumerate(self.columns):
            self.ws.write_string(0, i, col.title, self._bold)
            self.ws.set_column(i, i, 20 if col.kind in ("text", "datetime") else 10)
        self.ws.freeze_panes(1, 0)
        self._row = 1

    def add(self, rows: Sequence[Sequence[Any]]) -> None:
        for values in rows:
            if self._row >= XLSX_MAX_ROWS:
                self._new_sheet()
            r, ws = self._row, self.ws
            for i, v in enumerate(values):
                if v is None:
                    continue
                if isinstance(v, bool):
                    ws.write_boolean(r, i, v)
                elif isinstance(v, int | float):
                    ws.write_number(r, i, v)
                elif isinstance(v, datetime):
                    ws.write_datetime(r, i, v, self._when)
                else:
                    ws.write_string(r, i, str(v))
            self._row += 1

    def close(self) -> None:
        self.book.close()
