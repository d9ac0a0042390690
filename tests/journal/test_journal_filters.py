"""Every journal filter, alone and combined, against the generated data set (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.core.errors import PayloadError
from gateway.store.journal import JournalFilters, count_leads, list_leads
from tests.journal.conftest import Journal
from tests.journal.journal_dataset import USERS, N, as_query, expected


def run(j: Journal, f: dict[str, Any], page: int = 13, probe: int = 2000) -> tuple[list[int], int]:
    """All pages of the filtered journal (spec indexes, in order) and its count."""
    filters = JournalFilters.from_query(as_query(f), j.settings)
    out: list[int] = []
    cursor = None
    with j.engine.connect() as conn:
        while True:
            rows, cursor = list_leads(conn, filters, limit=page, cursor=cursor, probe=probe)
            out.extend(j.indexes([r["id"] for r in rows]))
            if cursor is None:
                break
            assert len(rows) == page
        return out, count_leads(conn, filters)


def check(j: Journal, f: dict[str, Any], probe: int = 2000) -> list[int]:
    got, count = run(j, f, probe=probe)
    want = expected(j.specs, f)
    assert got == want, f
    assert count == len(want), f
    return got


def test_no_filter_is_every_lead_newest_first(journal_store: Journal) -> None:
    got = check(journal_store, {})
    assert got == list(range(N - 1, -1, -1))


@pytest.mark.parametrize(("f", "count"), [
    ({"channel": ["mango"]}, 40),  # one lead in seven
    ({"channel": ["mango", "forms"]}, 80),
    ({"kind": ["chat"]}, 120),
    ({"quality": ["target"]}, 70),  # (i // 2) % 4: one in four
    ({"quality": ["unsorted"]}, 56 + 0),  # status unsorted is i % 5 == 0
    ({"status": ["declined"]}, 56),
    ({"advertising": False}, 56),  # i % 5 == 3
    ({"advertising": True}, 224),
    ({"source": ["Сайт"]}, 56),
    ({"source_group": ["Контекст"]}, 112),
    ({"direction": ["internal"]}, 10),  # calls (40) with i % 4 == 3
])
def test_single_filters_have_the_designed_counts(journal_store: Journal, f: dict[str, Any], count: int) -> None:
    assert len(check(journal_store, f)) == count


@pytest.mark.parametrize("f", [
    {"manager": ["ivanov"]}, {"manager": ["sidorov"]}, {"manager": ["sidorov"], "include_dismissed": True},
    {"manager": ["ivanov", "petrov"], "manager_mode": "responsible"},
    {"manager": ["smirnova"], "manager_mode": "taken"}, {"manager": ["smirnova"], "manager_mode": "responsible"},
    {"department": ["Продажи"]}, {"department": ["Поддержка"]},
    {"department": ["Поддержка"], "include_dismissed": True},
    {"pipeline": ["Тендеры"]}, {"stage": ["Лид"]}, {"pipeline": ["Продажи"], "stage": ["Лид", "Переговоры"]},
    {"stage": ["Неразобранное"]}, {"tag": ["vip"]}, {"tag": ["опт", "тендер"]},
    {"needs_callback": True}, {"needs_callback": False},
    {"from": date(2024, 3, 5), "to": date(2024, 3, 9)}, {"from": date(2024, 3, 5)}, {"to": date(2024, 3, 2)},
    {"from": datetime.fromisoformat("2024-03-05T10:30:00+03:00"), "to": datetime.fromisoformat("2024-03-06T12:00")},
    {"by": "taken", "from": date(2024, 3, 5), "to": date(2024, 3, 9)},
    {"q": "камаз"}, {"q": "КАМАЗ"}, {"q": "Hello"}, {"q": "ivanova_x"}, {"q": "ivanova%"}, {"q": "Заявка номер 1"},
    {"q": "example1.ru"}, {"q": "example2.ru"}, {"q": "CLIENT3@EXAMPLE0.RU"}, {"q": "8 (495) 100-00-74"},
    {"q": "4951000"},
    {"q": "иван"}, {"sort": "score"}, {"sort": "score", "channel": ["vk"]},
])
def test_each_filter_matches_the_reference(journal_store: Journal, f: dict[str, Any]) -> None:
    check(journal_store, f)
    check(journal_store, f, probe=1)  # every indexed term as a check on rows walked in order


def test_dismissed_managers_only_on_request(journal_store: Journal) -> None:
    assert check(journal_store, {"manager": ["sidorov"]}) == []
    assert check(journal_store, {"manager": ["sidorov"], "include_dismissed": True})
    assert USERS["sidorov"][1]


def test_the_day_is_the_companys_day(journal_store: Journal) -> None:
    """Lead 0 arrived at 09:00 Moscow time on 1 March; lead 1 at 16:01."""
    got = check(journal_store, {"from": date(2024, 3, 1), "to": date(2024, 3, 1)})
    assert got == [2, 1, 0]  # the third lead arrives at 23:02 Moscow, still 1 March


VALUES: dict[str, Any] = {
    "channel": st.lists(st.sampled_from(["mango", "imap", "forms", "telegram", "vk", "whatsapp", "manual"]),
                        min_size=1, max_size=3, unique=True),
    "kind": st.lists(st.sampled_from(["call", "mail", "form", "chat", "manual"]), min_size=1, max_size=2, unique=True),
    "quality": st.lists(st.sampled_from(["target", "repeat", "non_target", "unverified", "unsorted"]),
                        min_size=1, max_size=2, unique=True),
    "status": st.lists(st.sampled_from(["unsorted", "accepted", "declined", "linked", "attached"]), min_size=1,
                       max_size=2, unique=True),
    "advertising": st.booleans(), "needs_callback": st.booleans(), "include_dismissed": st.booleans(),
    "source": st.lists(st.sampled_from(["Яндекс.Директ", "Google Ads", "Сайт", "Рассылка"]), min_size=1, max_size=2,
                       unique=True),
    "source_group": st.lists(st.sampled_from(["Контекст", "Почта"]), min_size=1, max_size=1),
    "manager": st.lists(st.sampled_from(list(USERS)), min_size=1, max_size=2, unique=True),
    "department": st.lists(st.sampled_from(["Продажи", "Поддержка"]), min_size=1, max_size=1),
    "manager_mode": st.sampled_from(["taken", "responsible"]),
    "direction": st.lists(st.sampled_from(["in", "out", "internal"]), min_size=1, max_size=2, unique=True),
    "pipeline": st.lists(st.sampled_from(["Продажи", "Тендеры"]), min_size=1, max_size=1),
    "stage": st.lists(st.sampled_from(["Неразобранное", "Лид", "Переговоры", "Заявка"]), min_size=1, max_size=2,
                      unique=True),
    "tag": st.lists(st.sampled_from(["vip", "опт", "тендер"]), min_size=1, max_size=2, unique=True),
    "from": st.dates(date(2024, 3, 1), date(2024, 4, 20)),
    "to": st.dates(date(2024, 3, 10), date(2024, 5, 1)),
    "by": st.sampled_from(["received", "taken"]),
    "q": st.sampled_from(["камаз", "hello", "Иван", "example2", "Заявка номер 2", "37"]),
    "sort": st.sampled_from(["received", "score"]),
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_combinations_match_the_reference(journal_store: Journal, data: st.DataObject) -> None:
    keys = data.draw(st.lists(st.sampled_from(sorted(VALUES)), min_size=2, max_size=5, unique=True))
    f = {k: data.draw(VALUES[k], label=k) for k in keys}
    check(journal_store, f)


@pytest.mark.parametrize("query", [
    {"quality": "excellent"}, {"channel": "fax"}, {"by": "yesterday"}, {"from": "March"}, {"advertising": "maybe"},
    {"sort": "name"}, {"manager_mode": "boss"}, {"direction": "up"}, {"to": "9999-12-31"}, {"q": "a\x00b"},
    {"manager": "x" * 600},
])
def test_bad_filters_are_refused_with_the_reason(query: dict[str, str]) -> None:
    with pytest.raises(PayloadError, match="bad filter"):
        JournalFilters.from_query(query)


def test_a_cursor_of_another_sort_is_refused(journal_store: Journal) -> None:
    f = JournalFilters.from_query({}, journal_store.settings)
    with journal_store.engine.connect() as conn:
        _, cursor = list_leads(conn, f, limit=5, cursor=None)
        assert cursor is not None
        with pytest.raises(PayloadError):
            list_leads(conn, f.model_copy(update={"sort": "score"}), limit=5, cursor=cursor)
        with pytest.raises(PayloadError):
            list_leads(conn, f, limit=5, cursor="bm9wZQ")
