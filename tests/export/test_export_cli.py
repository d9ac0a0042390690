"""`gateway export`: the same rows as the journal, to CSV or XLSX, with a progress bar on stderr."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest

from gateway.cli import main as gateway_main
from gateway.store.db import make_engine
from gateway.store.journal import JournalFilters, list_leads
from tests.journal.journal_dataset import populate, settings_for, specs


@pytest.fixture
def config(database_url: str, tmp_path: Path) -> Path:
    settings = settings_for(database_url, tmp_path)
    engine = make_engine(database_url)
    populate(engine, settings, specs())
    engine.dispose()
    path = tmp_path / "gateway.toml"
    path.write_text(f'database_url = "{database_url}"\ntimezone = "Europe/Moscow"\n', encoding="utf-8")
    return path


def _journal_ids(database_url: str, query: dict[str, str]) -> list[int]:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        rows, _ = list_leads(conn, JournalFilters.from_query(query), limit=10_000, cursor=None)
    engine.dispose()
    return [r["id"] for r in rows]


def test_csv_with_filters(config: Path, database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "leads.csv"
    code = gateway_main(["export", "--config", str(config), "--format", "csv", "--out", str(out), "--sep", ";",
                         "--channel", "mango", "--channel", "forms", "--quality", "target,repeat", "--sort", "score"])
    assert code == 0
    err = capsys.readouterr().err
    want = _journal_ids(database_url, {"channel": "mango,forms", "quality": "target,repeat", "sort": "score"})
    assert f"{len(want)}/{len(want)} rows" in err and "100.0%" in err and f"{len(want)} rows written" in err
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    assert [int(r["ID"]) for r in rows] == want
    assert not list(tmp_path.glob(".leads.csv.*"))  # no partial file left behind


def test_xlsx_of_deals_and_of_leads(config: Path, database_url: str, tmp_path: Path) -> None:
    out = tmp_path / "leads.xlsx"
    assert gateway_main(["export", "--config", str(config), "--format", "xlsx", "--out", str(out), "--quiet",
                         "--manager", "sidorov", "--include-dismissed"]) == 0
    sheet = openpyxl.load_workbook(out, read_only=True).worksheets[0]
    ids = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert ids == _journal_ids(database_url, {"manager": "sidorov", "include_dismissed": "true"}) and ids
    deals = tmp_path / "deals.xlsx"
    assert gateway_main(["export", "--config", str(config), "--what", "deals", "--format", "xlsx",
                         "--out", str(deals), "--quiet", "--pipeline", "Тендеры"]) == 0
    sheet = openpyxl.load_workbook(deals, read_only=True).worksheets[0]
    assert {row[7] for row in sheet.iter_rows(min_row=2, values_only=True)} == {"Тендеры"}


def test_mistakes_are_reported_not_raised(config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "x.csv")
    assert gateway_main(["export", "--config", str(config), "--format", "csv", "--out", out,
                         "--quality", "best"]) == 1
    assert "quality" in capsys.readouterr().err
    assert gateway_main(["export", "--config", str(config), "--format", "csv", "--out", out,
                         "--responsible", "ivanov"]) == 1
    assert not Path(out).exists()
