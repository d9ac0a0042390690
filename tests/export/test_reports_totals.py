"""The leads report agrees with the journal: every group's counts are the journal's counts for that group."""

from __future__ import annotations

import csv
import io
import statistics
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from gateway.export.report import GROUPS
from gateway.export.svgchart import bar_chart, stacked_bar_chart
from gateway.store.db import make_engine
from gateway.store.schema import leads
from tests.conftest import Server
from tests.journal.journal_dataset import specs

FILTER_OF = {"source": "source", "source_group": "source_group", "channel": "channel", "manager": "manager",
             "department": "department", "quality": "quality", "status": "status", "kind": "kind",
             "direction": "direction"}


async def _count(http: httpx.AsyncClient, query: dict[str, str]) -> int:
    r = await http.get("/api/v1/leads", params={**query, "count": "true", "limit": "1"})
    assert r.status_code == 200, r.text
    return int(r.json()["count"])


async def _report(http: httpx.AsyncClient, query: dict[str, str]) -> dict[str, Any]:
    r = await http.get("/api/v1/reports/leads", params=query)
    assert r.status_code == 200, r.text
    return r.json()


def _journal(report_query: dict[str, str]) -> dict[str, str]:
    """The journal's filter that counts what the report counts: advertising leads unless the report says `all`."""
    query = dict(report_query)
    advertising = query.pop("advertising", "true")
    return query if advertising == "all" else {**query, "advertising": advertising}


@pytest.mark.parametrize("base", [{}, {"from": "2024-03-04", "to": "2024-03-30", "advertising": "true"},
                                  {"manager_mode": "responsible"}, {"advertising": "all"},
                                  {"advertising": "false"}])
async def test_every_group_counts_what_the_journal_counts(server_with_leads: Server, base: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=server_with_leads.url, headers=server_with_leads.headers("manager"),
                                 timeout=30) as http:
        everything = await _count(http, _journal(base))
        for group in GROUPS:
            report = await _report(http, {**base, "group_by": group})
            assert report["totals"]["total"] == everything, group
            assert sum(i["total"] for i in report["items"]) == everything
            if group not in FILTER_OF:
                continue
            for item in report["items"]:
                if item["key"] is None:
                    continue
                query = {**_journal(base), FILTER_OF[group]: item["key"], "include_dismissed": "true"}
                assert item["total"] == await _count(http, query), (group, item["key"])
                if group != "quality":
                    for quality in ("target", "repeat", "non_target"):
                        assert item[quality] == await _count(http, {**query, "quality": quality}), (group, item)


async def test_conversion_missed_calls_and_callback_time(server_with_leads: Server, database_url: str) -> None:
    engine = make_engine(database_url)
    waits = {"test:0": 120, "test:8": 600, "test:16": 60, "test:7": 300}
    with engine.begin() as conn:
        for key, wait in waits.items():
            conn.execute(update(leads).where(leads.c.key == key).values(time_to_callback_s=wait))
        channel_of = dict(conn.execute(select(leads.c.key, leads.c.channel)).all())
    engine.dispose()
    items = specs()
    async with httpx.AsyncClient(base_url=server_with_leads.url, headers=server_with_leads.headers("admin"),
                                 timeout=30) as http:
        report = await _report(http, {"group_by": "channel", "advertising": "all"})
    by_channel = {i["key"]: i for i in report["items"]}
    for channel, row in by_channel.items():
        mine = [s for s in items if s.channel == channel]
        assert row["with_deal"] == sum(s.deal is not None for s in mine)
        assert row["conversion"] == round(row["with_deal"] / row["total"], 4)
        assert row["missed"] == sum(s.kind == "call" and s.direction == "in" and s.result == "missed" for s in mine)
        mine_waits = [w for k, w in waits.items() if channel_of[k] == channel]
        assert row["median_callback_s"] == (statistics.median(mine_waits) if mine_waits else None)
    assert by_channel["mango"]["missed"] > 0
    assert report["totals"]["median_callback_s"] == statistics.median(waits.values())


async def test_the_report_as_csv(server_with_leads: Server) -> None:
    async with httpx.AsyncClient(base_url=server_with_leads.url, timeout=30) as http:
        admin = server_with_leads.headers("admin")
        r = await http.get("/api/v1/reports/leads", params={"group_by": "source", "format": "csv", "sep": ";"},
                           headers=admin)
        assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))
        assert rows[0][:3] == ["Группа", "Всего", "Целевые"] and rows[-1][0] == "Итого"
        assert int(rows[-1][1]) == sum(int(row[1]) for row in rows[1:-1])
        bad = await http.get("/api/v1/reports/leads", params={"group_by": "weather"}, headers=admin)
        assert bad.status_code == 400 and "group_by" in bad.json()["error"]


def test_charts_escape_their_labels_and_scale_their_bars() -> None:
    svg = bar_chart([("<script>alert(1)</script>", 10), ("Яндекс & Co", 5)], title="Лиды <по> источникам")
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "Яндекс &amp; Co" in svg
    assert svg.startswith("<svg") and svg.endswith("</svg>") and "&lt;по&gt;" in svg
    widths = [float(part.split('"')[0]) for part in svg.split('width="')[2:4]]
    assert widths[0] == pytest.approx(2 * widths[1])
    stacked = stacked_bar_chart([("a", [1, 2, 0]), ("b", [0, 0, 0])], ["x", "y", "z"], title="t")
    assert stacked.count("<rect") == 3 + 2  # the legend's three, then the bars that are not empty
