"""The Telegram connector's contract (see gateway/connectors/manifest.py)."""

from gateway.config.messengers import TelegramSettings
from gateway.connectors.manifest import Manifest

MANIFEST = Manifest(
    channel="telegram",
    name="Telegram Bot API",
    receives="webhook updates of a bot; a new person's first message becomes a lead, later ones join it",
    routes=(("POST", "/hooks/telegram/{bot}"),),
    settings=TelegramSettings,
    settings_key="messengers.telegram",
    keys=("update:{update_id}", "media:{chat}:{message}:{file_unique_id}", "profile:{person}"),
    docs=("https://core.telegram.org/bots/api#setwebhook", "https://core.telegram.org/bots/api#update"),
)
