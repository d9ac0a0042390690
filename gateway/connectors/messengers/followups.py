"""Follow-up tasks of a chat message (`fetch_media`, `fetch_profile`) and what they learnt."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Self

from pydantic import BaseModel, ConfigDict, ValidationError

from gateway.connectors.base import NewEvent, StoredEvent
from gateway.connectors.messengers.media import PendingMedia
from gateway.core.errors import PayloadError
from gateway.core.models import AttachmentRef

__all__ = [
    "FETCH_MEDIA",
    "FETCH_PROFILE",
    "FOLLOW_UPS",
    "Extras",
    "MediaTask",
    "ProfileTask",
    "extras_from",
    "media_event",
    "profile_event",
]

FETCH_MEDIA = "fetch_media"
FETCH_PROFILE = "fetch_profile"
FOLLOW_UPS = (FETCH_MEDIA, FETCH_PROFILE)


class _Task(BaseModel):
    """A follow-up body: it names the event that caused it, which is found again among its chat's events.

    Only a message outside any chat (no group key) has its body copied in, as tasks stored before did:
    a message with ten attachments no longer stores its body eleven times.
    """

    model_config = ConfigDict(extra="ignore")

    message_key: str
    source_key: str
    source_name: str | None = None
    source_received_at: datetime
    source_body: str | None = None

    @classmethod
    def parse(cls, body: bytes) -> Self:
        try:
            return cls.model_validate_json(body)
        except ValidationError as exc:
            raise PayloadError(f"not a {cls.__name__} body: {exc.error_count()} errors") from None

    def source_event(self, event: StoredEvent) -> StoredEvent | None:
        """The message event this task came from, rebuilt from the body it carries (None: it carries none)."""
        if self.source_body is None:
            return None
        return StoredEvent(
            id=f"{event.id}:source", connector=event.connector, account=event.account, key=self.source_key,
            name=self.source_name, group_key=event.group_key, received_at=self.source_received_at,
            headers={}, body=self.source_body.encode(),
        )


class MediaTask(_Task):
    media: PendingMedia


class ProfileTask(_Task):
    person_id: str


def _source(source: StoredEvent) -> dict[str, object]:
    found: dict[str, object] = {"source_key": source.key, "source_name": source.name,
                                "source_received_at": source.received_at}
    if not source.group_key:  # nowhere to find it again: carry it
        found["source_body"] = source.body.decode()
    return found


def media_event(media: PendingMedia, source: StoredEvent, now: datetime) -> NewEvent:
    """The follow-up that fetches one file; keyed per message, so a file sent twice is fetched twice."""
    chat_and_message = media.message_key.split(":", 2)[-1]
    task = MediaTask(media=media, message_key=media.message_key, **_source(source))
    return NewEvent(
        connector=source.connector, account=source.account, key=f"media:{chat_and_message}:{media.unique_id}",
        body=task.model_dump_json().encode(), received_at=now, name=FETCH_MEDIA, group_key=source.group_key,
    )


def profile_event(person_id: str, message_key: str, source: StoredEvent, now: datetime) -> NewEvent:
    """The follow-up that asks the provider for a person's name (once per person)."""
    task = ProfileTask(person_id=person_id, message_key=message_key, **_source(source))
    return NewEvent(
        connector=source.connector, account=source.account, key=f"profile:{person_id}",
        body=task.model_dump_json().encode(), received_at=now, name=FETCH_PROFILE, group_key=source.group_key,
    )


@dataclass(slots=True)
class Extras:
    """What finished follow-ups learnt about a chat: files per message key, names per person."""

    attachments: dict[str, list[AttachmentRef]] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    asked: set[str] = field(default_factory=set)  # persons whose profile was already asked for


def extras_from(related: Sequence[StoredEvent], skip_id: str | None = None) -> Extras:
    """Collect the results of the follow-ups of one chat, in a stable order."""
    found = Extras()
    for event in sorted(related, key=lambda e: e.key):
        if event.name == FETCH_PROFILE:
            found.asked.add(event.key.removeprefix("profile:"))
        if event.id == skip_id or not event.result:
            continue
        result = event.result
        if event.name == FETCH_MEDIA and "attachment" in result:
            try:
                ref = AttachmentRef.model_validate(result["attachment"])
            except ValidationError:
                continue
            found.attachments.setdefault(str(result.get("message_key")), []).append(ref)
        elif event.name == FETCH_PROFILE and result.get("name"):
            found.names[str(result.get("person_id"))] = str(result["name"])
    return found
