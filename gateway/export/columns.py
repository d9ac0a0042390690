"""The columns of the exported files: a title and how to take the value from a journal or deal row."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from gateway.store.journal_view import LEAD_TYPES

__all__ = ["DEAL_COLUMNS", "LABELS", "LEAD_COLUMNS", "Column", "cell_values", "row_maker", "safe_text"]

MAX_TEXT = 32_000  # a spreadsheet cell holds 32,767 characters
LABELS: dict[str, dict[str, str]] = {
    "quality": {"target": "целевой", "repeat": "повторный", "non_target": "нецелевой", "unverified": "непроверенный"},
    "status": {"unsorted": "неразобранное", "accepted": "принят", "declined": "отклонён",
               "linked": "привязан к сделке", "attached": "в истории контакта"},  # the page's words too
    "direction": {"in": "входящий", "out": "исходящий", "internal": "внутренний"},
    "result": {"answered": "отвечен", "missed": "пропущен", "busy": "занято", "rejected": "отклонён",
               "unavailable": "недоступен", "in_progress": "идёт", "no_answer": "нет ответа"},
    "type": LEAD_TYPES,
    "deal_status": {"open": "в работе", "won": "успешно", "lost": "закрыта"},
}
_FORMULA = re.compile(r"^[=+\-@\t\r]")
_NUMBER = re.compile(r"^[+-]?[\d\s().,-]+$")


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    value: Callable[[dict[str, Any]], Any]
    kind: str = "text"  # text | int | float | datetime | bool


def _key(name: str) -> Callable[[dict[str, Any]], Any]:
    return lambda row: row.get(name)


def _label(name: str, labels: str | None = None) -> Callable[[dict[str, Any]], Any]:
    table = LABELS[labels or name]

    def label(row: dict[str, Any]) -> Any:
        value = row.get(name)
        return None if value is None else table.get(value, value)

    return label


def _joined(name: str) -> Callable[[dict[str, Any]], Any]:
    return lambda row: ", ".join(str(v) for v in row.get(name) or []) or None


def _utm(name: str) -> Callable[[dict[str, Any]], Any]:
    return lambda row: (row.get("utm") or {}).get(name)


def _points(row: dict[str, Any]) -> str | None:
    return "; ".join(f"{d.get('rule')} {int(d.get('points', 0)):+d}" for d in row.get("score_details") or []) or None


LEAD_COLUMNS: tuple[Column, ...] = (
    Column("ID", _key("id"), "int"),
    Column("Время", _key("received_at"), "datetime"),
    Column("Название", _key("title")),
    Column("Этап", _key("stage")),
    Column("Воронка", _key("pipeline")),
    Column("Телефон", _key("phone")),
    Column("Тип", _label("type")),
    Column("Длительность, с", _key("duration_s"), "int"),
    Column("Запись", _key("recording")),
    Column("Источник", _key("source")),
    Column("Группа источников", _key("source_group")),
    Column("Результат АТС", _label("result")),
    Column("Менеджер", _key("manager")),
    Column("Принял", _key("manager_taken")),
    Column("Ответственный", _key("manager_responsible")),
    Column("Отдел", _key("department")),
    Column("Качество", _label("quality")),
    Column("Канал", _key("channel")),
    Column("Статус", _label("status")),
    Column("Рекламный", _key("advertising"), "bool"),
    Column("Направление", _label("direction")),
    Column("Имя", _key("name")),
    Column("E-mail", _key("email")),
    Column("Баллы", _key("score"), "int"),
    Column("Баллы за", _points),
    Column("Перезвонить", _key("needs_callback"), "bool"),
    Column("Теги", _joined("tags")),
    Column("utm_source", _utm("utm_source")),
    Column("utm_medium", _utm("utm_medium")),
    Column("utm_campaign", _utm("utm_campaign")),
    Column("Тема", _key("subject")),
    Column("Текст", _key("text")),
    Column("Сделка", _key("deal_id"), "int"),
    Column("Ближайшая задача", lambda row: (row.get("nearest_task") or {}).get("text")),
    Column("Срок задачи", lambda row: (row.get("nearest_task") or {}).get("due_at"), "datetime"),
)

DEAL_COLUMNS: tuple[Column, ...] = (
    Column("ID", _key("id"), "int"),
    Column("Название", _key("name")),
    Column("Контакт", _key("contact")),
    Column("Телефон", _key("phone")),
    Column("E-mail", _key("email")),
    Column("Компания", _key("company")),
    Column("Ответственный", _key("responsible")),
    Column("Воронка", _key("pipeline")),
    Column("Этап", _key("stage")),
    Column("Статус", _label("status", "deal_status")),
    Column("Бюджет", _key("budget"), "float"),
    Column("Создана", _key("created_at"), "datetime"),
    Column("Изменена", _key("updated_at"), "datetime"),
    Column("Закрыта", _key("closed_at"), "datetime"),
    Column("Теги", _joined("tags")),
    Column("Лидов", _key("leads"), "int"),
)


def _local(value: Any, tz: tzinfo) -> datetime | None:
    """The company's wall-clock time, without a zone (a stored time without one is UTC)."""
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz).replace(tzinfo=None, microsecond=0)


def _cell(col: Column, tz: tzinfo, base_url: str) -> Callable[[dict[str, Any]], Any]:
    value = col.value
    if col.kind == "datetime":
        return lambda row: _local(value(row), tz)
    if col.kind != "text":
        return value

    def text(row: dict[str, Any]) -> Any:
        v = value(row)
        if v.__class__ is not str:
            return v
        if base_url and v.startswith("/api/"):
            return base_url + v
        return v if len(v) <= MAX_TEXT else v[:MAX_TEXT]

    return text


def row_maker(columns: Sequence[Column], tz: tzinfo, base_url: str = "") -> Callable[[dict[str, Any]], list[Any]]:
    """A function from a row to its cells: datetimes as the company's local time (naive), texts capped to a cell."""
    cells = [_cell(c, tz, base_url) for c in columns]
    return lambda row: [cell(row) for cell in cells]


def cell_values(columns: Sequence[Column], row: dict[str, Any], tz: tzinfo, base_url: str = "") -> list[Any]:
    """One row's cells (see `row_maker`, which is faster for many rows)."""
    return row_maker(columns, tz, base_url)(row)


def safe_text(value: str) -> str:
    """A text a spreadsheet will not run as a formula (phone numbers and plain numbers kept as they are)."""
    if _FORMULA.match(value) and not _NUMBER.match(value):
        return "'" + value
    return value
