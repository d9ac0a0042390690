"""wrk (Debian's package) as a load generator: run it, read its figures.

`run` loads a URL with one Lua script; `requests_script` writes a script that sends prepared raw
requests one after another (each wrk thread its own file of them, so no request is sent twice while
the files last), for loads whose every request must differ, such as signed notifications.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Result", "parse", "requests_script", "require", "run"]

SEPARATOR = b"\0"  # between two prepared requests in a thread's file (never inside an HTTP/1.1 request)

_REQUESTS_LUA = """
local files = {files}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("file", files[counter])
end
function init(args)
  local f = assert(io.open(file, "rb"))
  local text = f:read("*a")
  f:close()
  reqs = {{}}
  for r in string.gmatch(text, "([^%z]+)") do reqs[#reqs + 1] = r end
  i = 0
end
function request()
  i = i + 1
  if i > #reqs then i = 1 end
  return reqs[i]
end
"""


@dataclass(frozen=True)
class Result:
    rate: float  # requests per second, as wrk counts them
    total: int
    non2xx: int
    errors: str
    p50_ms: float
    p99_ms: float


def require() -> None:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")


def requests_script(directory: Path, per_thread: Iterable[Iterable[bytes]]) -> Path:
    """A Lua script sending each thread's prepared raw requests in turn (from the start again once they run out)."""
    files = []
    for n, requests in enumerate(per_thread):
        path = directory / f"requests-{n}.bin"
        path.write_bytes(SEPARATOR.join(requests))
        files.append(path)
    script = directory / "requests.lua"
    script.write_text(_REQUESTS_LUA.format(files="{" + ", ".join(f'"{p}"' for p in files) + "}"))
    return script


def run(url: str, seconds: float, connections: int, script: Path, threads: int = 2) -> Result:
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
                          "-s", str(script), url], capture_output=True, text=True, check=True).stdout
    return parse(out)


def parse(out: str) -> Result:
    """wrk's report: requests/s, the count, non-2xx answers, socket errors, the 50th and 99th percentiles."""
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    if rate is None or total is None:
        raise ValueError(f"not a wrk report: {out[:200]!r}")
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)

    def latency(p: str) -> float:
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)\b", out)
        return float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)] if m else float("nan")

    return Result(float(rate.group(1)), int(total.group(1)), int(non2xx.group(1)) if non2xx else 0,
                  errors.group(1) if errors else "", latency("50"), latency("99"))
