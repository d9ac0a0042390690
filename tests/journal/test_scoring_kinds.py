"""Point rules: each kind, and the rule named beside every point it gives."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from gateway.core.scoring import RULE_KINDS, score


@dataclass
class Rule:
    when: str
    points: int
    value: str | float | None = None
    name: str | None = None


LEAD = {"phone": "+74951234567", "email": "ceo@acme.ru", "company": "ACME", "position": "CEO", "budget": 500000,
        "attachment_count": 1, "utm": {"utm_source": "yandex", "utm_medium": "cpc", "utm_campaign": "spring"},
        "channel": "forms", "kind": "call", "direction": "in", "result": "answered", "duration_s": 95,
        "name": "Иван", "subject": "Нужен КАМАЗ", "text": "Прицеп тоже"}


@pytest.mark.parametrize(("rule", "hit", "miss"), [
    (Rule("has_phone", 1), {}, {"phone": None}),
    (Rule("corporate_email", 1), {}, {"email": "ivan@gmail.com"}),
    (Rule("company_and_position", 2), {}, {"position": ""}),
    (Rule("budget_above", 3, 100000), {}, {"budget": 100000}),
    (Rule("has_attachment", 1), {}, {"attachment_count": 0}),
    (Rule("utm_source", 1, "yandex"), {}, {"utm": {}}),
    (Rule("utm_medium", 1, "cpc"), {}, {"utm": {"utm_medium": "email"}}),
    (Rule("utm_campaign", 1, "spring"), {}, {"utm": None}),
    (Rule("channel", 1, "forms"), {}, {"channel": "imap"}),
    (Rule("kind", 1, "call"), {}, {"kind": "mail"}),
    (Rule("direction", 1, "in"), {}, {"direction": "out"}),
    (Rule("has_text", 1), {}, {"text": "  "}),
    (Rule("text_contains", 2, "камаз"), {}, {"subject": None}),
    (Rule("has_name", 1), {}, {"name": None}),
    (Rule("has_company", 1), {}, {"company": " "}),
    (Rule("duration_above", 1, 60), {}, {"duration_s": 60}),
    (Rule("answered", 1), {}, {"result": "missed"}),
])
def test_each_kind_gives_its_points_only_when_it_holds(rule: Rule, hit: dict, miss: dict) -> None:
    assert score([rule], {**LEAD, **hit})[0] == rule.points
    assert score([rule], {**LEAD, **miss}) == (0, [])


def test_every_kind_is_covered() -> None:
    assert set(RULE_KINDS) == {
        "has_phone", "has_email", "corporate_email", "company_and_position", "budget_above", "has_attachment",
        "utm_source", "utm_medium", "utm_campaign", "channel", "kind", "direction", "has_text", "text_contains",
        "has_name", "has_company", "duration_above", "answered"}


def test_the_details_name_each_rule() -> None:
    rules = [Rule("has_phone", 1), Rule("budget_above", 3, 0, name="бюджет согласован"), Rule("channel", 1, "vk")]
    assert score(rules, LEAD) == (4, [{"rule": "has_phone", "points": 1}, {"rule": "бюджет согласован", "points": 3}])
