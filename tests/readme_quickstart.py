"""Runs the README's quick start in a folder, as a newcomer types it; `tests/test_readme.py` drives it.

    python tests/readme_quickstart.py FOLDER REPORT.json

Run inside a network namespace of its own (`unshare --net`): port 8080 is then free whatever else runs on
this machine, the blocks run exactly as written, and nothing can reach the internet. The first block that
starts the demo (`./scripts/run.sh`) runs in the background; the others run in order in one shell, so that
a variable one block sets (`TOKEN`) is there for the next. The report says what they printed and what the
gateway holds afterwards.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

URL = "http://127.0.0.1:8080"


def quick_start_blocks(readme: str) -> list[str]:
    """The `sh` blocks of the section "Quick start", in order."""
    section = re.search(r"^## Quick start.*?(?=^## )", readme, re.S | re.M)
    if section is None:
        raise SystemExit("the README has no section named Quick start")
    return re.findall(r"```sh\n(.*?)```", section.group(0), re.S)


def wait_ready(server: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the demo stopped with code {server.returncode}")
        try:
            if httpx.get(URL + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the demo did not answer /readyz")


def settled(api: httpx.Client, seconds: float = 60) -> None:
    """Wait until every event, follow-ups included, has been processed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not any(api.get("/api/v1/events", params={"status": s}).json()["items"] for s in ("pending", "processing")):
            return
        time.sleep(0.2)


def gateway_state(folder: Path) -> dict[str, Any]:
    """What the gateway holds once the quick start has run (through a user of the check's own)."""
    added = subprocess.run([".venv/bin/gateway", "user", "add", "readme-check", "--role", "admin"], cwd=folder,
                           capture_output=True, text=True, check=True)
    token = added.stdout.strip().splitlines()[-1]
    with httpx.Client(base_url=URL, headers={"Authorization": f"Bearer {token}"}, timeout=30) as api:
        settled(api)
        unsorted = api.get("/api/v1/unsorted", params={"limit": 200}).json()["items"]
        return {
            "unsorted": [{k: x[k] for k in ("channel", "name", "recording", "attachments", "source")}
                         for x in unsorted],
            "failed": api.get("/api/v1/events", params={"status": "failed"}).json()["items"],
            "dead": api.get("/api/v1/events", params={"status": "dead"}).json()["items"],
            "ready": api.get("/readyz").json(),
        }


def main(folder: Path, report: Path) -> int:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)  # a new namespace starts with it down
    blocks = quick_start_blocks((folder / "README.md").read_text(encoding="utf-8"))
    start = next(i for i, block in enumerate(blocks) if "scripts/run.sh" in block)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    with (folder / "demo.log").open("wb") as log:
        server = subprocess.Popen(["bash", "-euo", "pipefail", "-c", blocks[start]], cwd=folder, env=env,
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    out: dict[str, Any] = {}
    try:
        wait_ready(server, 120)
        steps = "\n".join(blocks[:start] + blocks[start + 1:])
        began = time.monotonic()
        ran = subprocess.run(["bash", "-euo", "pipefail", "-c", steps], cwd=folder, env=env, capture_output=True,
                             text=True, timeout=300)
        out.update(returncode=ran.returncode, stdout=ran.stdout, stderr=ran.stderr,
                   seconds=round(time.monotonic() - began, 1))
        out.update(gateway_state(folder))
    finally:
        os.killpg(server.pid, signal.SIGINT)  # Ctrl-C, as the newcomer stops it
        out["stopped_with"] = server.wait(timeout=60)
        out["demo_log"] = (folder / "demo.log").read_text(encoding="utf-8", errors="replace")
        report.write_text(json.dumps(out, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
