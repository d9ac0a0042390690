"""A started process keeps what it holds out of the garbage collector's walks (run in a fresh interpreter: the
collector's state is the process's own)."""

from __future__ import annotations

import json
import subprocess
import sys

_PROBE = """
import gc, json
import gateway.dispatch.runtime  # what a worker holds once started
before = gc.get_freeze_count()
from gateway.heap import settle
settle()
cycle = []
cycle.append(cycle)  # garbage made after it, only a collection can free
del cycle
print(json.dumps({"before": before, "frozen": gc.get_freeze_count(), "collected": gc.collect(),
                  "threshold": gc.get_threshold()}))
"""


def test_settle_freezes_what_the_started_process_holds() -> None:
    out = json.loads(subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True).stdout)
    assert out["before"] == 0
    assert out["frozen"] > 50_000  # modules, classes, validators: never walked again
    assert out["collected"] >= 1  # what is made after it is collected as before
    assert out["threshold"] == [700, 10, 10]  # CPython's: a larger one let the memory grow through a soak
