"""Exports as they are produced: pages of rows read in short transactions, written as they come."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Sequence
from typing import IO, Any

from sqlalchemy import Engine

from gateway.export.columns import DEAL_COLUMNS, LEAD_COLUMNS, Column, row_maker
from gateway.export.deal_list import DealFilters, iter_deal_pages
from gateway.export.lead_rows import EXPORT_COLUMNS, export_items
from gateway.export.writers import CsvWriter
from gateway.export.xlsxstream import XlsxStream
from gateway.store.journal import JournalFilters, iter_lead_pages

__all__ = ["Export", "csv_chunks", "deal_export", "lead_export", "write_csv", "write_xlsx", "xlsx_chunks"]

Progress = Callable[[int], None]
PAGE = 1000


class Export:
    """What to export: the columns and a generator of pages of cell values."""

    def __init__(self, columns: Sequence[Column], pages: Iterator[list[list[Any]]], sheet: str) -> None:
        self.columns, self.pages, self.sheet = columns, pages, sheet


def lead_export(engine: Engine, f: JournalFilters, *, base_url: str = "", page: int = PAGE) -> Export:
    """The journal with filter `f`, in its order, as export rows."""
    def pages() -> Iterator[list[list[Any]]]:
        def connect() -> Any:
            return engine.connect()
        cells = row_maker(LEAD_COLUMNS, f.tz, base_url)
        for conn, rows in iter_lead_pages(connect, f, page=page, columns=EXPORT_COLUMNS):
            yield [cells(item) for item in export_items(conn, rows, manager_mode=f.manager_mode)]

    return Export(LEAD_COLUMNS, pages(), "Лиды")


def deal_export(engine: Engine, f: DealFilters, *, page: int = PAGE) -> Export:
    """Deals with filter `f`, newest first, with contact, company, responsible, stage, budget, dates, tags."""
    def pages() -> Iterator[list[list[Any]]]:
        cells = row_maker(DEAL_COLUMNS, f.tz)
        for rows in iter_deal_pages(engine.connect, f, page=page):
            yield [cells(r) for r in rows]

    return Export(DEAL_COLUMNS, pages(), "Сделки")


def csv_chunks(export: Export, sep: str = ",", progress: Progress | None = None) -> Generator[bytes]:
    """The CSV file as byte chunks: the header, then one chunk per page."""
    writer = CsvWriter(export.columns, sep)
    yield writer.header()
    for rows in export.pages:
        yield writer.rows(rows)
        if progress is not None:
            progress(len(rows))


def write_csv(export: Export, out: IO[bytes], sep: str = ",", progress: Progress | None = None) -> None:
    for chunk in csv_chunks(export, sep, progress):
        out.write(chunk)


def xlsx_chunks(export: Export, progress: Progress | None = None) -> Generator[bytes]:
    """The .xlsx file as byte chunks, produced page by page (nothing kept in memory or on disk)."""
    book = XlsxStream(export.columns, export.sheet)
    for rows in export.pages:
        chunk = book.add(rows)
        if chunk:
            yield chunk
        if progress is not None:
            progress(len(rows))
    yield book.close()


def write_xlsx(export: Export, out: IO[bytes], progress: Progress | None = None) -> None:
    for chunk in xlsx_chunks(export, progress):
        out.write(chunk)
