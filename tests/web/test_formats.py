"""The page's Russian: numbers, sizes, durations, days and plurals through Babel; phones through phonenumbers;
errors in words."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from gateway.web.formats import Formats, parse_day, zone
from gateway.web.problems import explain

NOW = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)  # 12:00 in Moscow
RU = Formats("ru", zone("Europe/Moscow"), NOW)


def test_numbers_sizes_and_durations_read_as_russian() -> None:
    assert RU.number(5537) == "5\u00a0537"
    assert RU.percent(0.007) == "0,7 %"
    assert RU.decimal(0.70, 2) == "0,7"
    assert [RU.size(n) for n in (47, 1536, 2_400_000)] == ["47 Б", "1,5 кБ", "2,3 МБ"]
    assert [RU.duration(s) for s in (559, 45, 3900, 0)] == ["9 мин 19 с", "45 с", "1 ч 5 мин", "0 с"]
    forms = {"one": "лид", "few": "лида", "many": "лидов"}
    assert [RU.plural(n, forms) for n in (1, 3, 5, 21)] == ["1 лид", "3 лида", "5 лидов", "21 лид"]


def test_times_read_at_a_glance_in_the_readers_zone() -> None:
    assert RU.when(NOW - timedelta(hours=1, minutes=20)) == "сегодня 10:40"
    assert RU.when(NOW - timedelta(days=1)) == "вчера 12:00"
    assert RU.when(datetime(2025, 1, 5, 8, 30, tzinfo=UTC)) == "5 янв. 11:30"
    assert RU.when(datetime(2023, 3, 5, 8, 30, tzinfo=UTC)) == "5 мар. 2023\u202fг."
    yekaterinburg = Formats("ru", zone("Asia/Yekaterinburg"), NOW)
    assert yekaterinburg.when(NOW) == "сегодня 14:00" and yekaterinburg.zone_name() == "Екатеринбург (UTC+5)"
    assert RU.zone_name() == "Москва (UTC+3)"


def test_days_are_typed_and_shown_the_russian_way() -> None:
    assert parse_day("31.12.2024") == parse_day("31.12.24") == parse_day("2024-12-31") == date(2024, 12, 31)
    assert parse_day("31.02.2024") is None and parse_day("завтра") is None
    assert RU.day("2024-12-31") == "31.12.2024"


def test_phones_are_grouped_for_reading() -> None:
    assert RU.phone("+79507092247") == "+7 950 709-22-47"
    assert RU.phone("74951234567") == "+7 495 123-45-67"
    assert RU.phone("101") == "101"


def test_stored_errors_say_what_happened_whether_it_is_retried_and_what_to_do() -> None:
    p = explain("TransientUpstreamError: upstream unreachable: ConnectError", status="failed")
    assert (p.what, p.retry) == ("Не удалось связаться с внешним сервисом", "Шлюз повторит сам.")
    assert p.kind == "TransientUpstreamError" and "Error" not in p.what + p.retry + p.todo
    dead = explain("ConfigError: no [[telephony.mango]] account 'old'", status="dead")
    assert dead.what == "Настройка отсутствует или неверна" and "вручную" in dead.retry
    assert "перезапустите" in dead.todo
    crash = explain('Traceback (most recent call last):\n  File "x.py"\nValueError: bad', status="dead")
    assert crash.what == "Внутренний сбой шлюза" and crash.original.startswith("Traceback")
    assert explain("AuthenticationError", kind="AuthenticationError").what == "Вход или ключ не приняты"
