"""The cyclic garbage collector, set for a long-running process once it has started.

A full collection walks every object the process holds. A started worker holds a few hundred thousand that
live as long as it does (modules, SQLAlchemy's compiled statements, pydantic's validators, phone metadata): in
`bench/process.py`, full collections took 90 ms each, 26-32 us an event; in `gateway serve` under load, one
stopped the event loop for 107-120 ms. `settle()` collects what start-up left and moves the rest into the
permanent generation (`gc.freeze`): no collection walks it again. The generations' thresholds stay CPython's:
collecting the youngest every 50,000 new objects instead of 700 saved another 9-15 us an event, but the
processes' memory then grew through a 10-minute soak (server 111 -> 125 MB, worker 82 -> 99) where it is flat
with the defaults (server 119 MB from the eighth minute on, worker 92 MB from the sixth).
"""

from __future__ import annotations

import gc

__all__ = ["settle"]


def settle() -> None:
    """Call once the process has started (modules imported, runtime built), before its work begins."""
    gc.collect()  # what start-up left as garbage is not kept for ever
    gc.freeze()
