"""How the deal pages write money, counts with their plural word, ages and moments: Babel (CLDR), never by hand."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from babel import Locale
from babel.dates import format_datetime, format_timedelta
from babel.numbers import format_currency, format_decimal

__all__ = ["DEALS", "TASKS", "DealFormats"]

DEALS = {"one": "сделка", "few": "сделки", "many": "сделок", "other": "сделки"}
TASKS = {"one": "задача", "few": "задачи", "many": "задач", "other": "задачи"}
_EN = {"сделка": "deal", "сделки": "deals", "сделок": "deals", "задача": "task", "задачи": "tasks", "задач": "tasks"}


def _aware(value: datetime | str) -> datetime:
    ts = datetime.fromisoformat(value) if isinstance(value, str) else value
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class DealFormats:
    """Formatters for one reader: their language, the company's time zone, the moment the page is drawn."""

    lang: str
    tz: tzinfo
    now: datetime

    def number(self, value: float | int | None) -> str:
        return "" if value is None else format_decimal(value, locale=self.lang)

    def money(self, value: float | None) -> str:
        """1 250 000 ₽ (roubles, without kopecks)."""
        return "" if value is None else format_currency(value, "RUB", format="#,##0\u00a0¤", locale=self.lang,
                                                        currency_digits=False)

    def plural(self, count: int, forms: Mapping[str, str]) -> str:
        """`count` and its word in the right plural form (forms: one, few, many, other)."""
        form = Locale.parse(self.lang).plural_form(count)
        word = forms.get(form) or forms["other"]
        return f"{self.number(count)} {word if self.lang == 'ru' else _EN.get(word, word)}"

    def age(self, value: datetime | str | None) -> str:
        """How long ago: 3 дня, 5 часов."""
        if not value:
            return ""
        return format_timedelta(self.now - _aware(value), threshold=1.5, locale=self.lang)

    def until(self, value: datetime | str | None) -> str:
        """How long until (or since, for a past moment): через 2 часа, 3 дня назад."""
        if not value:
            return ""
        return format_timedelta(_aware(value) - self.now, add_direction=True, threshold=1.5, locale=self.lang)

    def when(self, value: datetime | str | None) -> str:
        if not value:
            return ""
        return format_datetime(_aware(value).astimezone(self.tz), "d MMM, HH:mm", locale=self.lang)
