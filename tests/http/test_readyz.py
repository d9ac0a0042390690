"""/readyz over a real socket: anyone learns whether the gateway is ready; only a known user learns why not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Server, make_settings, start_server

CONFIG = """
[[email.mailboxes]]
name = "board-private-box"
host = "127.0.0.1"
port = 1
ssl = false
username = "ceo@example.com"
password = "secret-password"
poll_seconds = 3600
timeout_seconds = 5
"""


@pytest.fixture
async def mail_server(tmp_path: Path) -> AsyncIterator[Server]:
    config = tmp_path / "gateway.toml"
    config.write_text(CONFIG, encoding="utf-8")
    runner, srv = await start_server(make_settings(tmp_path, config_file=config), run_services=False)
    try:
        yield srv
    finally:
        await runner.cleanup()


async def test_readyz_keeps_mailbox_names_and_errors_for_known_users(mail_server: Server) -> None:
    srv = mail_server
    async with httpx.AsyncClient(base_url=srv.url) as http:
        anyone = await http.get("/readyz")
        wrong = await http.get("/readyz", headers={"Authorization": "Bearer lg_not-a-token"})
        known = await http.get("/readyz", headers=srv.headers("operator"))
    for resp in (anyone, wrong):
        assert resp.status_code == 200
        assert resp.json() == {"ok": True, "store": "ok", "degraded": True, "mailboxes_failing": 1}
        assert "board-private-box" not in resp.text and "polled" not in resp.text
    assert known.status_code == 200
    body = known.json()
    assert body["ok"] is True and body["degraded"] is True and body["store"] == "ok"
    [box] = body["mailboxes"]
    assert box["mailbox"] == "board-private-box" and box["ok"] is False and box["last_error"] == "not polled yet"
