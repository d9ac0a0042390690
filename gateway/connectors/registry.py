"""The explicit list of connectors: adding a provider is one line here."""

from __future__ import annotations

from importlib import import_module

from gateway.config import Settings
from gateway.connectors.base import Connector

__all__ = ["CONNECTORS", "build_connectors"]

# channel -> "module:Class"
CONNECTORS: dict[str, str] = {
    "manual": "gateway.connectors.manual.connector:ManualConnector",
    "mango": "gateway.connectors.telephony.mango.connector:MangoConnector",
    "forms": "gateway.connectors.webforms.connector:FormsConnector",
    "telegram": "gateway.connectors.messengers.telegram.connector:TelegramConnector",
    "vk": "gateway.connectors.messengers.vk.connector:VkConnector",
    "whatsapp": "gateway.connectors.messengers.whatsapp.connector:WhatsAppConnector",
    "imap": "gateway.connectors.email.connector:ImapConnector",
}


def build_connectors(settings: Settings) -> dict[str, Connector]:
    out: dict[str, Connector] = {}
    for channel, target in CONNECTORS.items():
        module, _, cls = target.partition(":")
        connector = getattr(import_module(module), cls)(settings)
        assert connector.channel == channel, f"{target} says it is {connector.channel!r}"
        out[channel] = connector
    return out
