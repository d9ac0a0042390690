"""The Bitrix24 sink, through an incoming webhook: duplicates by phone and e-mail, then a lead or a comment.

`POST {webhook_url}{method}.json` with a JSON body. Errors come as `{"error", "error_description"}`:
503 `QUERY_LIMIT_EXCEEDED` and 5xx are worth retrying; any other error is a refusal, shown as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from gateway.config.sinks import Bitrix24Settings
from gateway.core.errors import PermanentUpstreamError, TransientUpstreamError, UpstreamError
from gateway.egress import AsyncOutboundClient
from gateway.sinks.base import Remote, SinkLead
from gateway.sinks.bitrix24 import mapping
from gateway.sinks.pacing import Pacer

__all__ = ["Bitrix24Sink"]

TRANSIENT_ERRORS = {"QUERY_LIMIT_EXCEEDED", "INTERNAL_SERVER_ERROR", "OPERATION_TIME_LIMIT"}


class Bitrix24Sink:
    def __init__(self, settings: Bitrix24Settings, http: AsyncOutboundClient) -> None:
        self.settings = self.s = settings
        self.http = http
        self.pacer = Pacer(settings.rate_per_second) if settings.rate_per_second else None

    async def call(self, method: str, body: Mapping[str, Any]) -> Any:
        """One REST method; its `result`."""
        if self.pacer is not None:
            await self.pacer.wait()
        try:
            resp = await self.http.send_once("POST", f"{self.s.webhook_url}{method}.json", json=dict(body))
        except UpstreamError as exc:
            raise TransientUpstreamError(f"Битрикс24 недоступен: {exc.message}") from None
        return _judged(resp, method)

    async def known_contact(self, lead: SinkLead) -> int | None:
        for query in mapping.duplicate_queries(lead):
            found = await self.call("crm.duplicate.findbycomm", query)
            ids = (found or {}).get("CONTACT") if isinstance(found, Mapping) else None
            if ids:
                return int(sorted(int(i) for i in ids)[0])
        return None

    async def create(self, lead: SinkLead, request_id: str) -> Remote:
        contact_id = await self.known_contact(lead)
        if contact_id is not None and self.s.known_contact == "comment":
            comment_id = await self.call("crm.timeline.comment.add", {"fields": {
                "ENTITY_ID": contact_id, "ENTITY_TYPE": "contact", "COMMENT": mapping.comment(lead, request_id)}})
            return self._contact(contact_id, comment_id)
        lead_id = await self.call("crm.lead.add", mapping.lead_fields(lead, self.s, request_id, contact_id))
        return self._lead(lead_id, contact_id)

    async def find(self, lead: SinkLead, request_id: str) -> Remote | None:
        found = await self.call("crm.lead.list", mapping.lead_lookup(request_id))
        if found:
            return self._lead(found[0]["ID"], None)
        if self.s.known_contact != "comment":
            return None
        contact_id = await self.known_contact(lead)
        if contact_id is None:
            return None
        comment_id = await self._comment_with(contact_id, "contact", f"[{request_id}]", suffix=True)
        return self._contact(contact_id, comment_id) if comment_id is not None else None

    async def _comment_with(self, entity_id: str | int, entity_type: str, text: str, *,
                            suffix: bool = False) -> str | None:
        found = await self.call("crm.timeline.comment.list", {
            "filter": {"ENTITY_ID": entity_id, "ENTITY_TYPE": entity_type}, "select": ["ID", "COMMENT"]})
        for c in found or []:
            body = str(c.get("COMMENT") or "")
            if (body.endswith(text) if suffix else body == text):
                return str(c["ID"])
        return None

    def first_note(self, lead: SinkLead) -> str | None:
        return None  # COMMENTS carries the text, the fields and the links

    async def note(self, remote: Remote, text: str, request_id: str) -> str:
        entity_type = "contact" if remote.kind == "contact" else "lead"
        return str(await self.call("crm.timeline.comment.add", {"fields": {
            "ENTITY_ID": int(remote.id), "ENTITY_TYPE": entity_type, "COMMENT": text}}))

    async def find_note(self, remote: Remote, text: str) -> str | None:
        return await self._comment_with(int(remote.id), "contact" if remote.kind == "contact" else "lead", text)

    def _lead(self, lead_id: Any, contact_id: int | None) -> Remote:
        extra = {"contact_id": contact_id} if contact_id else {}
        return Remote(str(lead_id), f"{self.s.portal()}/crm/lead/details/{lead_id}/", "lead", extra)

    def _contact(self, contact_id: int, comment_id: Any) -> Remote:
        return Remote(str(contact_id), f"{self.s.portal()}/crm/contact/details/{contact_id}/", "contact",
                      {"comment_id": str(comment_id)})


def _judged(resp: httpx.Response, method: str) -> Any:
    try:
        data = resp.json()
    except ValueError:
        data = None
    error = data.get("error") if isinstance(data, Mapping) else None
    if resp.status_code < 300 and error is None and isinstance(data, Mapping) and "result" in data:
        return data["result"]
    words = str(data.get("error_description") or error) if isinstance(data, Mapping) else resp.text[:300]
    if resp.status_code >= 500 or resp.status_code == 429 or error in TRANSIENT_ERRORS:
        raise TransientUpstreamError(f"Битрикс24 ({method}): {words}", retry_after=_after(resp),
                                     status=resp.status_code)
    raise PermanentUpstreamError(f"Битрикс24 отказал ({method}): {words or resp.status_code}",
                                 status=resp.status_code)


def _after(resp: httpx.Response) -> float | None:
    try:
        return max(0.0, float(resp.headers["retry-after"]))
    except (KeyError, ValueError):
        return None
