"""VK Callback API: webhook edge, messages and lead forms, attachments, replies."""

from gateway.connectors.messengers.vk.connector import VkConnector

__all__ = ["VkConnector"]
