"""CSV written page by page as byte chunks (the XLSX counterpart is xlsxstream.py)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from gateway.export.columns import Column, safe_text

__all__ = ["BOM", "SEPARATORS", "CsvWriter"]

SEPARATORS = {",": ",", ";": ";", "comma": ",", "semicolon": ";", "tab": "\t", "\t": "\t"}
BOM = "\ufeff".encode()


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
