"""The snippet a site includes: small, self-contained, cached, configured for its site."""

from __future__ import annotations

import gzip
import json
import re

import httpx

from tests.calltracking.conftest import SITE
from tests.conftest import Server


async def test_the_snippet_is_small_self_contained_and_configured(tracked: Server) -> None:
    async with httpx.AsyncClient(base_url=tracked.url, timeout=30) as c:
        resp = await c.get(f"/ct/{SITE}.js")
        again = await c.get(f"/ct/{SITE}.js", headers={"If-None-Match": resp.headers["ETag"]})
        unknown = await c.get("/ct/nope.js")
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("application/javascript")
    assert "max-age" in resp.headers["Cache-Control"] and again.status_code == 304
    assert unknown.status_code == 404
    body = resp.text
    assert len(gzip.compress(body.encode(), compresslevel=9)) < 5 * 1024
    config = json.loads(re.search(r"var C = (\{.*?\}), KEY", body).group(1))  # type: ignore[union-attr]
    assert config == {"site": SITE, "api": f"{tracked.url}/ct/{SITE}", "selector": ".phone", "beat": 60.0}
    # no third-party code: nothing is imported or loaded from elsewhere, and nothing is written into the page
    assert not re.search(r"import\s*\(|importScripts|createElement\(\"script\"|document\.write|eval\(", body)
    for tag in ("utm_source", "utm_term", "yclid", "gclid", "fbclid", "d.referrer", "visibilityState"):
        assert tag in body


async def test_the_routes_are_in_the_openapi_document(tracked: Server) -> None:
    async with httpx.AsyncClient(base_url=tracked.url, timeout=30) as c:
        spec = (await c.get("/openapi.json")).json()
    assert set(spec["paths"]["/ct/{site}/sessions"]) >= {"post", "options"}
    assert "429" in spec["paths"]["/ct/{site}/sessions"]["post"]["responses"]
    assert "get" in spec["paths"]["/ct/{site}.js"] and "get" in spec["paths"]["/api/v1/calltracking/{site}/pool"]
