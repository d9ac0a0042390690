"""Site forms through the real gateway over sockets: each answer, what is stored, what is not."""

from __future__ import annotations

import asyncio
import gzip
import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.connectors.webforms import simulate
from tests.connectors.webforms.forms_requests import EXE, PDF, FilePart, multipart

FORMS_TOML = """
[[forms]]
id = "site-ru"
name = "Сайт"
pipeline = "Продажи"
stage = "Лид"
max_upload_mb = 1
min_fill_seconds = 0
rate_limit_per_minute = 10000
allowed_origins = ["https://example.ru"]

[[forms]]
id = "secret"
secret = "form-secret-789"
rate_limit_per_minute = 10000

[[forms]]
id = "slow"
rate_limit_per_minute = 2
"""
BOUNDARY = "----formboundary7MA4YWxkTrZu0gW"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


@pytest.fixture(autouse=True)
def forms_config(_no_config_file: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The `server` fixture reads GATEWAY_CONFIG: point it at forms (the registry is the real one)."""
    config = tmp_path / "forms.toml"
    config.write_text(FORMS_TOML, encoding="utf-8")
    monkeypatch.setenv("GATEWAY_CONFIG", str(config))


async def post(server: Any, path: str, data: bytes, content_type: str, **headers: str) -> tuple[int, dict, bytes]:
    async with aiohttp.ClientSession() as http, http.post(
        server.url + path, data=data, headers={"Content-Type": content_type, **headers}, allow_redirects=False
    ) as resp:
        return resp.status, dict(resp.headers), await resp.read()


async def events(server: Any) -> list[dict]:
    async with aiohttp.ClientSession() as http, http.get(server.url + "/api/v1/events?limit=500",
                                                         headers=server.headers()) as resp:
        assert resp.status == 200
        return [e for e in (await resp.json())["items"] if e["connector"] == "forms"]


async def wait_for_lead(server: Any) -> dict:
    deadline = time.monotonic() + 20
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            async with http.get(server.url + "/api/v1/leads?channel=forms", headers=server.headers()) as resp:
                items = (await resp.json())["items"]
            if items:
                async with http.get(server.url + f"/api/v1/leads/{items[0]['id']}", headers=server.headers()) as r:
                    return await r.json()
            await asyncio.sleep(0.05)
    raise AssertionError("no forms lead was made")


def temp_files(server: Any) -> list[Path]:
    tmp = Path(server.settings.files_dir) / "tmp"
    return list(tmp.iterdir()) if tmp.exists() else []


async def test_a_browser_post_is_stored_redirected_and_becomes_a_lead(server: Any) -> None:
    body = ("name=Иван&phone=%2B7+916+123-45-67&email=ivan%40example.ru&message=Нужен+расчёт"
            "&page=https%3A%2F%2Fexample.ru%2F%3Futm_source%3Dyandex").encode()
    status, headers, _ = await post(server, "/hooks/forms/site-ru", body, "application/x-www-form-urlencoded",
                                    Accept="text/html")
    assert (status, headers["Location"]) == (303, "/hooks/forms/site-ru/thanks")
    assert len(await events(server)) == 1
    lead = await wait_for_lead(server)
    assert lead["channel"] == "forms" and lead["kind"] == "form" and lead["name"] == "Иван"
    assert lead["phone"] == "+79161234567" and lead["utm"]["utm_source"] == "yandex"
    async with aiohttp.ClientSession() as http, http.get(server.url + "/hooks/forms/site-ru/thanks") as resp:
        assert resp.status == 200 and "Спасибо" in await resp.text()


async def test_a_multipart_post_with_a_file_answers_json(server: Any) -> None:
    body = multipart([("name", "Анна"), ("email", "anna@example.ru")],
                     [FilePart("f", "ТЗ.pdf", PDF, "application/pdf")])
    status, headers, reply = await post(server, "/hooks/forms/site-ru", body, MULTIPART, Accept="application/json",
                                        Origin="https://example.ru")
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "https://example.ru"
    answer = json.loads(reply)
    [event] = await events(server)
    assert answer == {"ok": True, "lead": event["id"]}
    lead = await wait_for_lead(server)
    [attachment] = lead["attachments"]
    assert (attachment["name"], attachment["size"]) == ("ТЗ.pdf", len(PDF))
    assert temp_files(server) == []


@pytest.mark.parametrize(("path", "body", "content_type", "headers", "status"), [
    ("/hooks/forms/nope", b"name=x", "application/x-www-form-urlencoded", {}, 404),
    ("/hooks/forms/secret", b"name=x&_secret=wrong", "application/x-www-form-urlencoded", {}, 403),
    ("/hooks/forms/secret", b"name=x", "application/x-www-form-urlencoded", {"X-Form-Secret": "nope"}, 403),
    ("/hooks/forms/site-ru", b"name=x", "application/x-www-form-urlencoded", {"Origin": "https://evil.example"}, 403),
    ("/hooks/forms/site-ru", multipart([("a", "1")])[:-10], MULTIPART, {}, 400),
    ("/hooks/forms/site-ru", b"{not json", "application/json", {}, 400),
    ("/hooks/forms/site-ru", multipart(files=[FilePart("f", "a.pdf", EXE, "application/pdf")]), MULTIPART, {}, 415),
    ("/hooks/forms/site-ru", b"name=x", "text/plain", {}, 415),
    ("/hooks/forms/site-ru", multipart(files=[FilePart("f", "a.pdf", PDF + b"0" * (1 << 20))]), MULTIPART, {}, 413),
])
async def test_refusals_store_nothing(server: Any, path: str, body: bytes, content_type: str,
                                      headers: dict[str, str], status: int) -> None:
    got, _, reply = await post(server, path, body, content_type, **headers)
    assert got == status and "error" in json.loads(reply)
    assert await events(server) == [] and temp_files(server) == []


async def test_the_right_secret_is_accepted_and_not_stored(server: Any) -> None:
    status, _, _ = await post(server, "/hooks/forms/secret", b"name=x&_secret=form-secret-789",
                              "application/x-www-form-urlencoded", Accept="application/json")
    assert status == 200
    [event] = await events(server)
    async with aiohttp.ClientSession() as http, http.get(server.url + f"/api/v1/events/{event['id']}",
                                                         headers=server.headers()) as resp:
        assert "form-secret-789" not in (await resp.json())["body"]


async def test_one_byte_over_the_limit_is_413(server: Any) -> None:
    def body(n: int) -> bytes:
        return multipart([("a", "1")], [FilePart("f", "a.txt", b"x" * n, "text/plain")])

    at_limit = (1 << 20) - len(body(0))
    assert len(body(at_limit)) == 1 << 20
    assert (await post(server, "/hooks/forms/site-ru", body(at_limit), MULTIPART))[0] == 303
    assert (await post(server, "/hooks/forms/site-ru", body(at_limit + 1), MULTIPART))[0] == 413
    assert len(await events(server)) == 1 and temp_files(server) == []


async def test_a_gzip_bomb_is_refused(server: Any) -> None:
    bomb = gzip.compress(b"name=" + b"a" * (64 << 20))
    status, _, _ = await post(server, "/hooks/forms/site-ru", bomb, "application/x-www-form-urlencoded",
                              **{"Content-Encoding": "gzip"})
    assert status == 413 and await events(server) == []


async def test_cors_preflight(server: Any) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.options(server.url + "/hooks/forms/site-ru", headers={
                "Origin": "https://example.ru", "Access-Control-Request-Method": "POST"}) as resp:
            assert resp.status == 204 and resp.headers["Access-Control-Allow-Origin"] == "https://example.ru"
        async with http.options(server.url + "/hooks/forms/site-ru", headers={"Origin": "https://evil.example"}) as r:
            assert "Access-Control-Allow-Origin" not in r.headers


async def test_the_rate_limit(server: Any) -> None:
    statuses = [(await post(server, "/hooks/forms/slow", b"name=x", "application/x-www-form-urlencoded"))[0]
                for _ in range(3)]
    assert statuses == [303, 303, 429]
    assert len(await events(server)) == 2


@pytest.mark.parametrize(("form", "extra"), [("site-ru", ["--files"]), ("secret", ["--secret", "form-secret-789",
                                                                                   "--json"])])
async def test_the_simulator(server: Any, form: str, extra: list[str]) -> None:
    argv = ["--url", server.url, "--form", form, "--count", "8", "--rate", "0", "--seed", "7", *extra]
    assert await asyncio.to_thread(simulate.main, argv) == 0
    assert len(await events(server)) == 8 and temp_files(server) == []


async def test_the_simulator_counts_refusals(server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--url", server.url, "--form", "secret", "--count", "3", "--rate", "0", "--secret", "wrong"]
    assert await asyncio.to_thread(simulate.main, argv) == 1
    assert "accepted 0, refused 3 {403: 3}" in capsys.readouterr().out
