"""Site forms (channel `forms`): submissions over HTTP, files, spam checks, field mapping."""

from gateway.connectors.webforms.connector import FormsConnector

__all__ = ["FormsConnector"]
