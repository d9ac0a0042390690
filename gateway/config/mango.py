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
    recording_max_mb: int = Field(default=200, ge=1)  # a larger recording is recorded as omitted
    recording_retry_seconds: float = Field(default=60, gt=0)  # "not ready yet": ask again after this
    recording_wait_hours: float = Field(default=24, gt=0)  # then a recording still missing is given up
    recording_rate_per_second: float = Field(default=10, gt=0)  # Mango: recording access 10/s per product

    def base_url(self) -> str:
        """The API base, always ending with a slash."""
        return self.api_url if self.api_url.endswith("/") else self.api_url + "/"
