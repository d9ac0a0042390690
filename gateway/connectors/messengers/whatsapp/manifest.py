"""The WhatsApp connector's contract (see gateway/connectors/manifest.py)."""

from gateway.config.messengers import WhatsAppSettings
from gateway.connectors.manifest import Manifest

MANIFEST = Manifest(
    channel="whatsapp",
    name="WhatsApp Cloud API",
    receives="signed webhook notifications (messages and statuses); a new person's first message becomes a lead",
    routes=(("GET", "/hooks/whatsapp/{account}"), ("POST", "/hooks/whatsapp/{account}")),
    settings=WhatsAppSettings,
    settings_key="messengers.whatsapp",
    keys=("msg:{message id}", "status:{message id}:{status}", "body:{sha256 of the body}",
          "media:{chat}:{message}:{media id}"),
    docs=("https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks",),
)
