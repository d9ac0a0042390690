"""What a sink's performer reads from the store: the lead as a sink sees it, and a lead's delivery."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select

from gateway.sinks.base import SinkFile, SinkLead
from gateway.sinks.links import Links
from gateway.store.database import Database
from gateway.store.schema import leads, outbox, stages
from gateway.store.views import lead_json

__all__ = ["SinkStore"]


def _file_id(url: str | None) -> str | None:
    return url.rsplit("/", 1)[-1] if url and url.startswith("/api/v1/files/") else None


def sink_lead(conn: Connection, lead_id: int, links: Links, now: datetime) -> SinkLead | None:
    data = lead_json(conn, lead_id)
    if data is None:
        return None
    stage_id = conn.execute(select(leads.c.stage_id).where(leads.c.id == lead_id)).scalar()
    kind = conn.execute(select(stages.c.kind).where(stages.c.id == stage_id)).scalar() if stage_id else None
    files = [SinkFile(name=a["name"], size=a["size"] or 0, content_type=a["content_type"],
                      link=links.file(_file_id(a["url"]), now))
             for a in data["attachments"] if not a["omitted"] and not a["inline"] and a["role"] == "attachment"]
    return SinkLead.model_validate({**data, "stage_kind": kind, "files": files, "card_link": links.card(lead_id),
                                    "recording_link": links.file(_file_id(data["recording"]), now)})


def delivery(conn: Connection, kind: str, key: str) -> dict[str, Any] | None:
    row = conn.execute(select(outbox.c.status, outbox.c.result, outbox.c.last_error)
                       .where(outbox.c.kind == kind, outbox.c.key == key)).mappings().first()
    return dict(row) if row else None


class SinkStore:
    def __init__(self, db: Database, links: Links) -> None:
        self.db, self.links = db, links

    async def lead(self, lead_id: int) -> SinkLead | None:
        return await self.db.read(sink_lead, lead_id, self.links, datetime.now(UTC))

    async def delivery(self, kind: str, key: str) -> Mapping[str, Any] | None:
        return await self.db.read(delivery, kind, key)
