"""Telegram updates of one chat, as the bot receives them (shape: tests/fixtures/telegram/*.json)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from gateway.connectors.base import NewEvent

BOT = "sales_bot"
CHAT = 555000111
T0 = 1767261617


def chat_message(n: int, text: str, *, chat: int = CHAT) -> NewEvent:
    update = {"update_id": 700000000 + chat % 1000 * 100 + n, "message": {
        "message_id": n, "date": T0 + n * 30, "text": text,
        "from": {"id": chat, "is_bot": False, "first_name": "Мария", "last_name": "Петрова"},
        "chat": {"id": chat, "first_name": "Мария", "last_name": "Петрова", "type": "private"}}}
    return NewEvent(connector="telegram", account=BOT, key=f"update:{update['update_id']}", name="message",
                    group_key=str(chat), body=json.dumps(update, ensure_ascii=False).encode(),
                    received_at=datetime.now(UTC))
