"""Exports read back (csv module, openpyxl) equal the journal the API shows, row for row."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import openpyxl
import pytest
from sqlalchemy import insert, select

from gateway.export.exporter import lead_export
from gateway.store.db import make_engine
from gateway.store.journal import JournalFilters, list_leads
from gateway.store.schema import deals, leads
from tests.conftest import Server
from tests.export.conftest import journal, journal_server

TZ = ZoneInfo("Europe/Moscow")
QUALITY = {"target": "целевой", "repeat": "повторный", "non_target": "нецелевой", "unverified": "непроверенный"}
TYPES = {"missed_call": "Пропущенный звонок", "incoming_call": "Входящий звонок", "outgoing_call": "Исходящий звонок",
         "internal_call": "Внутренний звонок", "form": "Заявка с сайта", "mail": "Письмо",
         "outgoing_mail": "Исходящее письмо", "chat": "Чат", "manual": "Создан менеджером"}
FILTERS = [{}, {"channel": "mango,forms"}, {"sort": "score", "quality": "target,repeat"},
           {"manager": "ivanov,sidorov", "manager_mode": "responsible", "include_dismissed": "true"},
           {"from": "2024-03-05", "to": "2024-03-20", "tag": "vip"}]


def local(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(TZ).replace(tzinfo=None, microsecond=0)


def expected(item: dict[str, Any]) -> dict[str, Any]:
    """What a journal row must look like in the file (typed as a spreadsheet keeps it)."""
    return {
        "ID": item["id"], "Время": local(item["received_at"]), "Название": item["title"], "Этап": item["stage"],
        "Воронка": item["pipeline"], "Телефон": item["phone"], "Тип": TYPES[item["type"]],
        "Источник": item["source"], "Менеджер": item["manager"], "Отдел": item["department"],
        "Качество": QUALITY[item["quality"]], "Канал": item["channel"], "Рекламный": item["advertising"],
        "Имя": item["name"], "E-mail": item["email"], "Баллы": item["score"], "Перезвонить": item["needs_callback"],
        "Теги": ", ".join(item["tags"]) or None, "Тема": item["subject"], "Сделка": item["deal_id"],
    }


def as_csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "да" if value else "нет"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


async def _export(http: httpx.AsyncClient, path: str, query: dict[str, str]) -> httpx.Response:
    r = await http.get(path, params=query)
    assert r.status_code == 200, r.text
    return r


@pytest.mark.parametrize("query", FILTERS)
async def test_csv_is_the_journal(server_with_leads: Server, query: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=server_with_leads.url, headers=server_with_leads.headers("manager"),
                                 timeout=30) as http:
        items = await journal(http, query)
        r = await _export(http, "/api/v1/leads/export", {**query, "format": "csv"})
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert items, query
    assert len(rows) == len(items)
    for row, item in zip(rows, items, strict=True):
        assert {k: row[k] for k in expected(item)} == {k: as_csv_text(v) for k, v in expected(item).items()}


@pytest.mark.parametrize("query", FILTERS[:3])
async def test_xlsx_is_the_journal(server_with_leads: Server, query: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=server_with_leads.url, headers=server_with_leads.headers("admin"),
                                 timeout=30) as http:
        items = await journal(http, query)
        r = await _export(http, "/api/v1/leads/export", {**query, "format": "xlsx"})
    assert r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert r.headers.get("transfer-encoding") == "chunked"  # streamed as it is produced
    book = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True)
    sheet = book.worksheets[0]
    header, *rows = [list(v) for v in sheet.iter_rows(values_only=True)]
    assert len(rows) == len(items)
    for values, item in zip(rows, items, strict=True):
        row = dict(zip(header, values, strict=True))
        assert {k: row[k] for k in expected(item)} == expected(item)


async def test_semicolons_and_text_that_looks_like_a_formula(database_url: str, tmp_path: Path) -> None:
    runner, srv = await journal_server(database_url, tmp_path)
    try:
        engine = make_engine(database_url)
        with engine.begin() as conn:
            row = dict(conn.execute(select(leads).where(leads.c.key == "test:0")).mappings().one())
            row.update(id=None, key="test:formula", name='=HYPERLINK("http://evil.example","x")', phone="+74950000001",
                       text="-2+3; a \"quoted\" line\nand a second", received_at=datetime(2025, 1, 1))
            row.pop("id")
            conn.execute(insert(leads).values(**row))
        engine.dispose()
        async with httpx.AsyncClient(base_url=srv.url, headers=srv.headers("admin"), timeout=30) as http:
            r = await _export(http, "/api/v1/leads/export", {"format": "csv", "sep": ";", "q": "evil.example"})
            x = await _export(http, "/api/v1/leads/export", {"format": "xlsx", "q": "evil.example"})
    finally:
        await runner.cleanup()
    text = r.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("ID;Время;Название")
    [row] = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert row["Имя"] == "'=HYPERLINK(\"http://evil.example\",\"x\")"  # shown as text, never run
    assert row["Телефон"] == "+74950000001"  # a phone number keeps its plus
    assert row["Текст"] == "'-2+3; a \"quoted\" line\nand a second"
    sheet = openpyxl.load_workbook(io.BytesIO(x.content)).worksheets[0]
    header = [c.value for c in sheet[1]]
    cell = sheet.cell(row=2, column=header.index("Имя") + 1)
    assert cell.data_type == "s" and cell.value == '=HYPERLINK("http://evil.example","x")'


async def test_who_may_export(database_url: str, tmp_path: Path) -> None:
    runner, srv = await journal_server(database_url, tmp_path, access={"export_admin_only": True})
    try:
        async with httpx.AsyncClient(base_url=srv.url, timeout=30) as http:
            path = "/api/v1/leads/export"
            assert (await http.get(path)).status_code == 401
            assert (await http.get(path, headers=srv.headers("operator"))).status_code == 403
            assert (await http.get(path, headers=srv.headers("manager"))).status_code == 403
            assert (await http.get("/api/v1/deals/export", headers=srv.headers("manager"))).status_code == 403
            assert (await http.get(path, headers=srv.headers("admin"))).status_code == 200
            bad = await http.get(path, params={"format": "pdf"}, headers=srv.headers("admin"))
            assert bad.status_code == 400 and "format" in bad.json()["error"]
            bad = await http.get(path, params={"quality": "best"}, headers=srv.headers("admin"))
            assert bad.status_code == 400 and "quality" in bad.json()["error"]
    finally:
        await runner.cleanup()


async def test_deals_export_shows_each_deal(server_with_leads: Server, database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.connect() as conn:
        ids = list(conn.execute(select(deals.c.id).order_by(deals.c.id.desc())).scalars())
    engine.dispose()
    async with httpx.AsyncClient(base_url=server_with_leads.url, headers=server_with_leads.headers("admin"),
                                 timeout=30) as http:
        r = await _export(http, "/api/v1/deals/export", {"format": "csv"})
        rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
        assert [int(row["ID"]) for row in rows] == ids
        for row in rows[:12]:
            deal = (await http.get(f"/api/v1/deals/{row['ID']}")).json()
            assert row["Название"] == deal["name"] and row["Этап"] == deal["stage"]
            assert row["Воронка"] == deal["pipeline"] and row["Ответственный"] == (deal["responsible"] or "")
            assert row["Теги"] == ", ".join(deal["tags"]) and int(row["Лидов"]) == len(deal["leads"])
        x = await _export(http, "/api/v1/deals/export", {"format": "xlsx", "pipeline": "Тендеры"})
    sheet = openpyxl.load_workbook(io.BytesIO(x.content), read_only=True).worksheets[0]
    header, *values = [list(v) for v in sheet.iter_rows(values_only=True)]
    tenders = [dict(zip(header, v, strict=True)) for v in values]
    assert tenders and {t["Воронка"] for t in tenders} == {"Тендеры"}
    assert all(isinstance(t["Создана"], datetime) for t in tenders)


def test_pages_of_any_size_give_the_whole_journal_in_order(tmp_path: Path) -> None:
    from tests.journal.journal_dataset import populate, settings_for, specs

    url = f"sqlite:///{tmp_path}/pages.db"
    settings = settings_for(url, tmp_path)
    engine = make_engine(url)
    populate(engine, settings, specs())
    f = JournalFilters.from_query({"sort": "score"}, settings)
    with engine.connect() as conn:
        want, _ = list_leads(conn, f, limit=1000, cursor=None)
    got = [row[0] for page in lead_export(engine, f, page=7).pages for row in page]
    engine.dispose()
    assert got == [r["id"] for r in want]
