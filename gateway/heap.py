"""The cyclic garbage collector, set for a long-running process once it has started.

CPython's defaults suit short scripts: the youngest generation is collected every 700 new container objects,
and a full collection walks every object the process holds. A started worker holds a few hundred thousand that
live as long as it does (modules, SQLAlchemy's compiled statements, pydantic's validators, phone metadata):
in `bench/process.py`, full collections took 90 ms each, 26-32 us an event, and the young ones another 9-15.
`settle()` moves what the process holds once started into the permanent generation (`gc.freeze`: no
collection walks it again) and collects the youngest generation every 50,000 new container objects; most of a
batch's objects are freed by their reference counts before then, and a cycle lives at most that long.
"""

from __future__ import annotations

import gc

__all__ = ["YOUNG_THRESHOLD", "settle"]

YOUNG_THRESHOLD = 50_000


def settle() -> None:
    """Call once the process has started (modules imported, runtime built), before its work begins."""
    gc.collect()  # what start-up left as garbage is not kept for ever
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
