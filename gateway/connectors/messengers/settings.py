"""Settings of messenger bots and groups (`[[messengers.telegram]]`, `.vk`, `.whatsapp`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TelegramSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bot: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    token: str = Field(min_length=1)
    secret_token: str = Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9_-]+$")
    api_url: str = "https://api.telegram.org"
    source: str | None = None


class VkSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    group_id: int | None = None
    secret: str = Field(min_length=1)
    confirmation: str = Field(min_length=1)
    access_token: str = ""
    api_url: str = "https://api.vk.com/method"
    api_version: str = "5.199"
    source: str | None = None


class WhatsAppSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    verify_token: str = Field(min_length=1)
    app_secret: str = Field(min_length=1)
    access_token: str = ""
    phone_number_id: str = ""
    api_url: str = "https://graph.facebook.com/v21.0"
    source: str | None = None


class MessengersSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    telegram: list[TelegramSettings] = Field(default_factory=list)
    vk: list[VkSettings] = Field(default_factory=list)
    whatsapp: list[WhatsAppSettings] = Field(default_factory=list)
