"""Messenger connectors: Telegram Bot API, VK Callback API, WhatsApp Cloud API.

Each provider lives in its own folder (`telegram/`, `vk/`, `whatsapp/`); the pieces they
share (the conversation model, media follow-ups, the edge checks, replies) live here.
The connectors are imported from their folders, not from here.
"""
