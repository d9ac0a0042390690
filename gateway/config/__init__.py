"""Settings: the environment (GATEWAY_*) over the TOML file over the defaults.

`settings.py` holds the whole tree and its loading; each connector's section has its own module
(`email`, `forms`, `mango`, `messengers`), and so do the pipelines with their triggers (`pipelines`).
This package imports nothing above `gateway.core`, so every other package may depend on it.
"""

from gateway.config.pipelines import TriggerSettings
from gateway.config.settings import (
    UNSORTED,
    PipelineSettings,
    Settings,
    WebhookSubscription,
    load_settings,
    read_toml,
    settings_from,
)

__all__ = ["UNSORTED", "PipelineSettings", "Settings", "TriggerSettings", "WebhookSubscription", "load_settings",
           "read_toml", "settings_from"]
