"""The journal over HTTP: the reference's answers, counts, both sorts' cursors, the manager switch, roles."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Server
from tests.export.conftest import journal, journal_server
from tests.journal.journal_dataset import expected, shown_manager, specs


@pytest.fixture
async def api(database_url: str, tmp_path: Path) -> AsyncIterator[Server]:
    runner, srv = await journal_server(database_url, tmp_path)
    try:
        yield srv
    finally:
        await runner.cleanup()


def _keys(items: list[dict]) -> list[int]:
    return [int(i["key"].split(":")[1]) for i in items]


QUERIES = [
    {}, {"sort": "score"}, {"sort": "score", "channel": "mango,vk", "needs_callback": "false"},
    {"manager": "sidorov", "include_dismissed": "true", "manager_mode": "responsible"},
    {"department": "Продажи", "stage": "Лид,Заявка"}, {"by": "taken", "from": "2024-03-03", "to": "2024-03-25"},
    {"q": "камаз", "advertising": "true"}, {"source_group": "Контекст", "tag": "vip", "direction": "in"},
]
LISTS = ("channel", "manager", "department", "stage", "source_group", "tag", "direction")


def _reference(query: dict[str, str]) -> dict[str, Any]:
    ref: dict[str, Any] = {}
    for k, v in query.items():
        ref[k] = v.split(",") if k in LISTS else (v == "true") if v in ("true", "false") else v
        if k in ("from", "to"):
            ref[k] = date.fromisoformat(v)
    return ref


async def test_pages_and_count_match_the_reference(api: Server) -> None:
    async with httpx.AsyncClient(base_url=api.url, headers=api.headers("manager"), timeout=30) as http:
        for query in QUERIES:
            items = await journal(http, query)
            r = await http.get("/api/v1/leads", params={**query, "count": "true", "limit": "1"})
            want = expected(specs(), _reference(query))
            assert _keys(items) == want and r.json()["count"] == len(want), query


async def test_the_manager_shown_follows_the_switch_and_differences_are_flagged(api: Server) -> None:
    items = {s.i: s for s in specs()}
    async with httpx.AsyncClient(base_url=api.url, headers=api.headers("admin"), timeout=30) as http:
        for mode in ("taken", "responsible"):
            rows = await journal(http, {"manager_mode": mode})
            for row in rows:
                s = items[int(row["key"].split(":")[1])]
                assert row["manager"] == shown_manager(s, mode)
                responsible = s.deal.responsible if s.deal else None
                assert row["manager_differs"] == bool(s.manager and responsible and s.manager != responsible)
        bad = await http.get("/api/v1/leads", params={"manager_mode": "boss"})
        assert bad.status_code == 400


async def test_journal_columns(api: Server) -> None:
    async with httpx.AsyncClient(base_url=api.url, headers=api.headers("admin"), timeout=30) as http:
        rows = {int(r["key"].split(":")[1]): r for r in await journal(http, {})}
    # lead 0: a missed call that became "Сделка 0" (Продажи / Лид), taken by ivanov of Продажи
    assert (rows[0]["title"], rows[0]["pipeline"], rows[0]["stage"]) == ("Сделка 0", "Продажи", "Лид")
    assert (rows[0]["type"], rows[0]["manager"], rows[0]["department"]) == ("missed_call", "ivanov", "Продажи")
    # lead 2: a form without a deal: its title is the phone
    assert (rows[2]["title"], rows[2]["type"]) == ("+74951000074", "form")
    # lead 4: waiting in Unsorted of Продажи; lead 9: its deal is in Тендеры / Заявка
    assert (rows[4]["pipeline"], rows[4]["stage"]) == ("Продажи", "Неразобранное")
    assert (rows[9]["pipeline"], rows[9]["stage"]) == ("Тендеры", "Заявка")


async def test_cursors_are_bound_to_their_sort_and_operators_see_their_own(api: Server) -> None:
    async with httpx.AsyncClient(base_url=api.url, headers=api.headers("admin"), timeout=30) as http:
        first = (await http.get("/api/v1/leads", params={"limit": "5"})).json()
        r = await http.get("/api/v1/leads", params={"limit": "5", "sort": "score", "cursor": first["next_cursor"]})
        assert r.status_code == 400 and "cursor" in r.json()["error"]
        assert (await http.get("/api/v1/leads", params={"cursor": "!!"})).status_code == 400
        op = await http.get("/api/v1/leads", params={"limit": "500"}, headers=api.headers("operator"))
        assert op.status_code == 200  # nothing of theirs in this data set: the Unsorted ones, which anyone may take
        assert {i["status"] for i in op.json()["items"]} == {"unsorted"}
        assert len(op.json()["items"]) == sum(s.status == "unsorted" for s in specs())
        unsorted = await http.get("/api/v1/leads", params={"status": "unsorted", "limit": "500"},
                                  headers=api.headers("operator"))
        assert len(unsorted.json()["items"]) == sum(s.status == "unsorted" for s in specs())
