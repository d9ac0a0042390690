"""Structured logs: JSON when not on a terminal, phones and e-mails masked, secrets dropped."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import structlog

__all__ = ["bound", "configure_logging", "mask_email", "mask_phone", "mask_text"]

_SECRET_KEYS = re.compile(r"(password|secret|token|salt|api_key|authorization|sign|cookie|csrf)", re.I)
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_PHONE = re.compile(r"(?<![\w])(\+?\d[\d\s().-]{8,}\d)(?![\w])")


def mask_phone(value: str) -> str:
    """`+79161234567` -> `+7916***4567`; short numbers (extensions) are left alone."""
    digits = re.sub(r"\D", "", value)
    if len(digits) < 9:
        return value
    plus = "+" if value.strip().startswith("+") else ""
    return f"{plus}{digits[:4]}***{digits[-4:]}"


def mask_email(value: str) -> str:
    """`ivan@example.com` -> `i***@example.com`."""
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", value)


def mask_text(value: str) -> str:
    if "@" in value:
        value = _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", value)
    return _PHONE.sub(lambda m: mask_phone(m.group(1)), value)


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: ("***" if _SECRET_KEYS.search(str(k)) else _mask_value(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_value(v) for v in value]
    return value


# Fields that are the log's own or hold identifiers and names we make: no phone or e-mail is in them (an event
# id is hex; one made of digits alone is still not a phone, and masking it would lose the id).
_OWN_KEYS = frozenset({"event", "timestamp", "level", "logger", "event_id", "connector", "channel", "status",
                       "quality"})
_KEEP, _SECRET, _MASK = 0, 1, 2


@lru_cache(maxsize=1024)
def _rule(key: str) -> int:
    """What a field named `key` gets: kept, replaced (a secret), or masked (it may hold a phone or e-mail)."""
    if key in _OWN_KEYS:
        return _KEEP
    return _SECRET if _SECRET_KEYS.search(key) else _MASK


def _mask_processor(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in event_dict.items():
        rule = _rule(key)
        if rule == _SECRET:
            event_dict[key] = "***"
        elif rule == _MASK and not isinstance(value, int | float | None):
            event_dict[key] = _mask_value(value)
    if isinstance(event_dict.get("exception"), str):
        event_dict["exception"] = mask_text(event_dict["exception"])
    return event_dict


def _mask_rendered_exception(
    _logger: Any, _name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    if isinstance(event_dict.get("exception"), str):
        event_dict["exception"] = mask_text(event_dict["exception"])
    return event_dict


@contextmanager
def bound(**values: Any) -> Iterator[None]:
    """`structlog.contextvars.bound_contextvars` for a hot path: the values bound for the block, and whatever
    they replaced put back after it (by the tokens binding gave, with no copy of the context)."""
    tokens = structlog.contextvars.bind_contextvars(**values)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)


class _CurrentStderr:
    """Writes to whatever sys.stderr is at the time (it may have been replaced since configuration)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(fmt: str | None = None, level: str = "info") -> None:
    """Console output on a terminal, JSON otherwise (or as `fmt` says)."""
    fmt = fmt or ("console" if sys.stderr.isatty() else "json")
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _mask_processor,
    ]
    if fmt == "json":
        renderer: Any = structlog.processors.JSONRenderer()
        shared += [structlog.processors.format_exc_info, _mask_rendered_exception]
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    # One output for every logger: the factory is called at each line through a module's logger (they are
    # not cached, so that configuring again takes effect), and a new PrintLogger looked up its file's lock.
    output = structlog.PrintLogger(file=_CurrentStderr())  # type: ignore[arg-type]
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper(), logging.INFO)),
        logger_factory=lambda *_args: output,
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
