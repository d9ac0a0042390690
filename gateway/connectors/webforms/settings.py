"""Settings of one site form (`[[forms]]`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FormSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str | None = None
    secret: str | None = None
    pipeline: str | None = None
    stage: str | None = None
    max_upload_mb: float = Field(default=20, gt=0)
    max_files: int = Field(default=10, ge=0)
    allowed_types: list[str] = Field(
        default_factory=lambda: ["image/*", "application/pdf", "text/plain", "application/zip",
                                 "application/msword", "application/vnd.openxmlformats-officedocument.*",
                                 "application/vnd.ms-excel", "application/vnd.oasis.opendocument.*"]
    )
    allowed_origins: list[str] = Field(default_factory=list)
    thank_you_url: str | None = None
    fields: dict[str, str] = Field(default_factory=dict)  # form field -> lead field
    honeypot_field: str = "_hp"
    timestamp_field: str = "_ts"
    min_fill_seconds: float = 3
    rate_limit_per_minute: int = 30
    dedupe_minutes: float = 5
