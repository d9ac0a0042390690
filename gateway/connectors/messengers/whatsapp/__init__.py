"""WhatsApp Cloud API: webhook edge, messages and statuses, media, replies."""

from gateway.connectors.messengers.whatsapp.connector import WhatsAppConnector

__all__ = ["WhatsAppConnector"]
