"""Settings of one Mango Office VPBX account (`[[telephony.mango]]`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class MangoSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    api_key: str = Field(min_length=1)
    api_salt: str = Field(min_length=1)
    api_url: str = "https://app.mango-office.ru/vpbx/"
    lines: dict[str, str] = Field(default_factory=dict)  # number dialled -> source name
    extensions: dict[str, str] = Field(default_factory=dict)  # PBX extension -> user name
    fetch_recordings: bool = True
