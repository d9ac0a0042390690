"""The `gateway` command as an operator uses it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from gateway.store.db import make_engine
from gateway.store.schema import events, leads


def gateway(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env.update(GATEWAY_DATABASE_URL=f"sqlite:///{tmp_path}/g.db", GATEWAY_FILES_DIR=str(tmp_path / "files"),
               GATEWAY_CONFIG=str(tmp_path / "gateway.toml"), GATEWAY_LOG_FORMAT="json")
    return subprocess.run([sys.executable, "-m", "gateway", *args], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=120)


def test_user_add_prints_the_token_alone_on_the_last_line(tmp_path: Path) -> None:
    out = gateway(tmp_path, "user", "add", "ivanov", "--role", "operator", "--extension", "101")
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip().splitlines()[-1]
    assert token.startswith("lg_") and " " not in token
    listing = gateway(tmp_path, "user", "list").stdout
    assert "ivanov" in listing and "ext=101" in listing and token not in listing
    assert gateway(tmp_path, "user", "add", "ivanov", "--role", "admin").returncode == 1


def test_migrate_then_replay_dead_events(tmp_path: Path) -> None:
    assert gateway(tmp_path, "migrate").returncode == 0
    engine = make_engine(f"sqlite:///{tmp_path}/g.db")
    from datetime import UTC, datetime

    with engine.begin() as conn:
        conn.execute(events.insert().values(
            id="e1", connector="manual", account="t", key="k1", received_at=datetime.now(UTC), headers={},
            body=json.dumps({"phone": "89161234567"}).encode(), status="dead", attempts=8,
            next_attempt_at=datetime.now(UTC)))
    out = gateway(tmp_path, "replay", "--dead")
    assert out.returncode == 0, out.stderr
    assert "requeued 1 event(s)" in out.stdout and "processed 1 event(s)" in out.stdout
    out = gateway(tmp_path, "replay", "e1")
    assert out.returncode == 0
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(leads)).scalar() == 1
        assert conn.execute(select(events.c.status)).scalar() == "done"


def test_serve_without_config_says_where_it_goes(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "gateway", "serve", "--port", "0"], cwd=tmp_path,
                            env={**{k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")},
                                 "GATEWAY_DATABASE_URL": f"sqlite:///{tmp_path}/g.db"},
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    lines: list[str] = []
    try:
        for line in proc.stderr or []:  # ends early if the process dies
            lines.append(line)
            if line.startswith("Lead Gateway on "):
                break
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    notice = next(line for line in lines if line.startswith("no config file"))
    assert "gateway.example.toml" in notice and "gateway demo" in notice
    assert lines[-1].startswith("Lead Gateway on http://127.0.0.1:") and ":0/" not in lines[-1]  # the real port


def test_user_disable_keeps_one_active_admin(tmp_path: Path) -> None:
    assert gateway(tmp_path, "user", "add", "boss", "--role", "admin").returncode == 0
    refused = gateway(tmp_path, "user", "disable", "boss")
    assert refused.returncode == 1 and "the only active admin" in refused.stderr
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    assert "active" in next(line for line in gateway(tmp_path, "user", "list").stdout.splitlines() if "boss" in line)
    assert gateway(tmp_path, "user", "add", "deputy", "--role", "admin").returncode == 0
    assert gateway(tmp_path, "user", "disable", "boss").returncode == 0
    assert "disabled" in next(line for line in gateway(tmp_path, "user", "list").stdout.splitlines() if "boss" in line)
