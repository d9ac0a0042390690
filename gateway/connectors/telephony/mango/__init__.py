"""Mango Office VPBX: webhooks in, calls folded into leads, recordings fetched, reconciliation."""

from __future__ import annotations

from typing import Any

__all__ = ["MangoConnector"]


def __getattr__(name: str) -> Any:
    # gateway.config imports this package for its settings: load the connector only when asked.
    if name == "MangoConnector":
        from gateway.connectors.telephony.mango.connector import MangoConnector

        return MangoConnector
    raise AttributeError(name)
