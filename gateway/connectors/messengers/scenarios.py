"""Realistic, correctly signed provider deliveries for `gateway simulate` (demos and load tests).

Each person writes a first message, a follow-up, shares a contact, sends a photo and edits
their first message; between them come a bot's message and an update type the gateway does
not handle. Ids derive from `seed`, so two runs with different seeds never collide.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from gateway.config.messengers import TelegramSettings, VkSettings, WhatsAppSettings
from gateway.connectors.messengers.whatsapp.connector import SIGNATURE_HEADER, signature

__all__ = ["Delivery", "deliveries"]

STEPS = 7
TEXTS = ("Здравствуйте! Сколько стоит доставка?", "Добрый день, нужен расчёт на 200 штук",
         "Интересует опт, перезвоните", "Есть ли в наличии?")


@dataclass(frozen=True, slots=True)
class Delivery:
    path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    step: str = ""


def _phone(seed: int, person: int, operator: str = "916") -> str:
    """A mobile number; each messenger its own operator code, so that runs with one seed meet different people."""
    return f"7{operator}{(seed * 7919 + person) % 10_000_000:07d}"


def _dump(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode()


def _telegram(bot: TelegramSettings, seed: int, person: int, t: int) -> Iterator[tuple[str, dict[str, Any]]]:
    uid = 100_000_000 + (seed % 1_000_000) * 100 + person
    user = {"id": uid, "is_bot": False, "first_name": f"Клиент {person}", "language_code": "ru"}
    chat = {"id": uid, "first_name": f"Клиент {person}", "type": "private"}
    upd = (seed % 100_000) * 1000 + person * STEPS

    def message(n: int, **kw: Any) -> dict[str, Any]:
        return {"message_id": n, "from": user, "chat": chat, "date": t + n, **kw}

    first = TEXTS[person % len(TEXTS)] + (f" Мой номер 8{_phone(seed, person)[1:]}" if person % 2 else "")
    yield "new person", {"update_id": upd, "message": message(1, text=first)}
    yield "follow-up", {"update_id": upd + 1, "message": message(2, text="И ещё вопрос про сроки")}
    yield "contact", {"update_id": upd + 2, "message": message(3, contact={
        "phone_number": _phone(seed, person), "first_name": f"Клиент {person}", "user_id": uid})}
    yield "photo", {"update_id": upd + 3, "message": message(4, caption="Вот фото", photo=[
        {"file_id": f"sim-photo-{uid}-s", "file_unique_id": f"simS{uid}", "width": 90, "height": 67, "file_size": 900},
        {"file_id": f"sim-photo-{uid}-l", "file_unique_id": f"simL{uid}", "width": 1280, "height": 960,
         "file_size": 60000}])}
    yield "edit", {"update_id": upd + 4, "edited_message": message(1, text=first + " (исправлено)", edit_date=t + 60)}
    yield "bot message", {"update_id": upd + 5, "message": {
        "message_id": 5, "from": {"id": 6_000_000_000 + person, "is_bot": True, "first_name": "Bot"},
        "chat": {"id": -1_001_000_000_000 - person, "title": "Группа", "type": "supergroup"}, "date": t, "text": "бот"}}
    yield "unknown type", {"update_id": upd + 6, "message_reaction": {
        "chat": chat, "message_id": 2, "user": user, "date": t + 70, "old_reaction": [],
        "new_reaction": [{"type": "emoji", "emoji": "👍"}]}}


def _vk_photo_url(group: VkSettings, uid: int) -> str:
    """VK's CDN link; when the API is a stand-in (another `api_url`, as in the demo), a link beside it."""
    if group.api_url == VkSettings.model_fields["api_url"].default:
        return f"https://sun9-1.userapi.com/sim/{uid}.jpg"
    return f"{group.api_url.rstrip('/').removesuffix('/method')}/userapi/sim/{uid}.jpg"


def _vk(group: VkSettings, seed: int, person: int, t: int) -> Iterator[tuple[str, dict[str, Any]]]:
    uid = 700_000_000 + (seed % 1_000_000) * 100 + person
    gid = group.group_id or 1
    base = f"{seed:x}{person:06x}"

    def callback(kind: str, n: int, obj: dict[str, Any]) -> dict[str, Any]:
        return {"group_id": gid, "type": kind, "event_id": f"{base}{n:02x}", "v": group.api_version,
                "object": obj, "secret": group.secret}

    def message(n: int, text: str, **kw: Any) -> dict[str, Any]:
        return {"date": t + n, "from_id": uid, "id": 1000 + n, "out": 0, "peer_id": uid, "text": text,
                "conversation_message_id": n, "attachments": [], "fwd_messages": [], "version": n, **kw}

    first = TEXTS[person % len(TEXTS)]
    yield "new person", callback("message_new", 1, {"message": message(1, first, ref="sim_ad"), "client_info": {}})
    yield "follow-up", callback("message_new", 2, {"message": message(2, "И ещё вопрос про сроки"), "client_info": {}})
    yield "contact", callback("message_new", 3, {"message": message(3, f"Мой телефон +{_phone(seed, person, '926')}"),
                                                  "client_info": {}})
    photo = {"id": 1000 + person, "owner_id": uid, "sizes": [
        {"type": "x", "width": 604, "height": 453, "url": _vk_photo_url(group, uid)}]}
    yield "photo", callback("message_new", 4, {
        "message": message(4, "Вот фото", attachments=[{"type": "photo", "photo": photo}]), "client_info": {}})
    yield "edit", callback("message_edit", 5, message(1, first + " (исправлено)", update_time=t + 60))
    yield "bot message", callback("message_reply", 6, message(6, "Ответ сообщества", from_id=-gid, out=1))
    yield "unknown type", callback("group_join", 7, {"user_id": uid, "join_type": "join"})


def _whatsapp(account: WhatsAppSettings, seed: int, person: int, t: int) -> Iterator[tuple[str, dict[str, Any]]]:
    wa = _phone(seed, person, "903")
    base = f"wamid.SIM{seed:x}{person:06x}"

    def note(value: dict[str, Any], fld: str = "messages") -> dict[str, Any]:
        meta = {"display_phone_number": "74950000000", "phone_number_id": account.phone_number_id or "0"}
        return {"object": "whatsapp_business_account", "entry": [{"id": "0", "changes": [
            {"field": fld, "value": {"messaging_product": "whatsapp", "metadata": meta, **value}}]}]}

    def message(n: int, **kw: Any) -> dict[str, Any]:
        return note({"contacts": [{"profile": {"name": f"Клиент {person}"}, "wa_id": wa}],
                     "messages": [{"from": wa, "id": f"{base}{n:02x}", "timestamp": str(t + n), **kw}]})

    yield "new person", message(1, type="text", text={"body": TEXTS[person % len(TEXTS)]})
    yield "follow-up", message(2, type="text", text={"body": "И ещё вопрос про сроки"})
    yield "contact", message(3, type="contacts", contacts=[
        {"name": {"formatted_name": "Коллега", "first_name": "Коллега"}, "phones": [{"phone": "+79031112233"}]}])
    yield "photo", message(4, type="image", image={"id": f"{seed}{person:06d}", "mime_type": "image/jpeg",
                                                   "caption": "Вот фото"})
    yield "edit", message(5, type="unsupported", unsupported={"type": "edit"}, errors=[
        {"code": 131051, "title": "Message type unknown", "message": "Message type unknown"}])
    yield "bot message", note({"statuses": [{"id": f"{base}ff", "status": "delivered", "timestamp": str(t + 9),
                                             "recipient_id": wa}]})
    yield "unknown type", note({"phone_number": "74950000000", "event": "VERIFIED_ACCOUNT", "n": person},
                               fld="account_update")


def deliveries(account: TelegramSettings | VkSettings | WhatsAppSettings, seed: int, t: int) -> Iterator[Delivery]:
    """An endless, ordered stream of deliveries, person after person."""
    person = 0
    while True:
        person += 1
        if isinstance(account, TelegramSettings):
            path = f"/hooks/telegram/{account.bot}"
            for step, obj in _telegram(account, seed, person, t):
                yield Delivery(path, _dump(obj), {"X-Telegram-Bot-Api-Secret-Token": account.secret_token}, step)
        elif isinstance(account, VkSettings):
            for step, obj in _vk(account, seed, person, t):
                yield Delivery(f"/hooks/vk/{account.group}", _dump(obj), {}, step)
        else:
            for step, obj in _whatsapp(account, seed, person, t):
                body = _dump(obj)
                yield Delivery(f"/hooks/whatsapp/{account.account}", body,
                               {SIGNATURE_HEADER: signature(account.app_secret, body)}, step)
