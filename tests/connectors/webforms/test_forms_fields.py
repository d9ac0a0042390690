"""Field mapping, UTM tags and sources, spam rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.config.forms import FormSettings, SourceRule
from gateway.connectors.webforms.attribution import choose_source, page_tags, utm_tags
from gateway.connectors.webforms.mapping import fold, map_fields, parse_budget
from gateway.connectors.webforms.spam import spam_reason

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(("field", "lead"), [
    ("name", "name"), ("Name", "name"), ("fio", "name"), ("Имя", "name"), ("your-name", "name"),
    ("ФИО", "name"), ("phone", "phone"), ("Phone", "phone"), ("tel", "phone"), ("телефон", "phone"),
    ("your-tel", "phone"), ("email", "email"), ("e-mail", "email"), ("E-mail", "email"), ("почта", "email"),
    ("your-email", "email"), ("message", "text"), ("comment", "text"), ("сообщение", "text"),
    ("Комментарий", "text"), ("your-message", "text"), ("company", "company"), ("Компания", "company"),
    ("position", "position"), ("должность", "position"), ("budget", "budget"), ("Бюджет", "budget"),
    ("contact[phone]", "phone"), ("lead.email", "email"), ("subject", "subject"), ("фамилия", "last_name"),
])
def test_default_names(field: str, lead: str) -> None:
    assert map_fields({field: ["x"]}, {}, set()).values == {lead: ["x"]}


def test_the_forms_mapping_wins_and_the_rest_is_kept() -> None:
    lead = map_fields({"f_12": ["+7 916"], "name": ["Иван"], "city": ["Москва"], "utm_source": ["ya"], "f_9": ["x"]},
                      {"f_12": "phone", "name": "company", "f_9": "ignore"}, {"utm_source"})
    assert lead.values == {"phone": ["+7 916"], "company": ["Иван"]}
    assert lead.rest == {"city": ["Москва"]}


def test_empty_values_are_not_lead_values() -> None:
    assert map_fields({"phone": ["", "  "], "email": ["a@b.ru"]}, {}, set()).values == {"email": ["a@b.ru"]}


def test_the_settings_refuse_an_unknown_lead_field() -> None:
    with pytest.raises(ValueError, match="unknown lead field"):
        FormSettings(id="x", fields={"a": "telephone"})


@pytest.mark.parametrize(("raw", "value"), [
    ("150 000 ₽", 150000.0), ("1,5 млн", 1_500_000.0), ("20k", 20000.0), ("100 тыс. руб", 100000.0),
    ("500000", 500000.0), ("договорной", None), ("", None), ("9" * 40, None), ("20 кв.м", 20.0),
])
def test_budget(raw: str, value: float | None) -> None:
    assert parse_budget(raw) == value


@given(st.dictionaries(st.text(max_size=30), st.lists(st.text(max_size=50), max_size=3), max_size=10),
       st.dictionaries(st.text(max_size=30), st.sampled_from(["phone", "email", "name", "ignore"]), max_size=3))
def test_every_field_lands_somewhere(fields: dict[str, list[str]], mapping: dict[str, str]) -> None:
    lead = map_fields(fields, mapping, set())
    assert set(lead.rest) <= set(fields)
    for values in lead.values.values():
        assert all(v.strip() == v and v for v in values)
    assert fold(next(iter(fields), "")) == fold(fold(next(iter(fields), "")))


def test_utm_from_fields_win_over_the_page() -> None:
    page = "https://shop.example.ru/catalog?utm_source=yandex&utm_medium=cpc&yclid=123&x=1"
    assert utm_tags({"UTM_SOURCE": ["google"], "utm_term": ["окна"]}, page) == {
        "utm_source": "google", "utm_medium": "cpc", "utm_term": "окна", "yclid": "123"}


@pytest.mark.parametrize("page", [None, "", "not a url", "http://[::1", "https://x.ru/?utm_source="])
def test_pages_without_tags(page: str | None) -> None:
    assert page_tags(page) == {}


def test_source_rules_first_match_wins() -> None:
    form = FormSettings(id="site-ru", name="Сайт", source_rules=[
        SourceRule(utm_source="yandex*", utm_medium="cpc", source="Яндекс.Директ"),
        SourceRule(utm_source="yandex*", source="Яндекс"),
        SourceRule(utm_campaign="*spring*", source="Весна"),
    ])
    assert choose_source({"utm_source": "Yandex.Direct", "utm_medium": "CPC"}, form) == "Яндекс.Директ"
    assert choose_source({"utm_source": "yandex"}, form) == "Яндекс"
    assert choose_source({"utm_campaign": "2026_spring_sale"}, form) == "Весна"
    assert choose_source({"utm_source": "google"}, form) == "Сайт"
    assert choose_source({}, FormSettings(id="site-ru", source="Сайт RU")) == "Сайт RU"
    assert choose_source({}, FormSettings(id="site-ru")) == "site-ru"


@given(st.dictionaries(st.text(max_size=20), st.lists(st.text(max_size=40), max_size=2), max_size=6),
       st.text(max_size=200))
def test_utm_never_raises(fields: dict[str, list[str]], page: str) -> None:
    tags = utm_tags(fields, page)
    assert all(v and len(v) <= 500 for v in tags.values())


@pytest.mark.parametrize(("fields", "reason"), [
    ({"_hp": ["http://spam"]}, "honeypot"),
    ({"_hp": [""], "_ts": [str(NOW.timestamp() - 1)]}, "filled too fast"),
    ({"_ts": [str(int(NOW.timestamp() * 1000) - 500)]}, "filled too fast"),  # milliseconds
    ({"_ts": [str(NOW.timestamp() + 3600)]}, "filled too fast"),  # from the future
    ({"_ts": [str(NOW.timestamp() - 40)]}, None),
    ({"_ts": [str(int(NOW.timestamp() * 1000) - 40_000)]}, None),
    ({"_ts": ["garbage"]}, None),
    ({"_ts": ["nan"]}, None),
    ({}, None),
])
def test_spam_rules(fields: dict[str, list[str]], reason: str | None) -> None:
    assert spam_reason(fields, FormSettings(id="f", min_fill_seconds=3), NOW) == reason


def test_spam_rules_can_be_switched_off() -> None:
    form = FormSettings(id="f", honeypot_field="", min_fill_seconds=0)
    assert spam_reason({"_hp": ["x"], "_ts": [str(NOW.timestamp())]}, form, NOW) is None
