"""The amoCRM sink: Unsorted items (calls as `sip`, the rest as `forms`), `leads/complex`, contacts, notes.

Every request is paced under the account's limit (7 a second), carries the token, and is judged here:
429 and 5xx are worth retrying (Retry-After honoured), 401 refreshes the token once, a 400 with a
validation message is a permanent refusal, shown as amoCRM worded it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import httpx

from gateway.config.sinks import AmoCrmSettings
from gateway.core.errors import PermanentUpstreamError, TransientUpstreamError, UpstreamError
from gateway.egress import AsyncOutboundClient
from gateway.sinks.amocrm import mapping
from gateway.sinks.amocrm.auth import AmoAuth
from gateway.sinks.base import Remote, SinkLead
from gateway.sinks.pacing import Pacer
from gateway.sinks.tokens import TokenKeeper

__all__ = ["AmoCrmSink", "refusal"]

LOOKBACK = timedelta(days=2)  # how far back a lost answer's record is looked for


def refusal(resp: httpx.Response) -> str:
    """amoCRM's own words for a refusal (problem+json: `detail`, `validation-errors`)."""
    try:
        data = resp.json()
    except ValueError:
        return resp.text[:300] or f"ответ {resp.status_code}"
    if not isinstance(data, Mapping):
        return str(data)[:300]
    parts = [str(data.get("detail") or data.get("title") or "")]
    for item in data.get("validation-errors") or []:
        for err in (item.get("errors") or []) if isinstance(item, Mapping) else []:
            if isinstance(err, Mapping):
                parts.append(f"{err.get('path', '')}: {err.get('detail') or err.get('code')}")
    return "; ".join(p for p in parts if p)[:1000] or f"ответ {resp.status_code}"


class AmoCrmSink:
    def __init__(self, settings: AmoCrmSettings, http: AsyncOutboundClient, tokens: TokenKeeper, *,
                 region: str = "RU") -> None:
        self.settings = self.s = settings
        self.http, self.region = http, region
        self.pacer = Pacer(settings.rate_per_second) if settings.rate_per_second else None
        self.auth = AmoAuth(settings, http, tokens, pace=self._pace)

    async def _pace(self) -> None:
        if self.pacer is not None:
            await self.pacer.wait()

    # --- one request ------------------------------------------------------------------------------
    async def call(self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None) -> Any:
        """One API request, judged; the decoded body (None for 204 No Content)."""
        for refreshed in (False, True):
            await self._pace()
            headers = {"Authorization": await self.auth.header(), "Content-Type": "application/json"}
            try:
                resp = await self.http.send_once(method, f"{self.s.root()}{path}", json=json, params=params,
                                                 headers=headers)
            except UpstreamError as exc:
                raise TransientUpstreamError(f"amoCRM недоступна: {exc.message}") from None
            if resp.status_code == 401 and not refreshed and await self.auth.refreshed_after_refusal():
                continue
            return self._judged(resp)
        raise AssertionError("unreachable")

    def _judged(self, resp: httpx.Response) -> Any:
        code = resp.status_code
        if code == 204:
            return None
        if 200 <= code < 300:
            return resp.json()
        if code == 429 or code >= 500:
            after = resp.headers.get("retry-after")
            raise TransientUpstreamError(f"amoCRM ответила {code}", retry_after=_seconds(after), status=code)
        if code == 403:  # repeated 429s block the account or address for a while
            raise TransientUpstreamError("amoCRM временно закрыла доступ (403)", retry_after=600, status=code)
        if code == 401:
            raise PermanentUpstreamError("amoCRM не приняла токен (401): проверьте токен в настройках", status=code)
        raise PermanentUpstreamError(f"amoCRM отказала ({code}): {refusal(resp)}", status=code)

    # --- contacts: look before creating -------------------------------------------------------------
    async def known_contact(self, lead: SinkLead) -> int | None:
        searches = ([(mapping.phone_query(lead.phone), lead.phone, None)] if lead.phone else []) + \
            ([(lead.email, None, lead.email)] if lead.email else [])
        for query, phone, email in searches:
            data = await self.call("GET", "/api/v4/contacts", params={"query": query, "limit": 50})
            for c in ((data or {}).get("_embedded") or {}).get("contacts") or []:
                if mapping.contact_matches(c, phone=phone, email=email, region=self.region):
                    return int(c["id"])
        return None

    # --- the Sink interface ------------------------------------------------------------------------
    async def create(self, lead: SinkLead, request_id: str) -> Remote:
        contact_id = await self.known_contact(lead)
        if lead.to_stage:
            data = await self.call("POST", "/api/v4/leads/complex",
                                   json=[mapping.complex_lead(lead, self.s, request_id, contact_id)])
            item = data[0] if isinstance(data, list) and data else {}
            return self._lead_remote(item.get("id"), contact=item.get("contact_id"))
        category = mapping.unsorted_category(lead)
        build = mapping.sip_item if category == "sip" else mapping.forms_item
        data = await self.call("POST", f"/api/v4/leads/unsorted/{category}",
                               json=[build(lead, self.s, request_id, contact_id)])
        items = ((data or {}).get("_embedded") or {}).get("unsorted") or []
        if not items:
            raise TransientUpstreamError("amoCRM не вернула созданную заявку")
        return self._unsorted_remote(items[0])

    async def find(self, lead: SinkLead, request_id: str) -> Remote | None:
        since = int((lead.received_at - LOOKBACK).timestamp())
        if lead.to_stage:
            name = mapping.lead_name(lead)
            data = await self.call("GET", "/api/v4/leads", params={
                "filter[name]": name, "filter[created_at][from]": since, "limit": 50})
            for item in ((data or {}).get("_embedded") or {}).get("leads") or []:
                if item.get("name") == name:
                    return self._lead_remote(item.get("id"))
            return None
        params: dict[str, Any] = {"filter[category][]": mapping.unsorted_category(lead), "limit": 250,
                                  "order[created_at]": "desc"}
        if self.s.pipeline_id is not None:
            params["filter[pipeline_id]"] = self.s.pipeline_id
        data = await self.call("GET", "/api/v4/leads/unsorted", params=params)
        for item in ((data or {}).get("_embedded") or {}).get("unsorted") or []:
            if item.get("source_uid") == request_id:
                return self._unsorted_remote(item)
        return None

    def first_note(self, lead: SinkLead) -> str | None:
        return mapping.first_note(lead)

    async def note(self, remote: Remote, text: str, request_id: str) -> str:
        data = await self.call("POST", f"/api/v4/leads/{remote.id}/notes", json=mapping.note_body(text, request_id))
        notes = ((data or {}).get("_embedded") or {}).get("notes") or [{}]
        return str(notes[0].get("id") or "")

    async def find_note(self, remote: Remote, text: str) -> str | None:
        data = await self.call("GET", f"/api/v4/leads/{remote.id}/notes",
                               params={"filter[note_type]": "common", "limit": 250, "order[id]": "desc"})
        for n in ((data or {}).get("_embedded") or {}).get("notes") or []:
            if (n.get("params") or {}).get("text") == text:
                return str(n.get("id"))
        return None

    # --- what operators open ---------------------------------------------------------------------------
    def _lead_remote(self, lead_id: Any, *, contact: Any = None) -> Remote:
        if lead_id is None:
            raise TransientUpstreamError("amoCRM не вернула номер сделки")
        extra = {"contact_id": contact} if contact else {}
        return Remote(str(lead_id), f"{self.s.root()}/leads/detail/{lead_id}", "lead", extra)

    def _unsorted_remote(self, item: Mapping[str, Any]) -> Remote:
        embedded = item.get("_embedded") or {}
        leads = embedded.get("leads") or [{}]
        lead_id = leads[0].get("id")
        if lead_id is None:
            raise TransientUpstreamError("amoCRM не вернула сделку заявки")
        contacts = embedded.get("contacts") or []
        extra = {"uid": item.get("uid"), **({"contact_id": contacts[0].get("id")} if contacts else {})}
        return Remote(str(lead_id), f"{self.s.root()}/leads/detail/{lead_id}", "unsorted", extra)


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
