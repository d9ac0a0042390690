"""Site forms (channel `forms`): `FormsConnector` lives in `connector.py`.

Imported lazily: `gateway.config` imports this package's settings, and the connector needs `Settings`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FormsConnector"]


def __getattr__(name: str) -> Any:
    if name == "FormsConnector":
        from gateway.connectors.webforms.connector import FormsConnector

        return FormsConnector
    raise AttributeError(name)
