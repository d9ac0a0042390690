"""Telegram Bot API: webhook edge, updates to conversation entries, files, replies."""

from gateway.connectors.messengers.telegram.connector import TelegramConnector

__all__ = ["TelegramConnector"]
