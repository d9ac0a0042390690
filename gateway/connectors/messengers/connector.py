"""What the three messenger connectors share: turning stored events into conversation entries."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import structlog

from gateway.config.messengers import _Messenger
from gateway.connectors.base import NewEvent, Outcome, ParseContext, Route, StoredEvent
from gateway.connectors.messengers.conversation import ChatMessage, to_interaction
from gateway.connectors.messengers.edge import find_account
from gateway.connectors.messengers.followups import (
    FETCH_MEDIA,
    FETCH_PROFILE,
    FOLLOW_UPS,
    Extras,
    MediaTask,
    ProfileTask,
    extras_from,
    media_event,
    profile_event,
)
from gateway.connectors.messengers.media import PendingMedia, omitted
from gateway.core.errors import GatewayError
from gateway.core.models import AttachmentRef, Interaction

if TYPE_CHECKING:
    from gateway.config import Settings

__all__ = ["MessengerConnector", "Reading"]

log = structlog.get_logger(__name__)
A = TypeVar("A", bound=_Messenger)


@dataclass(slots=True)
class Reading:
    """What one stored provider event says, before anything is fetched."""

    messages: list[ChatMessage] = field(default_factory=list)
    media: list[PendingMedia] = field(default_factory=list)
    interactions: list[Interaction] = field(default_factory=list)  # leads that are not chat entries
    result: dict[str, Any] = field(default_factory=dict)  # stored on the event (why nothing, a status)


class MessengerConnector(ABC, Generic[A]):
    """A messenger: an edge per provider, and one way from stored events to interactions."""

    channel: str
    what: str  # "bot", "group", "account": for error messages

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.region = settings.default_region

    @abstractmethod
    def accounts(self) -> Sequence[A]: ...

    @abstractmethod
    def routes(self) -> list[Route]: ...

    @abstractmethod
    def read(self, event: StoredEvent, account: A) -> Reading:
        """Pure: what a stored event says (no I/O)."""

    @abstractmethod
    def fetch(self, media: PendingMedia, account: A, ctx: ParseContext) -> AttachmentRef:
        """Download one file into ctx.files, or record it as omitted with the reason."""

    def profile_name(self, person_id: str, account: A, ctx: ParseContext) -> str | None:
        """The person's name from the provider, when the messages do not carry it."""
        return None

    def wants_profile(self, account: A) -> bool:
        return False

    def account(self, name: str) -> A:
        return find_account(self.accounts(), name, f"{self.channel} {self.what}")

    def process(self, event: StoredEvent, ctx: ParseContext) -> Outcome:
        account = self.account(event.account)
        if event.name == FETCH_MEDIA:
            return self._fetch_media(event, account, ctx)
        if event.name == FETCH_PROFILE:
            return self._fetch_profile(event, account, ctx)
        reading = self.read(event, account)
        extras = self._extras(event, ctx)
        if not account.fetch_media:
            for media in reading.media:
                extras.attachments.setdefault(media.message_key, []).append(
                    omitted(media, "media fetching is turned off"))
        messages = [(self._latest(event, m.key, account, ctx, source=event) or m) if m.deleted else m
                    for m in reading.messages]
        interactions = [self._interaction(m, extras) for m in messages] + reading.interactions
        follow_ups = self._follow_ups(event, account, reading, extras, ctx)
        result = reading.result or {"messages": [m.key for m in reading.messages]}
        if not reading.messages and not reading.interactions:
            log.info("messenger.not_a_lead", channel=self.channel, account=event.account,
                     key=event.key, reason=result.get("ignored"))
        return Outcome(interactions=interactions, follow_ups=follow_ups, result=result)

    def _interaction(self, msg: ChatMessage, extras: Extras) -> Interaction:
        name = extras.names.get(msg.person_id or "")
        return to_interaction(msg.with_extras(name, extras.attachments.get(msg.key, [])), self.region)

    def _extras(self, event: StoredEvent, ctx: ParseContext, skip_id: str | None = None) -> Extras:
        if not event.group_key:
            return Extras()
        return extras_from(ctx.related(self.channel, event.account, event.group_key, FOLLOW_UPS), skip_id)

    def _follow_ups(self, event: StoredEvent, account: A, reading: Reading, extras: Extras,
                    ctx: ParseContext) -> list[NewEvent]:
        events: list[NewEvent] = []
        fetched = {(a.name, key) for key, refs in extras.attachments.items() for a in refs}
        for media in reading.media:
            if account.fetch_media and (media.name, media.message_key) not in fetched:
                events.append(media_event(media, event, ctx.now))
        if self.wants_profile(account):
            for msg in reading.messages:
                person = msg.person_id
                if person and not msg.name and person not in extras.names and person not in extras.asked:
                    events.append(profile_event(person, msg.key, event, ctx.now))
                    extras.asked.add(person)
        return events

    def _latest(self, within: StoredEvent, message_key: str, account: A, ctx: ParseContext,
                source: StoredEvent | None = None) -> ChatMessage | None:
        """The latest known version of a message among the events of `within`'s chat (and `source`, when given).

        An edit may have followed the message; a deletion keeps the content.
        """
        related = ctx.related(self.channel, within.account, within.group_key) if within.group_key else []
        latest: ChatMessage | None = None
        deleted: ChatMessage | None = None
        for event in [*([source] if source is not None else []), *related]:
            if event.name in FOLLOW_UPS:
                continue
            try:
                reading = self.read(event, account)
            except GatewayError:
                continue
            for msg in reading.messages:
                if msg.key != message_key:
                    continue
                if msg.deleted:
                    deleted = msg
                else:
                    latest = msg
        if deleted is not None:
            return replace(latest, deleted=True) if latest is not None else deleted
        return latest

    def _refreshed(self, task_event: StoredEvent, source: StoredEvent | None, message_key: str, account: A,
                   ctx: ParseContext, extras: Extras) -> list[Interaction]:
        latest = self._latest(task_event, message_key, account, ctx, source=source)
        return [self._interaction(latest, extras)] if latest else []

    def _fetch_media(self, event: StoredEvent, account: A, ctx: ParseContext) -> Outcome:
        task = MediaTask.parse(event.body)
        if account.fetch_media:
            attachment = self.fetch(task.media, account, ctx)
        else:
            attachment = omitted(task.media, "media fetching is turned off")
        log.info("messenger.media", channel=self.channel, account=event.account, kind=task.media.kind,
                 size=attachment.size, omitted=attachment.omitted, reason=attachment.reason)
        extras = self._extras(event, ctx, skip_id=event.id)
        extras.attachments.setdefault(task.message_key, []).append(attachment)
        interactions = self._refreshed(event, task.source_event(event), task.message_key, account, ctx,
                                       extras)
        return Outcome(interactions=interactions, result={
            "message_key": task.message_key, "attachment": attachment.model_dump(mode="json")})

    def _fetch_profile(self, event: StoredEvent, account: A, ctx: ParseContext) -> Outcome:
        task = ProfileTask.parse(event.body)
        name = self.profile_name(task.person_id, account, ctx)
        extras = self._extras(event, ctx, skip_id=event.id)
        if name:
            extras.names[task.person_id] = name
        interactions = self._refreshed(event, task.source_event(event), task.message_key, account, ctx,
                                       extras) \
            if name else []
        return Outcome(interactions=interactions, result={"person_id": task.person_id, "name": name})
