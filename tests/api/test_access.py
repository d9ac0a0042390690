"""Users and roles over real sockets: tokens, cookie sessions with CSRF, failed-login backoff, admin routes."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from gateway.http.keys import HASHING
from tests.api.conftest import PASSWORD, THREAD, Gateway, serve
from tests.conftest import make_settings


@asynccontextmanager
async def logged_in(gw: Gateway, name: str, password: str = PASSWORD) -> AsyncIterator[httpx.AsyncClient]:
    """A client holding a web session; its CSRF token in `client.csrf`."""
    async with gw.client(follow_redirects=False) as client:
        yield await _login(client, name, password)


async def _login(client: httpx.AsyncClient, name: str, password: str) -> httpx.AsyncClient:
    form = await client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert token is not None
    resp = await client.post("/login", data={"name": name, "password": password, "csrf": token.group(1)})
    assert resp.status_code == 302, resp.text
    page = await client.get("/")
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
    assert csrf is not None
    client.csrf = csrf.group(1)  # type: ignore[attr-defined]
    return client


@pytest.mark.parametrize(("who", "path", "status"), [
    (None, "/api/v1/unsorted", 401),
    ("anna", "/api/v1/users", 403), ("vera", "/api/v1/users", 403), ("root", "/api/v1/users", 200),
    ("anna", "/api/v1/events", 403), ("vera", "/api/v1/events", 200),
    ("anna", "/api/v1/health", 403), ("vera", "/api/v1/health", 403), ("root", "/api/v1/health", 200),
    ("anna", "/api/v1/audit", 403), ("vera", "/api/v1/audit", 200),
    ("anna", "/api/v1/triage/options", 200), ("anna", "/api/v1/me", 200),
])
async def test_roles(gateway: Gateway, who: str | None, path: str, status: int) -> None:
    async with gateway.client(who) as c:
        assert (await c.get(path)).status_code == status


async def test_triage_routes_need_a_token(gateway: Gateway) -> None:
    lead = await gateway.lead(name="Без токена", phone="+79160000041")
    async with gateway.client() as c:
        assert (await c.post(f"/api/v1/unsorted/{lead['id']}/accept", json={})).status_code == 401
    async with gateway.client(headers={"Authorization": "Bearer lg_wrong"}) as c:
        assert (await c.post(f"/api/v1/unsorted/{lead['id']}/accept", json={})).status_code == 401


async def test_operator_sees_unsorted_and_own_leads_only(gateway: Gateway) -> None:
    lead = await gateway.lead("vera", name="Чужой", phone="+79160000042")
    async with gateway.client("boris") as boris, gateway.client("anna") as anna:
        await boris.post(f"/api/v1/unsorted/{lead['id']}/accept", json={})
        assert (await anna.get(f"/api/v1/leads/{lead['id']}")).status_code == 403
        assert (await anna.get(f"/api/v1/unsorted/{lead['id']}/matches")).status_code == 403
        assert (await boris.get(f"/api/v1/unsorted/{lead['id']}/matches")).status_code == 200
    async with gateway.client("vera") as vera:
        assert (await vera.get(f"/api/v1/leads/{lead['id']}")).status_code == 200


async def test_a_disabled_users_token_and_session_stop_at_once(gateway: Gateway) -> None:
    async with gateway.client("anna") as anna, gateway.client("root") as root, logged_in(gateway, "anna") as web:
        assert (await anna.get("/api/v1/unsorted")).status_code == 200
        assert (await web.get("/api/v1/unsorted")).status_code == 200
        assert (await root.post("/api/v1/users/anna/disable")).status_code == 200
        assert (await anna.get("/api/v1/unsorted")).status_code == 401
        assert (await web.get("/api/v1/unsorted")).status_code == 401
        assert (await web.get("/")).status_code == 302
        assert (await root.post("/api/v1/users/anna/enable")).status_code == 200
        assert (await anna.get("/api/v1/unsorted")).status_code == 200
        fresh = (await root.post("/api/v1/users/anna/token")).json()["token"]
        assert (await anna.get("/api/v1/unsorted")).status_code == 401
    async with gateway.client(headers={"Authorization": f"Bearer {fresh}"}) as c:
        assert (await c.get("/api/v1/me")).json()["name"] == "anna"


async def test_cookie_session_needs_the_csrf_token_to_change_anything(gateway: Gateway) -> None:
    lead = await gateway.lead(name="Через браузер", phone="+79160000043")
    async with logged_in(gateway, "anna") as web:
        url = f"/api/v1/unsorted/{lead['id']}/accept"
        assert (await web.get("/api/v1/unsorted")).status_code == 200
        assert (await web.post(url, json={})).status_code == 403
        assert (await web.post(url, json={}, headers={"X-CSRF-Token": "forged"})).status_code == 403
        ok = await web.post(url, json={}, headers={"X-CSRF-Token": web.csrf})  # type: ignore[attr-defined]
        assert ok.status_code == 200 and ok.json()["taken_by"] == "anna"
        form = await web.post(f"/ui/leads/{lead['id']}/decline", data={"reason": "Спам"})
        assert form.status_code == 403  # the page's own forms carry the token in a hidden field
        assert (await web.post("/logout", data={"csrf": web.csrf})).status_code == 302  # type: ignore[attr-defined]
        assert (await web.get("/api/v1/unsorted")).status_code == 401


async def test_session_cookie_flags(gateway: Gateway) -> None:
    async with gateway.client(follow_redirects=False) as c:
        form = await c.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        resp = await c.post("/login", data={"name": "vera", "password": PASSWORD, "csrf": token})
    cookie = next(h for h in resp.headers.get_list("set-cookie") if h.startswith("lg_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http on 127.0.0.1 for local use
    assert "default-src 'self'" in form.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in form.headers["Content-Security-Policy"]


async def test_secure_cookie_behind_a_trusted_proxy(tmp_path: Path) -> None:
    runner, gw = await serve(make_settings(tmp_path, http={"trusted_proxies": ["127.0.0.1/32"]}, dispatch=THREAD))
    try:
        async with gw.client(follow_redirects=False, headers={"X-Forwarded-Proto": "https"}) as c:
            form = await c.get("/login")
            token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
            login_cookie = form.headers["set-cookie"]
            assert "Secure" in login_cookie  # so the client (plain http here) must be handed it by hand
            resp = await c.post("/login", data={"name": "vera", "password": PASSWORD, "csrf": token},
                                headers={"Cookie": login_cookie.split(";")[0]})
        cookie = next(h for h in resp.headers.get_list("set-cookie") if h.startswith("lg_session="))
        assert "Secure" in cookie and "HttpOnly" in cookie
    finally:
        await runner.cleanup()


async def test_a_password_from_a_public_address_needs_https(tmp_path: Path) -> None:
    runner, gw = await serve(make_settings(tmp_path, http={"trusted_proxies": ["127.0.0.1/32"]}, dispatch=THREAD))
    try:
        for proto, status in (("http", 403), ("https", 302)):
            headers = {"X-Forwarded-For": "93.184.216.34", "X-Forwarded-Proto": proto}
            async with gw.client(follow_redirects=False, headers=headers) as c:
                form = await c.get("/login")
                token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
                resp = await c.post("/login", data={"name": "vera", "password": PASSWORD, "csrf": token},
                                    headers={"Cookie": form.headers["set-cookie"].split(";")[0]})
            assert resp.status_code == status
    finally:
        await runner.cleanup()


async def test_login_without_the_forms_token_is_refused(gateway: Gateway) -> None:
    async with gateway.client(follow_redirects=False) as c:
        resp = await c.post("/login", data={"name": "vera", "password": PASSWORD, "csrf": "x"})
    assert resp.status_code == 400 and "lg_session" not in resp.headers.get("set-cookie", "")


async def test_repeated_failed_logins_are_slowed_down(gateway: Gateway) -> None:
    async with gateway.client(follow_redirects=False) as c:
        statuses = []
        for password in ["wrong-1", "wrong-2", "wrong-3", PASSWORD]:
            form = await c.get("/login")
            token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
            resp = await c.post("/login", data={"name": "boris", "password": password, "csrf": token})
            statuses.append(resp.status_code)
        assert statuses == [401, 401, 401, 429]  # even the right password waits its turn
        assert int(resp.headers["Retry-After"]) >= 1
    async with logged_in(gateway, "anna"):  # another name from the same address is not held up
        pass


async def test_admin_manages_users(gateway: Gateway) -> None:
    async with gateway.client("root") as root:
        made = await root.post("/api/v1/users", json={"name": "gleb", "role": "operator", "extension": "105",
                                                      "password": "long enough pw"})
        dup = await root.post("/api/v1/users", json={"name": "gleb", "role": "operator"})
        short = await root.post("/api/v1/users/gleb/password", json={"password": "short"})
        names = [u["name"] for u in (await root.get("/api/v1/users")).json()["items"]]
        audit = (await root.get("/api/v1/audit")).json()["items"]
    assert made.status_code == 201 and made.json()["token"].startswith("lg_")
    assert dup.status_code == 409 and short.status_code == 400
    assert "gleb" in names and audit[0]["action"] == "user.add" and audit[0]["user"] == "root"
    async with gateway.client(headers={"Authorization": f"Bearer {made.json()['token']}"}) as gleb:
        assert (await gleb.get("/api/v1/me")).json()["role"] == "operator"
    async with logged_in(gateway, "gleb", "long enough pw"):
        pass


async def test_the_routes_are_documented(gateway: Gateway) -> None:
    async with gateway.client() as c:
        paths = (await c.get("/openapi.json")).json()["paths"]
    for path in ("/api/v1/unsorted/{lead_id}/accept", "/api/v1/unsorted/{lead_id}/decline",
                 "/api/v1/unsorted/{lead_id}/link", "/api/v1/unsorted/bulk", "/api/v1/unsorted/{lead_id}/matches",
                 "/api/v1/contacts/{id}/merge", "/api/v1/live", "/api/v1/health", "/api/v1/users"):
        assert path in paths
    assert "/login" not in paths and "/ui/leads/{id}/card" not in paths


async def test_the_only_active_admin_cannot_disable_itself(gateway: Gateway) -> None:
    async with gateway.client("root") as root:
        listed = (await root.get("/api/v1/users")).json()
        others = [u["name"] for u in listed["items"] if u["role"] == "admin" and u["name"] != "root"]
        for other in others:  # the test server's own admin
            assert (await root.post(f"/api/v1/users/{other}/disable")).status_code == 200
        resp = await root.post("/api/v1/users/root/disable")
        assert resp.status_code == 409 and "admin" in resp.json()["error"]
        assert (await root.get("/api/v1/me")).json()["name"] == "root"  # still works
        second = await root.post("/api/v1/users", json={"name": "deputy", "role": "admin"})
        assert second.status_code == 201
        assert (await root.post("/api/v1/users/deputy/disable")).status_code == 200  # not the last one
        assert (await root.post("/api/v1/users/root/disable")).status_code == 409
        assert (await root.post("/api/v1/users/deputy/enable")).status_code == 200
        assert (await root.post("/api/v1/users/root/disable")).status_code == 200  # deputy remains
        assert (await root.get("/api/v1/me")).status_code == 401


async def test_login_spraying_with_rotating_names_is_slowed_down(gateway: Gateway) -> None:
    async with gateway.client(follow_redirects=False) as c:
        statuses = []
        for i in range(22):  # a new name each time: no name ever reaches its own limit
            form = await c.get("/login")
            token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
            resp = await c.post("/login", data={"name": f"guess{i}", "password": "Password1", "csrf": token})
            statuses.append(resp.status_code)
        assert statuses == [401] * 20 + [429] * 2
        form = await c.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        resp = await c.post("/login", data={"name": "vera", "password": PASSWORD, "csrf": token})
        assert resp.status_code == 429 and int(resp.headers["Retry-After"]) >= 1  # the address waits its turn


async def test_password_hashing_does_not_hold_the_stores_threads(gateway: Gateway) -> None:
    """Logins wait for the hashing threads; the API's reads in the store's pool go on meanwhile."""
    hashing = gateway.app[HASHING]
    held = threading.Event()
    blockers = [asyncio.ensure_future(hashing.run(held.wait, 30)) for _ in range(8)]
    try:
        async with gateway.client(follow_redirects=False) as c, gateway.client("vera") as vera:
            form = await c.get("/login")
            token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
            logins = [asyncio.ensure_future(c.post("/login", data={"name": f"nobody{i}", "password": "Password1",
                                                                    "csrf": token})) for i in range(12)]
            me = await vera.get("/api/v1/me")  # twelve logins wait, more than the store has threads
            assert me.status_code == 200 and me.json()["name"] == "vera"
            # not a timing assertion: room for a login that does not wait for the hashing threads to finish
            done, _ = await asyncio.wait(logins, timeout=5, return_when=asyncio.FIRST_COMPLETED)
            assert not done, "a login was hashed outside the hashing threads"
            held.set()
            assert [r.status_code for r in await asyncio.gather(*logins)] == [401] * 12
    finally:
        held.set()
        await asyncio.gather(*blockers)
