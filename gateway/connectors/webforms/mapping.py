"""Which form field is which lead field: the form's own mapping, then the usual names.

Site builders name fields every way (`Name`, `your-name`, `fio`, `Имя`, `contact[phone]`),
so default names are compared after folding case and separators; a form's `fields`
mapping is compared exactly first, then folded the same way.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from gateway.config.forms import LEAD_FIELDS

__all__ = ["DEFAULT_FIELDS", "LEAD_FIELDS", "LeadFields", "fold", "map_fields", "parse_budget"]

_DEFAULTS: dict[str, tuple[str, ...]] = {
    "name": ("name", "fio", "фио", "имя", "your_name", "full_name", "fullname", "client_name", "contact_name",
             "ваше_имя", "имя_фамилия", "контактное_лицо"),
    "first_name": ("first_name", "firstname"),
    "last_name": ("last_name", "lastname", "surname", "фамилия"),
    "phone": ("phone", "tel", "telephone", "телефон", "your_phone", "your_tel", "phone_number", "mobile",
              "мобильный", "номер_телефона", "ваш_телефон", "тел"),
    "email": ("email", "e_mail", "mail", "почта", "your_email", "email_address", "эл_почта", "электронная_почта",
              "ваш_email", "e_mail_адрес"),
    "text": ("message", "comment", "comments", "сообщение", "text", "комментарий", "your_message", "question",
             "вопрос", "description", "описание", "текст", "msg", "ваш_вопрос", "запрос"),
    "company": ("company", "компания", "organization", "organisation", "организация", "your_company",
                "company_name", "название_компании"),
    "position": ("position", "должность", "job_title", "jobtitle", "your_position"),
    "budget": ("budget", "бюджет", "your_budget"),
    "subject": ("subject", "тема", "your_subject"),
    "page": ("page", "_page", "page_url", "_page_url", "pageurl"),
    "referrer": ("referrer", "_referrer", "referer", "_referer"),
}
DEFAULT_FIELDS: dict[str, str] = {fold_name: lead for lead, names in _DEFAULTS.items() for fold_name in names}
_MULTIPLIERS = (("млрд", 1e9), ("млн", 1e6), ("mln", 1e6), ("m", 1e6), ("тыс", 1e3), ("k", 1e3), ("к", 1e3))
MAX_BUDGET = 1e15


@dataclass(slots=True)
class LeadFields:
    """Form values sorted into lead fields; everything else is in `rest`."""

    values: dict[str, list[str]] = field(default_factory=dict)  # lead field -> non-empty values, in order
    rest: dict[str, list[str]] = field(default_factory=dict)  # form field -> values

    def first(self, lead_field: str) -> str | None:
        values = self.values.get(lead_field)
        return values[0] if values else None

    def joined(self, lead_field: str, sep: str = "\n\n") -> str | None:
        values = self.values.get(lead_field)
        return sep.join(values) if values else None


def fold(name: str) -> str:
    """`Your-Name`, `contact[your_name]`, `form.your name` -> `your_name`."""
    name = name.strip().lower()
    inner = re.findall(r"\[([^\[\]]+)\]", name)
    if inner:
        name = inner[-1]
    name = name.rsplit(".", 1)[-1].strip()
    return re.sub(r"[\s\-]+", "_", name)


def _lead_field(name: str, mapping: dict[str, str], folded_mapping: dict[str, str]) -> str | None:
    if name in mapping:
        return mapping[name]
    folded = fold(name)
    if folded in folded_mapping:
        return folded_mapping[folded]
    return DEFAULT_FIELDS.get(folded) or DEFAULT_FIELDS.get(name.strip().lower())


def map_fields(fields: dict[str, list[str]], mapping: dict[str, str], skip: set[str]) -> LeadFields:
    """Sort form fields into lead fields; `skip` names technical fields (honeypot, timestamp, UTM)."""
    folded_mapping = {fold(k): v for k, v in mapping.items()}
    out = LeadFields()
    for name, values in fields.items():
        if name in skip:
            continue
        target = _lead_field(name, mapping, folded_mapping)
        if target == "message":
            target = "text"
        if target is None or target not in LEAD_FIELDS:
            out.rest[name] = values
        elif target != "ignore":
            kept = [v.strip() for v in values if v.strip()]
            if kept:
                out.values.setdefault(target, []).extend(kept)
    return out


def parse_budget(raw: str | None) -> float | None:
    """`150 000 ₽` -> 150000.0, `1,5 млн` -> 1500000.0, `20k` -> 20000.0; None when not a number."""
    if not raw:
        return None
    text = raw.lower().replace("\u00a0", " ").replace("\u202f", " ")
    match = re.search(r"\d[\d\s]*(?:[.,]\d+)?", text)
    if not match:
        return None
    number = match.group(0).strip()
    digits = re.sub(r"\s", "", number).replace(",", ".")
    try:
        value = float(digits)
    except ValueError:
        return None
    tail = text[match.end():].strip()
    for word, factor in _MULTIPLIERS:
        if tail.startswith(word) and (len(tail) == len(word) or not tail[len(word)].isalpha() or len(word) > 1):
            value *= factor
            break
    return value if math.isfinite(value) and 0 <= value <= MAX_BUDGET else None
