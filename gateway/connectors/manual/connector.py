"""Leads entered by hand (`POST /api/v1/leads`): the same path as every other channel."""

from __future__ import annotations

import json

from pydantic import BaseModel, ConfigDict, Field

from gateway.config import Settings
from gateway.connectors.base import Outcome, Route, StoredEvent
from gateway.core.errors import PayloadError
from gateway.core.models import Channel, Direction, IdentityKind, IdentityRef, Interaction, Kind

__all__ = ["ManualConnector", "ManualLead"]


class ManualLead(BaseModel):
    """The body of `POST /api/v1/leads`."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, max_length=512)
    phone: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=320)
    text: str | None = Field(default=None, max_length=100_000)
    source: str | None = Field(default=None, max_length=255)
    company: str | None = Field(default=None, max_length=512)
    budget: float | None = None


class ManualConnector:
    channel = Channel.MANUAL.value

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def routes(self) -> list[Route]:
        return []  # the operator API stores manual leads (it authenticates the user)

    def process(self, event: StoredEvent, ctx: object) -> Outcome:
        try:
            lead = ManualLead.model_validate(json.loads(event.body))
        except ValueError as exc:
            raise PayloadError(f"not a manual lead: {exc}") from None
        identities = [IdentityRef(kind=IdentityKind.PHONE, value=lead.phone)] if lead.phone else []
        if lead.email:
            identities.append(IdentityRef(kind=IdentityKind.EMAIL, value=lead.email))
        ix = Interaction(
            key=f"manual:{event.id}", channel=Channel.MANUAL, kind=Kind.MANUAL, direction=Direction.IN,
            occurred_at=event.received_at, account=event.account, name=lead.name, identities=identities,
            text=lead.text, source=lead.source, company=lead.company, budget=lead.budget,
            manager=event.headers.get("x-user"),
        )
        return Outcome(interactions=[ix])
