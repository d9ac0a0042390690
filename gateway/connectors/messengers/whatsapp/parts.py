"""The parts of one Cloud API delivery: each message and each status, with a body of its own.

Meta batches messages and statuses into one signed notification. Each part is an event of its own
(its own key, so a redelivery is a duplicate, and its own retries), but it must not hold the whole
body: 3,000 statuses in 164 KB would store 3,000 copies. A part's body is the notification cut down
to its one message or status, with the few shared fields the reader needs (the phone number's
metadata, the sender's contact); those are copied only in short, so a part stays about the size of
its own item whatever else the body carries. The signed body itself is kept once, by the edge.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

__all__ = ["MESSAGE", "STATUS", "Part", "count", "parts", "values"]

MESSAGE = "message"
STATUS = "status"
_SHORT = 64  # object, entry id, field, messaging_product, metadata numbers
_NAME = 256  # a contact's profile name


@dataclass(frozen=True, slots=True)
class Part:
    key: str
    name: str  # MESSAGE or STATUS
    group: str | None  # the chat: the sender's or the recipient's WhatsApp id
    value: dict[str, Any]  # the change's value the part comes from (for its owner)
    body: bytes  # the notification with this one part


@dataclass(frozen=True, slots=True)
class _Place:
    """Where a value sits in the notification: what a part's cut-down notification repeats of it."""

    object: str | None
    entry_id: str | None
    field: str | None
    value: dict[str, Any]


def _short(value: object, limit: int = _SHORT) -> str | None:
    return value[:limit] if isinstance(value, str) and value else None


def _places(data: dict[str, Any]) -> list[_Place]:
    found = []
    obj = _short(data.get("object"))
    entries = data.get("entry")
    for entry in entries if isinstance(entries, list) else []:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        for change in changes if isinstance(changes, list) else []:
            value = change.get("value") if isinstance(change, dict) else None
            if isinstance(value, dict):
                found.append(_Place(obj, _short(entry.get("id")), _short(change.get("field")), value))
    return found


def values(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Every change's value in the notification."""
    return [place.value for place in _places(data)]


def _items(value: dict[str, Any], name: str) -> list[dict[str, Any]]:
    items = value.get(name)
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def count(data: dict[str, Any]) -> int:
    """How many messages and statuses the notification carries."""
    return sum(len(_items(v, "messages")) + len(_items(v, "statuses")) for v in values(data))


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _contact(value: dict[str, Any], wa_id: object) -> dict[str, Any] | None:
    for contact in _items(value, "contacts"):
        if contact.get("wa_id") == wa_id:
            profile = contact.get("profile")
            name = _short(profile.get("name"), _NAME) if isinstance(profile, dict) else None
            return {"wa_id": wa_id, "profile": {"name": name}} if name else {"wa_id": wa_id}
    return None


def _cut(place: _Place, kind: str, item: dict[str, Any], delivery: str) -> bytes:
    """The notification with only `item`, and in short what the reader needs besides."""
    value: dict[str, Any] = {}
    if product := _short(place.value.get("messaging_product")):
        value["messaging_product"] = product
    metadata = place.value.get("metadata")
    if isinstance(metadata, dict):
        value["metadata"] = {k: v for k in ("display_phone_number", "phone_number_id")
                             if (v := _short(metadata.get(k))) is not None}
    if kind == MESSAGE:
        if (contact := _contact(place.value, item.get("from"))) is not None:
            value["contacts"] = [contact]
        value["messages"] = [item]
    else:
        value["statuses"] = [item]
    change = {k: v for k, v in (("field", place.field), ("value", value)) if v is not None}
    entry = {k: v for k, v in (("id", place.entry_id), ("changes", [change])) if v is not None}
    note = {k: v for k, v in (("object", place.object), ("entry", [entry]), ("delivery", delivery)) if v is not None}
    return json.dumps(note, ensure_ascii=False, separators=(",", ":")).encode()


def parts(data: dict[str, Any], body: bytes, delivery: str) -> list[Part]:
    """Each message (`msg:{id}`) and status (`status:{id}:{status}`) once, in order.

    A single part keeps the body as it came (it is its own slice); several get a cut-down notification
    each, naming the `delivery` (the key the whole body is stored under).
    """
    found: list[tuple[_Place, str, dict[str, Any], str, str | None]] = []
    seen: set[str] = set()
    for place in _places(data):
        for msg in _items(place.value, "messages"):
            if isinstance(msg.get("id"), str) and (key := f"msg:{msg['id']}") not in seen:
                seen.add(key)
                found.append((place, MESSAGE, msg, key, _str(msg.get("from"))))
        for status in _items(place.value, "statuses"):
            if isinstance(status.get("id"), str) and (key := f"status:{status['id']}:{status.get('status')}") \
                    not in seen:
                seen.add(key)
                found.append((place, STATUS, status, key, _str(status.get("recipient_id"))))
    if len(found) == 1:
        place, kind, _, key, group = found[0]
        return [Part(key, kind, group, place.value, body)]
    return [Part(key, kind, group, place.value, _cut(place, kind, item, delivery))
            for place, kind, item, key, group in found]
