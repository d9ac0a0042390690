"""Where a submission came from: UTM tags and click ids, the page, and the source they choose."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from gateway.config.forms import FormSettings, source_by_rules
from gateway.connectors.webforms.mapping import fold

__all__ = ["TAGS", "choose_source", "page_tags", "site_of", "utm_tags"]

TAGS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term", "yclid", "gclid")
MAX_TAG_CHARS = 500


def site_of(url: str | None) -> str | None:
    """The host of a page URL (`shop.example.ru`), or None."""
    if not url:
        return None
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    return host or None


def page_tags(url: str | None) -> dict[str, str]:
    """UTM tags and click ids in a page URL's query string."""
    if not url:
        return {}
    try:
        query = urlsplit(url.strip()).query
    except ValueError:
        return {}
    tags: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=False, max_num_fields=None):
        tag = key.strip().lower()
        if tag in TAGS and value.strip() and tag not in tags:
            tags[tag] = value.strip()[:MAX_TAG_CHARS]
    return tags


def utm_tags(fields: dict[str, list[str]], page: str | None) -> dict[str, str]:
    """Tags sent as form fields win over the same tags in the page URL."""
    tags = page_tags(page)
    for name, values in fields.items():
        tag = fold(name)
        value = next((v.strip() for v in values if v.strip()), "")
        if tag in TAGS and value:
            tags[tag] = value[:MAX_TAG_CHARS]
    return {tag: tags[tag] for tag in TAGS if tag in tags}


def choose_source(utm: dict[str, str], form: FormSettings) -> str:
    """The first matching `source_rules` entry, else the form's `source`, name or id."""
    return source_by_rules(form.source_rules, utm) or form.source or form.name or form.id
