"""A started process keeps what it holds out of the garbage collector's walks (run in a fresh interpreter: the
settings are the process's own)."""

from __future__ import annotations

import json
import subprocess
import sys

from gateway.heap import YOUNG_THRESHOLD

_PROBE = """
import gc, json
import gateway.dispatch.runtime  # what a worker holds once started
before = (gc.get_freeze_count(), gc.get_threshold())
from gateway.heap import settle
settle()
held = [{"made": "after"} for _ in range(1000)]
print(json.dumps({"before": before, "frozen": gc.get_freeze_count(), "threshold": gc.get_threshold(),
                  "young": gc.get_count()[0]}))
"""


def test_settle_freezes_what_the_started_process_holds_and_collects_the_young_less_often() -> None:
    out = json.loads(subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True).stdout)
    assert out["before"] == [0, [700, 10, 10]]  # CPython's defaults until then
    assert out["frozen"] > 50_000  # modules, classes, validators: never walked again
    assert out["threshold"] == [YOUNG_THRESHOLD, 10, 10]
    assert out["young"] >= 1000  # objects made after it are tracked (and collected) as before
