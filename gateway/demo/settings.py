"""The demo's configuration: one account per channel, with public secrets, pointed at the local stand-in.

`gateway simulate` reads the same accounts when there is no gateway.toml, so that every kind of
traffic works against the demo with no flags.
"""

from __future__ import annotations

import sys
from typing import Any

from gateway.config import Settings, load_settings, settings_from
from gateway.core.errors import ConfigError

__all__ = ["MANAGERS", "PREFIX", "demo_settings", "simulation_settings"]

PREFIX = "/demo/providers"  # where the demo serves its stand-in for the providers' APIs

# PBX extension -> user: the demo creates these users, so that calls show who took them.
MANAGERS = {"101": "ivanov", "102": "petrova", "103": "sidorov"}
MANGO = {"account": "main", "api_key": "demo-mango-key", "api_salt": "demo-mango-salt"}
TELEGRAM = {"bot": "sales_bot", "token": "100000:demo-telegram-token", "secret_token": "demo-telegram-secret"}
VK = {"group": "shop", "group_id": 229000001, "secret": "demo-vk-secret", "confirmation": "demo-vk-confirmation",
      "access_token": "demo-vk-token"}
WHATSAPP = {"account": "main", "verify_token": "demo-wa-verify", "app_secret": "demo-wa-app-secret",
            "access_token": "demo-wa-token", "phone_number_id": "100000000000001"}
FORM = {"id": "site-ru", "name": "Заявка с сайта", "secret": "demo-form-secret"}  # to Unsorted (no stage)


def demo_config(providers_url: str) -> dict[str, Any]:
    """The demo's settings as a gateway.toml would hold them; API addresses under `providers_url`."""
    return {
        "sources": [
            {"name": "Яндекс.Директ", "group": "Реклама"},
            {"name": "Сайт", "group": "Интернет"},
            {"name": "Telegram", "group": "Мессенджеры"},
            {"name": "ВКонтакте", "group": "Мессенджеры"},
            {"name": "WhatsApp", "group": "Мессенджеры"},
        ],
        "telephony": {"mango": [{
            **MANGO, "api_url": f"{providers_url}/mango/vpbx/", "recording_retry_seconds": 5,
            "lines": {"74951234567": "Яндекс.Директ", "74957654321": "Сайт"}, "extensions": MANAGERS,
        }]},
        "forms": [FORM],
        "messengers": {
            "telegram": [{**TELEGRAM, "api_url": f"{providers_url}/telegram"}],
            "vk": [{**VK, "api_url": f"{providers_url}/vk/method"}],
            "whatsapp": [{**WHATSAPP, "api_url": f"{providers_url}/whatsapp/v21.0"}],
        },
        "http": {"allow_private_outbound": True},  # the stand-in listens on loopback
    }


def demo_settings(providers_url: str) -> Settings:
    """The demo's settings; the environment still chooses the database, files and logs, but not Redis."""
    settings = settings_from(demo_config(providers_url))
    if settings.redis_url:
        raise ConfigError("config error: redis_url: the demo runs without Redis; unset GATEWAY_REDIS_URL, or run "
                          "your own configuration with `gateway serve`")
    return settings


def simulation_settings(config: str | None, gateway_url: str) -> Settings:
    """The accounts `gateway simulate` signs with: the settings file's, else (no file at all) the demo's."""
    settings = load_settings(config)
    if settings.config_loaded_from is not None:
        return settings
    print(f"no settings file at {settings.config}: signing with the demo's accounts (`gateway demo`)",
          file=sys.stderr)
    return settings_from(demo_config(gateway_url.rstrip("/") + PREFIX))
