"""Structured logs: JSON when not on a terminal, phones and e-mails masked, secrets dropped."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

__all__ = ["configure_logging", "mask_email", "mask_phone", "mask_text"]

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


def _mask_processor(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if key in ("event", "timestamp", "level", "logger"):
            continue
        if _SECRET_KEYS.search(key) and key not in ("event_id",):
            event_dict[key] = "***"
        else:
            event_dict[key] = _mask_value(event_dict[key])
    if isinstance(event_dict.get("exception"), str):
        event_dict["exception"] = mask_text(event_dict["exception"])
    return event_dict


def _mask_rendered_exception(
    _logger: Any, _name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    if isinstance(event_dict.get("exception"), str):
        event_dict["exception"] = mask_text(event_dict["exception"])
    return event_dict


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
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper(), logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(file=_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
