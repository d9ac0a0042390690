"""`gateway demo`: every kind of simulated traffic becomes leads, with nothing failing and nothing leaving."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web

from gateway import cli
from gateway.core.errors import ConfigError
from gateway.demo.command import ADMIN, Demo
from gateway.demo.settings import MANAGERS, demo_settings
from gateway.serving import base_url, listening_socket
from gateway.store.db import make_engine
from gateway.store.users import create_user

QUICK = {"mango": ["--calls", "20", "--rate", "100"], "forms": ["--count", "3", "--rate", "0", "--files"],
         "telegram": ["--count", "14", "--rate", "0"], "vk": ["--count", "14", "--rate", "0"],
         "whatsapp": ["--count", "14", "--rate", "0"]}


@dataclass
class Running:
    url: str
    demo: Demo
    token: str

    def api(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=30)


@pytest.fixture
async def running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Running]:
    """The demo as `gateway demo --port 0` runs it, in a folder without a gateway.toml."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GATEWAY_DATABASE_URL", f"sqlite:///{tmp_path}/var/gateway.db")
    monkeypatch.setenv("GATEWAY_FILES_DIR", str(tmp_path / "var" / "files"))
    sock = listening_socket("127.0.0.1", 0)
    url = base_url("127.0.0.1", sock.getsockname()[1])
    demo = Demo()
    runner = web.AppRunner(await demo.app(url), access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    engine = make_engine(f"sqlite:///{tmp_path}/var/gateway.db")
    with engine.begin() as conn:
        _, token = create_user(conn, "tester", "admin")
    engine.dispose()
    try:
        yield Running(url.rstrip("/"), demo, token)
    finally:
        await runner.cleanup()


async def settled(run: Running) -> list[dict[str, Any]]:
    """The Unsorted queue once every event, follow-ups included, has been processed."""
    deadline = time.monotonic() + 60
    async with run.api() as api:
        while time.monotonic() < deadline:
            waiting = [(await api.get("/api/v1/events", params={"status": s})).json()["items"]
                       for s in ("pending", "processing")]
            if not any(waiting):
                return list((await api.get("/api/v1/unsorted", params={"limit": 200})).json()["items"])
            await asyncio.sleep(0.2)
    raise AssertionError(f"events still waiting: {waiting}")


async def test_every_kind_of_traffic_arrives_and_nothing_fails(running: Running,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    for kind, options in QUICK.items():  # no accounts, keys or secrets given: the demo's are used
        assert await asyncio.to_thread(cli.main, ["simulate", kind, "--url", running.url, *options]) == 0
    unsorted = await settled(running)
    by_channel = {ch: [x for x in unsorted if x["channel"] == ch] for ch in QUICK}
    assert all(by_channel.values()), {ch: len(xs) for ch, xs in by_channel.items()}
    async with running.api() as api:
        for status in ("failed", "dead"):
            assert (await api.get("/api/v1/events", params={"status": status})).json()["items"] == []
        calls = (await api.get("/api/v1/leads", params={"channel": "mango", "limit": 100})).json()["items"]
        recorded = [c for c in calls if c["recording"]]
        assert recorded and {c["manager"] for c in recorded} <= set(MANAGERS.values())
        recording = await api.get(recorded[0]["recording"])
        assert recording.status_code == 200 and recording.content.startswith(b"RIFF")  # from the stand-in
        for channel in ("telegram", "vk", "whatsapp"):  # each person sent a photo, fetched from the stand-in
            photos = [a for x in by_channel[channel] for a in x["attachments"] if a["content_type"] == "image/png"]
            assert len(photos) == len(by_channel[channel]), channel
        assert {x["source"] for x in by_channel["telegram"]} == {"Telegram"}
        ready = await api.get("/readyz")
        assert ready.status_code == 200 and ready.json()["ok"] is True and not ready.json().get("degraded")
        lag = next(line for line in (await api.get("/metrics")).text.splitlines()
                   if line.startswith("gateway_processing_lag_seconds "))
        assert float(lag.split()[1]) == 0.0
    logged = capsys.readouterr()
    noisy = [line for line in (logged.out + logged.err).splitlines()
             if re.search(r"\[(warning|error|critical)\s*\]|\"level\": \"(warning|error|critical)\"", line)]
    assert noisy == []


async def test_the_printed_password_opens_the_unsorted_page(running: Running) -> None:
    assert await asyncio.to_thread(cli.main, ["simulate", "forms", "--url", running.url, *QUICK["forms"]]) == 0
    [lead] = (await settled(running))[:1]
    banner = running.demo.announcement(running.url + "/")
    assert banner.startswith(f"Lead Gateway DEMO on {running.url}/")
    assert "gateway.toml" in banner and "gateway serve" in banner  # how to run one's own configuration
    password = re.search(rf"as {ADMIN} with the password (\S+) ", banner)
    assert password is not None
    async with httpx.AsyncClient(base_url=running.url) as page:
        form = await page.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        login = await page.post("/login", data={"name": ADMIN, "password": password.group(1), "csrf": csrf.group(1),
                                                "next": "/"})
        assert login.status_code == 302, login.text
        unsorted = await page.get("/")
        assert unsorted.status_code == 200 and lead["name"] in unsorted.text


async def test_the_stand_in_refuses_what_the_providers_refuse(running: Running) -> None:
    stand_in = running.url + "/demo/providers"
    async with httpx.AsyncClient(base_url=stand_in) as http:
        mango = await http.post("/mango/vpbx/queries/recording/post",
                                data={"vpbx_api_key": "demo-mango-key", "sign": "0" * 64, "json": "{}"})
        assert mango.json() == {"result": 3102}
        telegram = await http.post("/telegram/botWRONG/getFile", json={"file_id": "x"})
        assert telegram.status_code == 401 and telegram.json()["ok"] is False
        whatsapp = await http.get("/whatsapp/v21.0/123", headers={"Authorization": "Bearer wrong"})
        assert whatsapp.status_code == 401 and whatsapp.json()["error"]["code"] == 190
        vk = await http.post("/vk/method/users.get", data={"access_token": "wrong", "user_ids": "1"})
        assert vk.json()["error"]["error_code"] == 5


def test_the_demo_runs_without_redis_and_its_own_configuration(monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("GATEWAY_REDIS_URL", "redis://127.0.0.1:6379/0")
    with pytest.raises(ConfigError, match="the demo runs without Redis"):
        demo_settings("http://127.0.0.1:8080/demo/providers")
    assert cli.main(["demo", "--config", "mine.toml"]) == 2
    assert "gateway serve --config mine.toml" in capsys.readouterr().err
