"""Point rules from the config, applied to a lead; each point says which rule gave it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

__all__ = ["FREE_MAIL_DOMAINS", "RULE_KINDS", "score"]

RULE_KINDS = (
    "has_phone", "has_email", "corporate_email", "company_and_position", "budget_above", "has_attachment",
    "utm_source", "channel", "has_text", "text_contains", "has_name", "has_company", "kind", "direction",
    "utm_medium", "utm_campaign", "duration_above", "answered",
)

FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "yandex.ru", "ya.ru", "yandex.com", "yandex.by", "yandex.kz", "yandex.ua",
    "mail.ru", "bk.ru", "inbox.ru", "list.ru", "internet.ru", "rambler.ru", "lenta.ru", "autorambler.ru",
    "ro.ru", "outlook.com", "hotmail.com", "live.com", "msn.com", "yahoo.com", "ymail.com", "icloud.com",
    "me.com", "mac.com", "aol.com", "proton.me", "protonmail.com", "gmx.com", "gmx.de", "zoho.com",
    "mail.com", "qip.ru", "pochta.ru", "ukr.net", "tut.by", "narod.ru",
})


class Rule(Protocol):
    name: str | None
    when: str
    value: str | float | None
    points: int


def _matches(rule: Rule, lead: Mapping[str, Any]) -> bool:
    email = lead.get("email") or ""
    match rule.when:
        case "has_phone":
            return bool(lead.get("phone"))
        case "has_email":
            return bool(email)
        case "corporate_email":
            return bool(email) and email.rsplit("@", 1)[-1] not in FREE_MAIL_DOMAINS
        case "company_and_position":
            return bool(lead.get("company")) and bool(lead.get("position"))
        case "budget_above":
            budget = lead.get("budget")
            return budget is not None and float(budget) > float(rule.value or 0)
        case "has_attachment":
            return bool(lead.get("attachment_count"))
        case "utm_source":
            return (lead.get("utm") or {}).get("utm_source") == rule.value
        case "channel":
            return lead.get("channel") == rule.value
        case "has_text":
            return bool((lead.get("text") or "").strip())
        case "text_contains":  # a word in the text or the subject, any letter case
            needle = str(rule.value or "").casefold()
            return bool(needle) and needle in f"{lead.get('subject') or ''}\n{lead.get('text') or ''}".casefold()
        case "has_name":
            return bool((lead.get("name") or "").strip())
        case "has_company":
            return bool((lead.get("company") or "").strip())
        case "kind" | "direction":
            return lead.get(rule.when) == rule.value
        case "utm_medium" | "utm_campaign":
            return (lead.get("utm") or {}).get(rule.when) == rule.value
        case "duration_above":  # a call that lasted longer than `value` seconds
            duration = lead.get("duration_s")
            return duration is not None and float(duration) > float(rule.value or 0)
        case "answered":
            return lead.get("kind") == "call" and lead.get("result") == "answered"
    return False


def score(rules: Sequence[Rule], lead: Mapping[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    """Total points and the rules that gave them."""
    details: list[dict[str, Any]] = [
        {"rule": r.name or (f"{r.when}={r.value}" if r.value is not None else r.when), "points": r.points}
        for r in rules if _matches(r, lead)
    ]
    return sum(d["points"] for d in details), details
