"""Mango Office VPBX: webhooks in, calls folded into leads, recordings fetched, reconciliation."""

from gateway.connectors.telephony.mango.connector import MangoConnector

__all__ = ["MangoConnector"]
