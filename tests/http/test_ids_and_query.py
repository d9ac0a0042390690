"""Ids no row can have and query values the OpenAPI document does not allow: a clear 4xx, nothing stored.

Every id column is a signed 64-bit integer: 2^63 and above used to reach the driver and answer 500
(OverflowError). A path id answers 404, a query or body id 400.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import create_engine, func, select

from gateway.store.schema import events, tasks
from tests.conftest import Server

TOO_BIG = (str(2**63), "9" * 19, "1" * 40)


def _counts(server: Server) -> tuple[int, int]:
    engine = create_engine(server.settings.database_url)
    try:
        with engine.connect() as conn:
            return (conn.execute(select(func.count()).select_from(events)).scalar_one(),
                    conn.execute(select(func.count()).select_from(tasks)).scalar_one())
    finally:
        engine.dispose()


def _id_operations(spec: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(method, path, names of integer path parameters) of each documented operation with a numeric path id."""
    out = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            ints = [p["name"] for p in op.get("parameters", []) if p["in"] == "path"
                    and p["schema"]["type"] == "integer"]
            if ints:
                out.append((method.upper(), path, ints))
    return out


async def test_every_numeric_path_id_above_the_range_is_a_404(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers()) as client:
        spec = (await client.get("/openapi.json")).json()
        operations = _id_operations(spec)
        assert len(operations) >= 20
        before = _counts(server)
        for method, path, ints in operations:
            for big in TOO_BIG:
                url = re.sub(r"\{(\w+)\}", lambda m, big=big, ints=ints: big if m.group(1) in ints else "x", path)
                body = {} if method in ("POST", "PATCH") else None
                r = await client.request(method, url, params={"q": "x"}, json=body)  # q: a required query
                assert r.status_code == 404, (method, url, r.status_code, r.text)
                assert r.headers["Content-Type"].startswith("application/json") and r.json()["error"]
            for param in spec["paths"][path][method.lower()]["parameters"]:
                if param["name"] in ints and param["name"] in ("id", "lead_id"):
                    assert param["schema"]["maximum"] == 2**63 - 1, (method, path)
        # the web pages too
        for url in (f"/leads/{2**63}", f"/deals/{2**63}", f"/ui/leads/{2**63}/card"):
            assert (await client.get(url)).status_code != 500
        assert _counts(server) == before


async def test_body_and_query_ids_above_the_range_are_a_400_with_nothing_stored(server: Server) -> None:
    big = 2**63
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers()) as client:
        lead = (await client.post("/api/v1/leads?wait=1", json={"phone": "+7 916 123 45 67"})).json()["lead"]
        before = _counts(server)
        for url, body in (("/api/v1/tasks", {"text": "Перезвонить", "deal_id": big}),
                          ("/api/v1/tasks", {"text": "Перезвонить", "lead_id": big}),
                          (f"/api/v1/unsorted/{lead['id']}/link", {"deal_id": big}),
                          ("/api/v1/deals/handover", {"to": "x", "ids": [1, big]}),
                          ("/api/v1/unsorted/bulk", {"action": "accept", "ids": [big]}),
                          (f"/api/v1/contacts/{lead['contact_id']}/merge", {"into": big})):
            r = await client.post(url, json=body)
            assert r.status_code == 400, (url, r.text)
            assert "less than or equal to 9223372036854775807" in r.json()["error"]
        # the document's types, not a lax reading of them
        for url, body, field in (("/api/v1/tasks", {"text": "Перезвонить", "due_at": 0}, "due_at"),
                                 ("/api/v1/unsorted/bulk", {"action": "decline", "ids": [lead["id"]], "block": 0},
                                  "block"),
                                 ("/api/v1/deals/handover", {"to": "x", "ids": [1], "with_leads": "yes"},
                                  "with_leads")):
            r = await client.post(url, json=body)
            assert r.status_code == 400 and r.json()["error"].startswith(field), (url, r.text)
        for url in (f"/api/v1/tasks?deal_id={big}", f"/api/v1/tasks?lead_id={big}", f"/api/v1/audit?lead_id={big}"):
            r = await client.get(url)
            assert r.status_code == 400 and "9223372036854775807" in r.json()["error"], (url, r.text)
        assert _counts(server) == before
        assert (await client.get(f"/api/v1/leads/{lead['id']}")).json()["status"] == "unsorted"


async def test_fixed_paths_are_not_taken_for_an_id(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers()) as client:
        board = await client.get("/api/v1/deals/board")
        assert board.status_code == 200 and isinstance(board.json(), dict), board.text
        export = await client.get("/api/v1/deals/export")
        assert export.status_code == 200 and export.headers["Content-Type"].startswith("text/csv")
        handover = await client.post("/api/v1/deals/handover", json={"to": "nobody", "ids": [1]})
        assert handover.status_code in (400, 404) and "ids" not in handover.json()["error"], handover.text
        wrong_method = await client.get("/api/v1/deals/handover")  # not `GET /deals/{id}` with id "handover"
        assert wrong_method.status_code == 405 and "POST" in wrong_method.headers["Allow"]
        assert wrong_method.json()["error"]
        assert (await client.get("/api/v1/leads/abc")).json() == {"error": "no such object"}


async def test_query_values_are_held_to_the_document(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url, headers=server.headers()) as client:
        spec = (await client.get("/openapi.json")).json()
        before = _counts(server)
        r = await client.post("/api/v1/leads?wait=-2.4e307", json={"phone": "+7 916 123 45 67"})
        assert r.status_code == 400 and "wait" in r.json()["error"]
        assert _counts(server) == before
        r = await client.get("/api/v1/leads?count=%00garbage")
        assert r.status_code == 400 and "count" in r.json()["error"]
        for url in ("/api/v1/leads?limit=0", "/api/v1/unsorted?limit=501", "/api/v1/deals/board?limit=0",
                    "/api/v1/tasks?status=", "/api/v1/events?status=AAA"):
            r = await client.get(url)
            assert r.status_code == 400, (url, r.text)
            op = spec["paths"][url.split("?")[0]]["get"]
            assert "400" in op["responses"]
        limit = next(p for p in spec["paths"]["/api/v1/leads"]["get"]["parameters"] if p["name"] == "limit")
        assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": 500}
        # an empty free-text filter is no filter
        for url in ("/api/v1/leads?from=&to=&channel=&q=&cursor=", "/api/v1/deals?pipeline=&from=&q=&cursor=",
                    "/api/v1/deals/export?from=&stage=", "/api/v1/reports/leads?from=&source=",
                    "/api/v1/unsorted?channel=&q=", "/api/v1/tasks?responsible=&cursor="):
            r = await client.get(url)
            assert r.status_code == 200, (url, r.text)
        # the journal page's file links write booleans as Python does
        r = await client.get("/api/v1/leads/export?format=csv&include_dismissed=True&advertising=False")
        assert r.status_code == 200, r.text
        r = await client.get("/api/v1/reports/leads?format=csv&group_by=source&advertising=True&needs_callback=False")
        assert r.status_code == 200, r.text
        r = await client.get("/api/v1/contacts?phone=")
        assert r.status_code == 200 and r.json() == {"items": [], "next_cursor": None}
        csv = await client.get("/api/v1/reports/leads?format=csv")
        assert csv.status_code == 200 and csv.headers["Content-Type"].startswith("text/csv")
        assert "text/csv" in spec["paths"]["/api/v1/reports/leads"]["get"]["responses"]["200"]["content"]
