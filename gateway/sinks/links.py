"""Public links a remote CRM can open: a file of a lead (signed, expiring), the lead's page in the gateway.

`/files/{file_id}/{expires}/{signature}`: HMAC-SHA256 of "file_id:expires" with the link secret;
nothing else is needed to fetch the file, so amoCRM can play a recording in its card.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

__all__ = ["Links", "link_signature"]


def link_signature(secret: str, file_id: str, expires: int) -> str:
    return hmac.new(secret.encode(), f"{file_id}:{expires}".encode(), hashlib.sha256).hexdigest()


class Links:
    def __init__(self, public_url: str | None, secret: str | None, days: float) -> None:
        self.base = public_url.rstrip("/") if public_url else None
        self.secret, self.days = secret, days

    def file(self, file_id: str | None, now: datetime) -> str | None:
        if not (self.base and self.secret and file_id):
            return None
        expires = int((now + timedelta(days=self.days)).timestamp())
        return f"{self.base}/files/{file_id}/{expires}/{link_signature(self.secret, file_id, expires)}"

    def card(self, lead_id: int) -> str | None:
        return f"{self.base}/leads/{lead_id}" if self.base else None
