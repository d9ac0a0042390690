"""The VK connector's contract (see gateway/connectors/manifest.py)."""

from gateway.config.messengers import VkSettings
from gateway.connectors.manifest import Manifest

MANIFEST = Manifest(
    channel="vk",
    name="VK Callback API",
    receives="community events (messages, lead forms); a new person's first message becomes a lead",
    routes=(("POST", "/hooks/vk/{group}"),),
    settings=VkSettings,
    settings_key="messengers.vk",
    keys=("{event_id}", "media:{chat}:{message}:{attachment}", "profile:{person}"),
    docs=("https://dev.vk.com/ru/api/callback/getting-started",),
)
