"""The one error tree of the gateway.

GatewayError
├── ConfigError            a setting is missing or wrong (start-up stops with one line, exit code 2)
│   └── StoreUnavailable   the configured database cannot be reached or opened
├── AuthenticationError    no or unknown credentials (HTTP 401)
├── PermissionDenied       known caller, not allowed (HTTP 403)
├── SignatureError         a provider's signature or secret does not match (HTTP 403)
├── PayloadError           a malformed body (HTTP 400, with the reason)
│   └── PayloadTooLarge    over a size limit (HTTP 413)
├── NotFound               an unknown object, form or account (HTTP 404)
├── Conflict               another operator got there first (HTTP 409)
├── RateLimited            too many requests (HTTP 429)
├── UpstreamError          an outbound call failed
│   ├── TransientUpstreamError   worth retrying (timeouts, 5xx, 429)
│   └── PermanentUpstreamError   not worth retrying (4xx, refused by the provider)
└── NotALead               an event that is stored but yields no lead (explicit outcome)
"""

from __future__ import annotations

__all__ = [
    "AuthenticationError",
    "ConfigError",
    "Conflict",
    "GatewayError",
    "NotALead",
    "NotFound",
    "PayloadError",
    "PayloadTooLarge",
    "PermanentUpstreamError",
    "PermissionDenied",
    "RateLimited",
    "SignatureError",
    "StoreUnavailable",
    "TransientUpstreamError",
    "UpstreamError",
]


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""

    status = 500

    def __init__(self, message: str = "", **details: object) -> None:
        super().__init__(message or self.__class__.__name__)
        self.message = message or self.__class__.__name__
        self.details = details


class ConfigError(GatewayError):
    """A setting is missing or wrong."""


class StoreUnavailable(ConfigError):
    """The database named by `database_url` cannot be reached or opened."""


class AuthenticationError(GatewayError):
    status = 401


class PermissionDenied(GatewayError):
    status = 403


class SignatureError(GatewayError):
    status = 403


class PayloadError(GatewayError):
    status = 400


class PayloadTooLarge(PayloadError):
    status = 413


class NotFound(GatewayError):
    status = 404


class Conflict(GatewayError):
    status = 409


class RateLimited(GatewayError):
    status = 429


class UpstreamError(GatewayError):
    status = 502


class TransientUpstreamError(UpstreamError):
    """Worth retrying: a timeout, a 5xx, a 429 (with `retry_after` seconds when known)."""

    def __init__(self, message: str = "", retry_after: float | None = None, **details: object) -> None:
        super().__init__(message, **details)
        self.retry_after = retry_after


class PermanentUpstreamError(UpstreamError):
    """Not worth retrying: the provider refused the request."""


class NotALead(GatewayError):
    """Stored and acknowledged, but not a lead (a bot's message, a delivery status...)."""
