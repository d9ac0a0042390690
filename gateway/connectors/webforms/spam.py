"""Quiet spam rules: a filled honeypot, a form filled faster than a person can.

The sender is never told: the submission is stored and answered like any other and the
lead is marked non-target with the reason, for an operator to see.
"""

from __future__ import annotations

import math
from datetime import datetime

from gateway.config.forms import FormSettings

__all__ = ["spam_reason"]

_MS_THRESHOLD = 1e11  # a unix time above this is in milliseconds (year 5138 in seconds)


def _first(fields: dict[str, list[str]], name: str) -> str:
    return next((v.strip() for v in fields.get(name, []) if v.strip()), "")


def _fill_seconds(raw: str, received_at: datetime) -> float | None:
    try:
        started = float(raw)
    except ValueError:
        return None
    if not math.isfinite(started) or started <= 0:
        return None
    if started > _MS_THRESHOLD:
        started /= 1000
    return received_at.timestamp() - started


def spam_reason(fields: dict[str, list[str]], form: FormSettings, received_at: datetime) -> str | None:
    """`honeypot`, `filled too fast` or None.

    The timestamp field holds the time the page was shown (unix seconds or milliseconds),
    best written by the server into the page; one set by the visitor's browser also works,
    but a browser clock running ahead makes a person look fast.
    """
    if form.honeypot_field and _first(fields, form.honeypot_field):
        return "honeypot"
    raw = _first(fields, form.timestamp_field) if form.timestamp_field else ""
    if raw and form.min_fill_seconds > 0:
        elapsed = _fill_seconds(raw, received_at)
        if elapsed is not None and elapsed < form.min_fill_seconds:
            return "filled too fast"
    return None
