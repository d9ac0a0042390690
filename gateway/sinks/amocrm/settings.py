"""Settings of one amoCRM account (`[[sinks.amocrm]]`): a long-lived token, or an OAuth integration."""

from __future__ import annotations

from pydantic import Field, model_validator

from gateway.sinks.settings import SinkSettings

__all__ = ["AmoCrmSettings"]


class AmoCrmSettings(SinkSettings):
    base_url: str = Field(pattern=r"^https?://")  # the account's address, e.g. https://example.amocrm.ru
    token: str | None = None  # a long-lived token; or the OAuth integration below
    client_id: str | None = None
    client_secret: str | None = None
    redirect_uri: str | None = None
    refresh_token: str | None = None  # the first one; refreshed tokens are kept in the store
    pipeline_id: int | None = None  # the amoCRM pipeline for Unsorted items (default: the main one)
    stages: dict[str, int] = Field(default_factory=dict)  # our stage name -> amoCRM status_id, for leads/complex
    responsible: dict[str, int] = Field(default_factory=dict)  # our user name -> amoCRM user id
    source_name: str = "Lead Gateway"
    service_code: str = "lead_gateway"  # the `service_code` of call items
    rate_per_second: float | None = Field(default=7, gt=0)  # amoCRM allows 7 requests a second per account

    @model_validator(mode="after")
    def _one_way_in(self) -> AmoCrmSettings:
        oauth = (self.client_id, self.client_secret, self.redirect_uri, self.refresh_token)
        if self.token is None and not all(oauth):
            raise ValueError("give token, or client_id, client_secret, redirect_uri and refresh_token")
        return self

    @property
    def oauth(self) -> bool:
        return self.client_id is not None and self.refresh_token is not None

    def root(self) -> str:
        return self.base_url.rstrip("/")
