"""Start-up failures are one line naming the cause and the fix, exit code 2, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import free_port


def gateway(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    base.update(GATEWAY_DATABASE_URL=f"sqlite:///{tmp_path}/g.db", GATEWAY_FILES_DIR=str(tmp_path / "files"),
                GATEWAY_LOG_FORMAT="json")
    base.update(env)
    return subprocess.run([sys.executable, "-m", "gateway", *args], capture_output=True, text=True, env=base,
                          cwd=tmp_path, timeout=120)


def one_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_a_directory_as_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "gateway.toml").mkdir()  # what `docker compose up` makes of a missing bind-mounted file
    line = one_line(gateway(tmp_path, "migrate", "--config", "gateway.toml"))
    assert line.startswith("config error: gateway.toml is a directory, not a file;") and "GATEWAY_CONFIG" in line
    assert one_line(gateway(tmp_path, "serve", "--port", "0")) == line  # found as the default file too


def test_a_config_file_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "cp1251.toml").write_bytes('default_region = "RU"\n# Продажи\n'.encode("cp1251"))
    line = one_line(gateway(tmp_path, "user", "list", "--config", "cp1251.toml"))
    assert line == "config error: cp1251.toml: not UTF-8 text (byte 0xcf on line 2); save the file as UTF-8"


def test_a_missing_config_file_named_on_the_command_line(tmp_path: Path) -> None:
    line = one_line(gateway(tmp_path, "serve", "--config", "nowhere.toml"))
    assert line.startswith("config error: nowhere.toml: no such file;")


@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["migrate"], ["user", "add", "bob", "--role",
                                                                             "admin"]])
def test_postgresql_that_does_not_answer(tmp_path: Path, command: list[str]) -> None:
    url = f"postgresql+psycopg://gateway:s3cret@127.0.0.1:{free_port()}/gateway"
    line = one_line(gateway(tmp_path, *command, GATEWAY_DATABASE_URL=url))
    assert line.startswith("store error: cannot open postgresql+psycopg://gateway:***@127.0.0.1:")
    assert "Connection refused" in line and "start PostgreSQL there, or point GATEWAY_DATABASE_URL" in line
    assert "s3cret" not in line


def test_a_database_that_does_not_exist(tmp_path: Path) -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/lg_no_such_database"
    line = one_line(gateway(tmp_path, "migrate", GATEWAY_DATABASE_URL=url))
    assert 'database "lg_no_such_database" does not exist' in line and "createdb" in line


def test_a_port_already_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_line(gateway(tmp_path, "serve", "--port", str(port)))
    assert line == (f"cannot listen on 127.0.0.1:{port}: the port is in use (another gateway?); stop that one or "
                    "choose another port with --port")


def test_a_worker_whose_redis_does_not_answer(tmp_path: Path) -> None:
    line = one_line(gateway(tmp_path, "worker", "--burst", GATEWAY_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"))
    assert line.startswith("config error: redis_url: cannot reach Redis at redis://127.0.0.1:")
    assert "unset GATEWAY_REDIS_URL" in line


def test_config_is_accepted_before_and_after_the_command(tmp_path: Path) -> None:
    (tmp_path / "x.toml").write_text('[[sources]]\nname = "Партнёры"\nadvertising = false\n', encoding="utf-8")
    added = gateway(tmp_path, "user", "add", "bob", "--role", "operator", "--config", "x.toml")
    assert added.returncode == 0, added.stderr
    listed = gateway(tmp_path, "--config", "x.toml", "user", "list")
    assert listed.returncode == 0 and "bob" in listed.stdout
    assert gateway(tmp_path, "user", "--config", "x.toml", "list").stdout == listed.stdout
    wrong = gateway(tmp_path, "user", "list", "--config", "y.toml")
    assert one_line(wrong).startswith("config error: y.toml: no such file")
