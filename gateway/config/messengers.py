"""Settings of messenger bots and groups (`[[messengers.telegram]]`, `.vk`, `.whatsapp`)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["MessengersSettings", "TelegramSettings", "VkSettings", "WhatsAppSettings"]

_NAME = r"^[A-Za-z0-9_.-]+$"


class _Messenger(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default_source: ClassVar[str]
    source: str | None = None  # source name of its leads; default: the messenger's name ("Telegram")
    referral_sources: dict[str, str] = Field(default_factory=dict)  # referral / start parameter -> source
    fetch_media: bool = True
    max_media_mb: float = Field(default=20, gt=0)  # larger files are recorded as omitted

    @property
    def max_media_bytes(self) -> int:
        return int(self.max_media_mb * 1024 * 1024)


class TelegramSettings(_Messenger):
    default_source = "Telegram"
    bot: str = Field(min_length=1, pattern=_NAME)
    token: str = Field(min_length=1)
    secret_token: str = Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9_-]+$")
    api_url: str = "https://api.telegram.org"

    @property
    def name(self) -> str:
        return self.bot


class VkSettings(_Messenger):
    default_source = "ВКонтакте"
    group: str = Field(min_length=1, pattern=_NAME)
    group_id: int | None = None
    secret: str = Field(min_length=1)
    confirmation: str = Field(min_length=1)
    access_token: str = ""
    api_url: str = "https://api.vk.com/method"
    api_version: str = "5.199"
    fetch_profiles: bool = True  # users.get for the sender's name (needs access_token)

    @property
    def name(self) -> str:
        return self.group


class WhatsAppSettings(_Messenger):
    default_source = "WhatsApp"
    account: str = Field(min_length=1, pattern=_NAME)
    verify_token: str = Field(min_length=1)
    app_secret: str = Field(min_length=1)
    access_token: str = ""
    phone_number_id: str = ""
    api_url: str = "https://graph.facebook.com/v21.0"
    max_parts: int = Field(default=1000, ge=1, le=50_000)  # messages and statuses in one delivery; more: 413

    @property
    def name(self) -> str:
        return self.account


class MessengersSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    telegram: list[TelegramSettings] = Field(default_factory=list)
    vk: list[VkSettings] = Field(default_factory=list)
    whatsapp: list[WhatsAppSettings] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> MessengersSettings:
        for key, names in (("vk.group", [v.group for v in self.vk]),
                           ("whatsapp.account", [w.account for w in self.whatsapp])):
            doubles = sorted({n for n in names if names.count(n) > 1})
            if doubles:
                raise ValueError(f"messengers.{key}: {doubles[0]!r} appears twice")
        return self
