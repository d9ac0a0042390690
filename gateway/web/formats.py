"""How the page writes numbers, sizes, durations, dates, plurals and phone numbers: Babel (CLDR) and phonenumbers.

One `Formats` per request, bound to the reader's language, time zone and the current moment. Templates
get it as `fmt`; the report's and the health page's human text use the same object.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
from babel import Locale
from babel.dates import format_date, format_datetime, format_time, format_timedelta, get_timezone_location
from babel.numbers import format_currency, format_decimal, format_percent
from babel.units import format_unit

__all__ = ["DAY_WORDS", "Formats", "parse_day", "zone", "zone_choices"]

_SIZES = ((1 << 30, "digital-gigabyte"), (1 << 20, "digital-megabyte"), (1 << 10, "digital-kilobyte"))
# CLDR has no words for "today" and "yesterday" next to a time: the page's own words
DAY_WORDS = {"ru": ("сегодня", "вчера"), "en": ("today", "yesterday")}
_DAY_INPUT = {"ru": "dd.MM.yyyy", "en": "yyyy-MM-dd"}
# the zones offered in a user's settings: Russia's, then the neighbours operators usually work from
_OFFERED = ("Europe/Kaliningrad", "Europe/Moscow", "Europe/Samara", "Asia/Yekaterinburg", "Asia/Omsk",
            "Asia/Novosibirsk", "Asia/Krasnoyarsk", "Asia/Irkutsk", "Asia/Yakutsk", "Asia/Vladivostok",
            "Asia/Magadan", "Asia/Kamchatka", "Europe/Minsk", "Asia/Almaty", "Asia/Tashkent", "Asia/Tbilisi",
            "Asia/Yerevan", "Europe/Istanbul", "Asia/Dubai", "Europe/Berlin", "Europe/London", "UTC")


def zone(name: str | None, fallback: str = "UTC") -> ZoneInfo:
    """The named time zone, or the fallback when the name is empty or unknown."""
    for candidate in (name, fallback, "UTC"):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


def zone_choices() -> tuple[str, ...]:
    """Zones a user may choose (the offered ones that this machine's zone database knows)."""
    known = available_timezones() | {"UTC"}
    return tuple(z for z in _OFFERED if z in known)


def parse_day(text: str) -> date | None:
    """A day typed as 31.12.2024, 31.12.24 or 2024-12-31; None when it is not one."""
    text = text.strip()
    try:
        if "-" in text:
            return date.fromisoformat(text)
        day, month, year = (int(p) for p in text.split("."))
    except ValueError:
        return None
    year += 2000 if year < 100 else 0
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _aware(value: datetime | str) -> datetime:
    ts = datetime.fromisoformat(value) if isinstance(value, str) else value
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Formats:
    """Formatters for one reader: `lang` (ru, en), their time zone and the moment the page is drawn."""

    lang: str
    tz: tzinfo
    now: datetime

    @property
    def locale(self) -> Locale:
        return Locale.parse(self.lang)

    def number(self, value: float | int | None) -> str:
        return "" if value is None else format_decimal(value, locale=self.lang)

    def decimal(self, value: float | None, digits: int = 1) -> str:
        if value is None:
            return ""
        return format_decimal(value, format="#,##0." + "#" * digits, locale=self.lang)

    def percent(self, fraction: float | None, digits: int = 1) -> str:
        if fraction is None:
            return ""
        return format_percent(fraction, format="#,##0." + "#" * digits + " %", locale=self.lang)

    def size(self, size: int | None) -> str:
        """Bytes in the largest unit under which the number stays above one (47 Б, 1,5 кБ, 2,3 МБ)."""
        if size is None:
            return ""
        for step, unit in _SIZES:
            if size >= step:
                return format_unit(round(size / step, 1), unit, length="short", locale=self.lang)
        return format_unit(size, "digital-byte", length="short", locale=self.lang)

    def duration(self, seconds: float | None) -> str:
        """9 мин 19 с, 1 ч 5 мин, 45 с: the two largest units that are not zero."""
        if seconds is None:
            return ""
        s = round(seconds)
        parts = [(s // 86400, "duration-day"), (s // 3600 % 24, "duration-hour"), (s // 60 % 60, "duration-minute"),
                 (s % 60, "duration-second")]
        shown = [(n, unit) for n, unit in parts if n][:2] or [(0, "duration-second")]
        return " ".join(format_unit(n, unit, length="short", locale=self.lang) for n, unit in shown)

    def money(self, value: float | None) -> str:
        """1 250 000 ₽: roubles without kopecks, the number kept on one line."""
        return "" if value is None else format_currency(value, "RUB", format="#,##0\u00a0¤", locale=self.lang,
                                                        currency_digits=False)

    def age(self, value: datetime | str | None) -> str:
        """How old: 3 дня, 5 часов."""
        return "" if not value else format_timedelta(self.now - _aware(value), threshold=1.5, locale=self.lang)

    def until(self, value: datetime | str | None) -> str:
        """How long until a moment, or since it: через 2 часа, 3 дня назад."""
        return "" if not value else format_timedelta(_aware(value) - self.now, add_direction=True, threshold=1.5,
                                                     locale=self.lang)

    def plural(self, count: int, forms: Mapping[str, str]) -> str:
        """`count` and its word in the right plural form (forms: one, few, many, other)."""
        form = self.locale.plural_form(count)
        word = forms.get(form) or forms.get("other") or next(iter(forms.values()))
        return f"{self.number(count)} {word}"

    def local(self, value: datetime | str) -> datetime:
        return _aware(value).astimezone(self.tz)

    def when(self, value: datetime | str | None) -> str:
        """At a glance: сегодня 11:40, вчера 18:05, 5 мар. 11:40, 5 мар. 2023 г."""
        if not value:
            return ""
        ts, today = self.local(value), self.now.astimezone(self.tz).date()
        clock = format_time(ts, "HH:mm", locale=self.lang)
        words = DAY_WORDS.get(self.lang, DAY_WORDS["en"])
        if ts.date() == today:
            return f"{words[0]} {clock}"
        if ts.date() == today - timedelta(days=1):
            return f"{words[1]} {clock}"
        if ts.year == today.year:
            return f"{format_date(ts, self._skeleton('MMMd'), locale=self.lang)} {clock}"
        return format_date(ts, self._skeleton("yMMMd"), locale=self.lang)

    def exact(self, value: datetime | str | None) -> str:
        """The full moment (for titles and details): 5 марта 2024 г., 11:40:05."""
        if not value:
            return ""
        return format_datetime(self.local(value), "medium", locale=self.lang)

    def day(self, value: date | datetime | str | None) -> str:
        """A day as the date fields take it: 31.12.2024 (ISO in English)."""
        if not value:
            return ""
        if isinstance(value, str):
            parsed = parse_day(value)
            if parsed is None:
                return value
            value = parsed
        return format_date(value, _DAY_INPUT.get(self.lang, "yyyy-MM-dd"), locale=self.lang)

    def day_hint(self) -> str:
        return "дд.мм.гггг" if self.lang == "ru" else "yyyy-mm-dd"

    def zone_name(self, name: str | None = None) -> str:
        """A zone as people say it: «Москва (UTC+3)»."""
        tz = zone(name) if name else self.tz
        key = getattr(tz, "key", "UTC")
        minutes = int((self.now.astimezone(tz).utcoffset() or timedelta(0)).total_seconds()) // 60
        hours, rest = divmod(abs(minutes), 60)
        shift = f"UTC{'−' if minutes < 0 else '+'}{hours}" + (f":{rest:02d}" if rest else "")
        if key == "UTC":
            return "UTC"
        return f"{get_timezone_location(tz, locale=self.lang, return_city=True)} ({shift})"

    def phone(self, value: str | None) -> str:
        """+7 950 709-22-47 for a stored E.164 number; anything else as it is."""
        if not value:
            return ""
        try:
            number = phonenumbers.parse(value if value.startswith("+") else "+" + value, None)
        except phonenumbers.NumberParseException:
            return value
        if not phonenumbers.is_valid_number(number):
            return value
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)

    def _skeleton(self, skeleton: str) -> str:
        return str(self.locale.datetime_skeletons.get(skeleton) or skeleton)

    def as_text(self, value: Any) -> str:
        """A form field's value for reading: lists joined, numbers in the reader's format."""
        if isinstance(value, bool):
            return "да" if value and self.lang == "ru" else "yes" if value else "нет" if self.lang == "ru" else "no"
        if isinstance(value, int | float):
            return self.number(value)
        if isinstance(value, list):
            return ", ".join(self.as_text(v) for v in value)
        if isinstance(value, dict):
            return ", ".join(f"{k}: {self.as_text(v)}" for k, v in value.items())
        return "" if value is None else str(value)
