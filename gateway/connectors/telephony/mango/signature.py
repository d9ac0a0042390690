"""Mango's request signature: `sha256_hex(vpbx_api_key + json + vpbx_api_salt)` (Mango §2.4.3)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

__all__ = ["compact_json", "link_sign", "sign", "signed_form", "verify"]


def sign(api_key: str, json_text: str, api_salt: str) -> str:
    """The lowercase hex SHA-256 of key + json + salt, over the exact json string."""
    return hashlib.sha256((api_key + json_text + api_salt).encode("utf-8")).hexdigest()


def verify(api_key: str, json_text: str, api_salt: str, signature: str) -> bool:
    """Constant-time comparison; Mango's hex is accepted in either case."""
    expected = sign(api_key, json_text, api_salt)
    return hmac.compare_digest(expected.encode("ascii"), signature.strip().lower().encode("ascii", "replace"))


def link_sign(api_key: str, timestamp: int | str, recording_id: str, api_salt: str) -> str:
    """The signature of a public recording link (Mango §3.5.2)."""
    return hashlib.sha256(f"{api_key}{timestamp}{recording_id}{api_salt}".encode()).hexdigest()


def compact_json(payload: dict[str, Any]) -> str:
    """Machine-generated JSON without spaces, as Mango asks for commands (§2.4.4)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def signed_form(api_key: str, api_salt: str, payload: dict[str, Any]) -> dict[str, str]:
    """The three form fields of a signed request."""
    text = compact_json(payload)
    return {"vpbx_api_key": api_key, "sign": sign(api_key, text, api_salt), "json": text}
