"""Files a message refers to: what to fetch, where it goes, and the size limit."""

from __future__ import annotations

from typing import Any

import filetype
from pydantic import BaseModel, ConfigDict

from gateway.core.models import AttachmentRef

__all__ = ["PendingMedia", "omitted", "safe_name", "stored", "too_large"]

MAX_NAME = 200

class PendingMedia(BaseModel):
    """A file a message refers to, to be fetched from the provider later."""

    model_config = ConfigDict(extra="ignore")

    message_key: str
    file_id: str  # what the provider's API takes (Telegram file_id, WhatsApp media id, VK owner_id)
    unique_id: str  # stable across deliveries, part of the follow-up key
    kind: str  # photo | document | voice | audio | video | sticker
    name: str
    content_type: str | None = None
    size: int | None = None
    url: str | None = None  # a direct URL (VK attachments carry one)
    sha256: str | None = None


def safe_name(name: str | None, fallback: str) -> str:
    """A display name without directories or control characters (files are stored under their hash)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(c for c in base if c.isprintable()).strip().strip(".").strip()
    return base[:MAX_NAME] or fallback


def omitted(media: PendingMedia, reason: str) -> AttachmentRef:
    """A file recorded but not kept, with the reason shown to operators."""
    return AttachmentRef(name=media.name, size=media.size or 0,
                         content_type=media.content_type or "application/octet-stream",
                         omitted=True, reason=reason)


def too_large(limit: int) -> str:
    return f"larger than {round(limit / (1024 * 1024), 4):g} MB"


def stored(files: Any, data: bytes, media: PendingMedia, limit: int) -> AttachmentRef:
    """Put downloaded bytes in the file store, or record them as omitted when over the limit."""
    if len(data) > limit:
        return omitted(media.model_copy(update={"size": len(data)}), too_large(limit))
    content_type = filetype.guess_mime(data) or media.content_type or "application/octet-stream"
    kept = files.put_bytes(data, content_type)
    return AttachmentRef(name=media.name, size=kept.size, content_type=content_type, file_id=kept.id)
