"""A stored submission turned into the interaction the core pipeline takes (pure, deterministic)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from gateway.config.forms import FormSettings
from gateway.connectors.webforms.attribution import TAGS, choose_source, site_of, utm_tags
from gateway.connectors.webforms.mapping import LeadFields, fold, map_fields, parse_budget
from gateway.connectors.webforms.spam import spam_reason
from gateway.connectors.webforms.submission import Submission
from gateway.core.errors import PayloadError
from gateway.core.models import AttachmentRef, Channel, IdentityKind, IdentityRef, Interaction, Kind

__all__ = ["interaction_of", "load_submission"]

MAX_NAME_CHARS = 200
MAX_VALUE_CHARS = 200  # one phone or e-mail as sent
_SPLIT = re.compile(r"[,;]")


def load_submission(body: bytes) -> Submission:
    try:
        return Submission.model_validate_json(body)
    except ValidationError as exc:
        raise PayloadError(f"not a stored form submission: {exc.error_count()} errors") from None


def _identities(lead: LeadFields) -> list[IdentityRef]:
    seen: set[tuple[IdentityKind, str]] = set()
    out: list[IdentityRef] = []
    for kind, lead_field in ((IdentityKind.PHONE, "phone"), (IdentityKind.EMAIL, "email")):
        for value in lead.values.get(lead_field, []):
            for part in _SPLIT.split(value):
                part = part.strip()[:MAX_VALUE_CHARS]
                if part and (kind, part) not in seen:
                    seen.add((kind, part))
                    out.append(IdentityRef(kind=kind, value=part))
    return out


def _name(lead: LeadFields) -> str | None:
    name = lead.first("name") or " ".join(
        v for v in (lead.first("first_name"), lead.first("last_name")) if v
    )
    return name[:MAX_NAME_CHARS] if name else None


def _custom(sub: Submission, lead: LeadFields, page: str | None, referrer: str | None) -> dict[str, Any]:
    custom: dict[str, Any] = {name: values[0] if len(values) == 1 else values for name, values in lead.rest.items()}
    custom.update({
        "page": page,
        "referrer": referrer,
        "site": site_of(page) or site_of(sub.client.origin),
        "ip": sub.client.ip,
        "user_agent": sub.client.user_agent,
        "submission": sub.id,
    })
    if lead.first("budget") and parse_budget(lead.first("budget")) is None:
        custom["budget_text"] = lead.first("budget")
    return {k: v for k, v in custom.items() if v is not None}


def interaction_of(sub: Submission, form: FormSettings) -> Interaction:
    """The lead a submission makes: mapped fields, UTM tags and source, files, the spam verdict."""
    technical = {form.honeypot_field, form.timestamp_field, "_secret"}
    technical |= {name for name in sub.fields if fold(name) in TAGS}
    lead = map_fields(sub.fields, form.fields, technical)
    page = lead.first("page") or sub.client.referer
    referrer = lead.first("referrer")
    utm = utm_tags(sub.fields, page)
    return Interaction(
        key=f"forms:{form.id}:{sub.id}",
        channel=Channel.FORMS,
        kind=Kind.FORM,
        occurred_at=sub.received_at,
        account=form.id,
        name=_name(lead),
        identities=_identities(lead),
        company=lead.first("company"),
        position=lead.first("position"),
        budget=parse_budget(lead.first("budget")),
        subject=lead.first("subject"),
        text=lead.joined("text"),
        source=choose_source(utm, form),
        utm=utm,
        custom=_custom(sub, lead, page, referrer),
        attachments=[
            AttachmentRef(name=f.name, size=f.size, content_type=f.content_type, file_id=f.id) for f in sub.files
        ],
        non_target_reason=spam_reason(sub.fields, form, sub.received_at),
        pipeline=form.pipeline,
        stage=form.stage,
        dedupe_window_s=round(form.dedupe_minutes * 60) or None,
    )
