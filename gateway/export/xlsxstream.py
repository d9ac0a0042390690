"""An .xlsx file streamed as it is written: the zip's entries go out in order, each sheet row by row.

Strings are stored inline (no shared-strings table to hold in memory), so nothing of the data stays
in memory; the workbook's small parts (sheet list, styles, content types) are written after the
sheets, once their number is known. A sheet that reaches the format's row limit continues on the next.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from gateway.export.columns import Column

__all__ = ["XLSX_MAX_ROWS", "XlsxStream"]

XLSX_MAX_ROWS = 1_048_576  # per sheet, the header included
EPOCH = datetime(1899, 12, 30)
_BAD_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
STYLES = (
    f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="{MAIN}">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd\\ hh:mm:ss"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
    '</fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)


def _letters(n: int) -> str:
    out = ""
    n += 1
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


def _text(value: str) -> str:
    return escape(_BAD_XML.sub("", value))


class _Sink:
    """A write-only, non-seekable file: zipfile writes into it, the caller takes what has accumulated."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.written = 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.written += len(data)
        return len(data)

    def tell(self) -> int:
        return self.written

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


class XlsxStream:
    """Rows in, bytes out: call `add(rows)` and `close()`; each returns the bytes ready to be sent."""

    def __init__(self, columns: Sequence[Column], sheet: str = "Лиды", compresslevel: int = 1,
                 max_rows: int = XLSX_MAX_ROWS) -> None:
        self.columns, self.sheet_name, self.max_rows = columns, sheet, max_rows
        self._sink = _Sink()
        self._zip = zipfile.ZipFile(self._sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=compresslevel)
        self._refs = [_letters(i) for i in range(len(columns))]
        self._last = self._refs[-1]
        self._cell: list[Callable[[int, Any], str]] = [self._cell_of(c.kind) for c in columns]
        self._sheets = 0
        self._entry: Any = None
        self._row = 0
        self._new_sheet()

    def _cell_of(self, kind: str) -> Callable[[int, Any], str]:
        def cell(i: int, v: Any) -> str:
            ref = f"{self._refs[i]}{self._row}"
            cls = v.__class__
            if cls is str:
                return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{_text(v)}</t></is></c>'
            if cls is bool:
                return f'<c r="{ref}" t="b"><v>{int(v)}</v></c>'
            if cls is int or cls is float:
                return f'<c r="{ref}"><v>{v!r}</v></c>'
            if cls is datetime:
                serial = (v.replace(tzinfo=None) - EPOCH).total_seconds() / 86400
                return f'<c r="{ref}" s="1"><v>{serial:.10f}</v></c>'
            return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{_text(str(v))}</t></is></c>'
        return cell

    def _new_sheet(self) -> None:
        if self._entry is not None:
            self._entry.write(b"</sheetData></worksheet>")
            self._entry.close()
        self._sheets += 1
        self._entry = self._zip.open(f"xl/worksheets/sheet{self._sheets}.xml", "w", force_zip64=True)
        widths = "".join(f'<col min="{i + 1}" max="{i + 1}" width="{20 if c.kind in ("text", "datetime") else 10}" '
                         'customWidth="1"/>' for i, c in enumerate(self.columns))
        head = "".join(f'<c r="{self._refs[i]}1" t="inlineStr" s="2"><is><t>{_text(c.title)}</t></is></c>'
                       for i, c in enumerate(self.columns))
        self._entry.write(
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN}">'
            '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
            f'state="frozen"/></sheetView></sheetViews><cols>{widths}</cols><sheetData><row r="1">{head}</row>'
            .encode())
        self._row = 1

    def add(self, rows: Sequence[Sequence[Any]]) -> bytes:
        parts: list[str] = []
        for values in rows:
            if self._row >= self.max_rows:
                self._entry.write("".join(parts).encode())
                parts.clear()
                self._new_sheet()
            self._row += 1
            cells = "".join(self._cell[i](i, v) for i, v in enumerate(values) if v is not None)
            if values[-1] is None:  # every row spans every column, so readers see rows of one length
                cells += f'<c r="{self._last}{self._row}"/>'
            parts.append(f'<row r="{self._row}">{cells}</row>')
        self._entry.write("".join(parts).encode())
        return self._sink.take()

    def close(self) -> bytes:
        """Finish the last sheet and write the workbook's parts and the zip's directory."""
        self._entry.write(b"</sheetData></worksheet>")
        self._entry.close()
        n = self._sheets
        names = [self.sheet_name if i == 1 else f"{self.sheet_name} {i}" for i in range(1, n + 1)]
        sheets = "".join(f'<sheet name={quoteattr(name[:31])} sheetId="{i}" r:id="rId{i}"/>'
                         for i, name in enumerate(names, 1))
        head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        self._zip.writestr("xl/workbook.xml", f'{head}<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>{sheets}'
                                              '</sheets></workbook>')
        rels = "".join(f'<Relationship Id="rId{i}" Type="{REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                       for i in range(1, n + 1))
        self._zip.writestr("xl/_rels/workbook.xml.rels", f'{head}<Relationships xmlns="{PKG}">{rels}'
                                                          f'<Relationship Id="rId{n + 1}" Type="{REL}/styles" '
                                                          'Target="styles.xml"/></Relationships>')
        self._zip.writestr("xl/styles.xml", STYLES)
        self._zip.writestr("_rels/.rels", f'{head}<Relationships xmlns="{PKG}"><Relationship Id="rId1" '
                                          f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        ct = "http://schemas.openxmlformats.org/"
        overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
                            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in range(1, n + 1))
        self._zip.writestr("[Content_Types].xml", (
            f'{head}<Types xmlns="{ct}package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/'
            f'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>{overrides}</Types>'))
        self._zip.close()
        return self._sink.take()
