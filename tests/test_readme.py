"""The README's quick start, run as written from a clean folder: the demo, the simulators, the API."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.readme_quickstart import quick_start_blocks

ROOT = Path(__file__).resolve().parents[1]
CHANNELS = {"mango", "forms", "telegram", "vk", "whatsapp", "manual"}


def clean_folder(tmp_path: Path) -> Path:
    """The project's files as a fresh clone has them, with this checkout's installed `.venv` lent to it."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    folder = tmp_path / "lead-gateway"
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, folder / name)
    venv = folder / ".venv" / "bin"
    venv.mkdir(parents=True)
    for tool in ("python", "gateway"):
        (venv / tool).symlink_to(Path(sys.executable).parent / tool)
    (folder / ".venv" / ".installed").touch()  # scripts/setup.sh: installed, and newer than pyproject.toml
    return folder


def test_the_quick_start_has_the_demo_first_then_traffic_then_the_api() -> None:
    blocks = quick_start_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    assert "./scripts/run.sh" in blocks[0]
    assert all(f"gateway simulate {kind}" in blocks[1] for kind in ("mango", "forms", "telegram", "vk", "whatsapp"))
    assert "TOKEN=$(" in blocks[2] and "$TOKEN" in blocks[2]  # set before it is used


def test_the_quick_start_runs_as_written(tmp_path: Path) -> None:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        pytest.fail("the README test needs unshare (util-linux) and ip (iproute2): ./scripts/test.sh installs them")
    folder, report = clean_folder(tmp_path), tmp_path / "report.json"
    proc = subprocess.run(["unshare", "--net", sys.executable, str(ROOT / "tests" / "readme_quickstart.py"),
                           str(folder), str(report)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(report.read_text(encoding="utf-8"))
    assert got["returncode"] == 0, got["stderr"][-3000:]
    assert "Lead Gateway DEMO on http://127.0.0.1:8080/" in got["demo_log"]
    assert "as demo with the password" in got["demo_log"]
    out = got["stdout"]
    assert out.count("acknowledged 35, refused 0, failed 0") == 3  # telegram, vk, whatsapp
    assert "answers: 200 " in out and "accepted 10, refused 0, failed 0" in out
    assert '"phone": "+79161234567"' in out and '"status": "unsorted"' in out  # the lead entered through the API
    assert {x["channel"] for x in got["unsorted"]} == CHANNELS
    assert any(x["recording"] for x in got["unsorted"] if x["channel"] == "mango")
    assert all(x["attachments"] for x in got["unsorted"] if x["channel"] in ("telegram", "vk", "whatsapp"))
    assert got["failed"] == [] and got["dead"] == [] and got["ready"]["ok"] is True
    assert not any(level in got["demo_log"] for level in ('"level": "warning"', '"level": "error"', "Traceback"))
    assert got["stopped_with"] == 0  # Ctrl-C stops it cleanly


def test_every_other_block_names_what_exists() -> None:
    """Blocks outside the quick start (the tests, your own configuration, Docker, benchmarks) cannot all run here
    (a second server on port 8080, Docker); each names scripts, files and commands that exist."""
    from gateway.cli import build_parser

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = set(quick_start_blocks(readme))
    commands = build_parser().format_help()
    lines = [line.split("#")[0].split() for block in re.findall(r"```sh\n(.*?)```", readme, re.S)
             if block not in quick for line in block.splitlines() if line.split("#")[0].strip()]
    assert lines
    for words in lines:
        program = words[0]
        if program.startswith("./") or program in ("bash", "cp"):
            paths = [w for w in words if w.startswith(("./", "scripts/", "bench/")) or w.endswith((".toml", ".py"))]
            sources = paths[:1] if program == "cp" else paths
            assert all((ROOT / p).exists() for p in sources), words
        elif program == ".venv/bin/gateway":
            assert f"\n    {words[1]} " in commands, words  # listed among the commands
        elif program == ".venv/bin/python":
            assert (ROOT / words[1]).is_file(), words
        else:
            assert program == "docker" and words[1] == "compose" and (ROOT / "compose.yaml").is_file(), words
