"""A local amoCRM (API v4) over a socket: the documented request and answer shapes, checked field by field.

Shapes: the official SDK amocrm/amocrm-api-php (`Unsorted.php`, `Models/Unsorted/*`), the developers'
pages for Unsorted, contacts, `leads/complex`, notes and OAuth. A request that breaks the documented
shape is answered as amoCRM answers it: 400, `application/problem+json` with `validation-errors`.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

PROBLEM = "application/problem+json"
BODY: web.RequestKey[Any] = web.RequestKey("body", object)
SIP_META = {"uniq": str, "duration": int, "service_code": str, "phone": str, "called_at": int, "from": str,
            "is_call_event_needed": bool}
FORMS_META = {"form_id": str, "form_name": str, "form_page": str, "form_sent_at": int}


@dataclass
class Fault:
    """What the next matching request gets instead of the normal answer."""

    path: str  # a prefix of the request path
    status: int = 500
    retry_after: float | None = None
    body: Any = None
    after_create_sleep: float | None = None  # create the record, then answer too late (a lost answer)


@dataclass
class FakeAmo:
    token: str = "long-lived-token"
    refresh_token: str | None = None
    client_id: str = "client-id"
    client_secret: str = "client-secret"
    redirect_uri: str = "https://gw.example/oauth"
    rate_limit: int | None = 7  # requests a second; None lifts it
    latency_s: float = 0.0
    faults: list[Fault] = field(default_factory=list)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    unsorted: list[dict[str, Any]] = field(default_factory=list)
    leads: dict[int, dict[str, Any]] = field(default_factory=dict)
    contacts: dict[int, dict[str, Any]] = field(default_factory=dict)
    notes: list[dict[str, Any]] = field(default_factory=list)
    too_many: int = 0
    refreshes: int = 0
    _ids: int = 1000
    _window: deque[float] = field(default_factory=deque)
    url: str = ""

    def next_id(self) -> int:
        self._ids += 1
        return self._ids

    # --- the application ------------------------------------------------------------------------
    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_post("/oauth2/access_token", self.oauth)
        app.router.add_get("/api/v4/contacts", self.list_contacts)
        app.router.add_post("/api/v4/leads/unsorted/{category}", self.add_unsorted)
        app.router.add_get("/api/v4/leads/unsorted", self.list_unsorted)
        app.router.add_post("/api/v4/leads/complex", self.add_complex)
        app.router.add_get("/api/v4/leads", self.list_leads)
        app.router.add_post("/api/v4/leads/{id}/notes", self.add_notes)
        app.router.add_get("/api/v4/leads/{id}/notes", self.list_notes)
        return app

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path.startswith("/bench/"):  # the benchmark's own questions are not API traffic
            return await handler(request)
        body = await request.json() if request.can_read_body else None
        self.requests.append((request.method, request.path_qs, body))
        if self.rate_limit is not None and not self._admit():  # counted as it arrives
            self.too_many += 1
            return web.json_response({"title": "Too Many Requests", "status": 429}, status=429,
                                     content_type=PROBLEM)
        if self.latency_s:
            await asyncio.sleep(self.latency_s)
        if request.path != "/oauth2/access_token" and request.headers.get("Authorization") != f"Bearer {self.token}":
            return web.json_response({"title": "Unauthorized", "status": 401, "detail": "Token expired"},
                                     status=401, content_type=PROBLEM)
        fault = next((f for f in self.faults if request.path.startswith(f.path)), None)
        if fault is not None:
            self.faults.remove(fault)
            if fault.after_create_sleep is not None:
                request[BODY] = body
                await handler(request)
                await asyncio.sleep(fault.after_create_sleep)
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            return web.json_response(fault.body or {"title": "Error", "status": fault.status}, status=fault.status,
                                     headers=headers, content_type=PROBLEM)
        request[BODY] = body
        return await handler(request)

    def _admit(self) -> bool:
        now = time.monotonic()
        while self._window and now - self._window[0] >= 1.0:
            self._window.popleft()
        if len(self._window) >= (self.rate_limit or 0):
            return False
        self._window.append(now)
        return True

    # --- OAuth ------------------------------------------------------------------------------------
    async def oauth(self, request: web.Request) -> web.Response:
        b = request[BODY] or {}
        expected = {"client_id": self.client_id, "client_secret": self.client_secret, "grant_type": "refresh_token",
                    "refresh_token": self.refresh_token, "redirect_uri": self.redirect_uri}
        if self.refresh_token is None or any(b.get(k) != v for k, v in expected.items()):
            return web.json_response({"title": "Bad Request", "status": 400, "hint": "Token has been revoked"},
                                     status=400, content_type=PROBLEM)
        self.refreshes += 1
        self.token, self.refresh_token = secrets.token_hex(8), secrets.token_hex(8)
        return web.json_response({"token_type": "Bearer", "expires_in": 86400, "access_token": self.token,
                                  "refresh_token": self.refresh_token})

    # --- contacts ---------------------------------------------------------------------------------
    async def list_contacts(self, request: web.Request) -> web.Response:
        query = request.query.get("query", "")
        if not query:
            return _problem("query", "This value should not be blank.")
        found = [c for c in self.contacts.values() if any(
            query in "".join(ch for ch in str(v.get("value")) if ch.isdigit()) or query == v.get("value")
            for f in c.get("custom_fields_values") or [] for v in f["values"])]
        if not found:
            return web.Response(status=204)
        return web.json_response({"_page": 1, "_embedded": {"contacts": found}}, content_type="application/hal+json")

    def _contact(self, data: dict[str, Any]) -> int | str:
        """An embedded contact: an existing one by id, or a new one; an error path when malformed."""
        if "id" in data:
            return int(data["id"]) if int(data["id"]) in self.contacts else "_embedded.contacts.0.id"
        for i, f in enumerate(data.get("custom_fields_values") or []):
            if f.get("field_code") not in ("PHONE", "EMAIL") or not f.get("values"):
                return f"_embedded.contacts.0.custom_fields_values.{i}"
            if any(v.get("enum_code") not in ("WORK", "MOB", "HOME", "PRIV", "OTHER") for v in f["values"]):
                return f"_embedded.contacts.0.custom_fields_values.{i}.values.0.enum_code"
        cid = self.next_id()
        self.contacts[cid] = {"id": cid, "name": data.get("name"), **(
            {"custom_fields_values": data["custom_fields_values"]} if data.get("custom_fields_values") else {})}
        return cid

    # --- Unsorted ---------------------------------------------------------------------------------
    async def add_unsorted(self, request: web.Request) -> web.Response:
        category = request.match_info["category"]
        items = request[BODY]
        if category not in ("sip", "forms"):
            return _problem("category", "Only forms and sip")
        if not isinstance(items, list) or not items:
            return _problem("", "The request must be an array of unsorted items")
        made = []
        for item in items:
            error = _check_item(item, SIP_META if category == "sip" else FORMS_META)
            if error:
                return _problem(*error)
            if any(u["source_uid"] == item["source_uid"] for u in self.unsorted):
                return _problem("source_uid", "Unsorted already exists")
            contact = self._contact(item["_embedded"]["contacts"][0]) if item["_embedded"].get("contacts") else None
            if isinstance(contact, str):
                return _problem(contact, "This value is not valid.")
            lead_id = self.next_id()
            self.leads[lead_id] = {"id": lead_id, **item["_embedded"]["leads"][0]}
            uid = secrets.token_hex(20)
            stored = {"uid": uid, "source_uid": item["source_uid"], "source_name": item["source_name"],
                      "category": category, "pipeline_id": item.get("pipeline_id", 1), "metadata": item["metadata"],
                      "created_at": item.get("created_at", int(time.time())), "request_id": item.get("request_id"),
                      "_embedded": {"leads": [{"id": lead_id}],
                                    "contacts": [{"id": contact}] if contact else [], "companies": []}}
            self.unsorted.append(stored)
            made.append({"uid": uid, "account_id": 28805383, "request_id": item.get("request_id"),
                         "_links": {"self": {"href": f"{self.url}/api/v4/leads/unsorted/{uid}"}},
                         "_embedded": stored["_embedded"]})
        return web.json_response({"_total_items": len(made), "_embedded": {"unsorted": made}},
                                 content_type="application/hal+json")

    async def list_unsorted(self, request: web.Request) -> web.Response:
        q = request.query
        items = [u for u in self.unsorted
                 if (not q.getall("filter[category][]", []) or u["category"] in q.getall("filter[category][]"))
                 and ("filter[pipeline_id]" not in q or str(u["pipeline_id"]) == q["filter[pipeline_id]"])]
        limit = int(q.get("limit", 50))
        if limit > 250:
            return _problem("limit", "This value should be less than or equal to 250.")
        items = sorted(items, key=lambda u: u["created_at"], reverse=q.get("order[created_at]") == "desc")[:limit]
        if not items:
            return web.Response(status=204)
        return web.json_response({"_page": 1, "_embedded": {"unsorted": items}}, content_type="application/hal+json")

    # --- leads/complex ------------------------------------------------------------------------------
    async def add_complex(self, request: web.Request) -> web.Response:
        items = request[BODY]
        if not isinstance(items, list) or not items or len(items) > 50:
            return _problem("", "The request must be an array of at most 50 leads")
        out = []
        for item in items:
            if not isinstance(item.get("name"), str) or not item["name"]:
                return _problem("0.name", "This value should not be blank.")
            if "status_id" in item and not isinstance(item["status_id"], int):
                return _problem("0.status_id", "This value should be of type int.")
            embedded = item.get("_embedded") or {}
            contact = self._contact(embedded["contacts"][0]) if embedded.get("contacts") else None
            if isinstance(contact, str):
                return _problem(contact, "This value is not valid.")
            company = self.next_id() if embedded.get("companies") else None
            lead_id = self.next_id()
            self.leads[lead_id] = {"id": lead_id, "name": item["name"], "status_id": item.get("status_id"),
                                   "pipeline_id": item.get("pipeline_id"), "created_at": int(time.time())}
            out.append({"id": lead_id, "contact_id": contact, "company_id": company,
                        "request_id": [item.get("request_id", "0")], "merged": False})
        return web.json_response(out)

    async def list_leads(self, request: web.Request) -> web.Response:
        name = request.query.get("filter[name]")
        found = [lead for lead in self.leads.values() if name is None or lead.get("name") == name]
        if not found:
            return web.Response(status=204)
        return web.json_response({"_page": 1, "_embedded": {"leads": found}}, content_type="application/hal+json")

    # --- notes -----------------------------------------------------------------------------------
    async def add_notes(self, request: web.Request) -> web.Response:
        lead_id = int(request.match_info["id"])
        if lead_id not in self.leads:
            return web.json_response({"title": "Not Found", "status": 404}, status=404, content_type=PROBLEM)
        made = []
        for n in request[BODY] or []:
            if n.get("note_type") != "common" or not isinstance((n.get("params") or {}).get("text"), str):
                return _problem("0.params.text", "This value should not be blank.")
            note = {"id": self.next_id(), "entity_id": lead_id, "note_type": "common", "params": n["params"],
                    "request_id": n.get("request_id")}
            self.notes.append(note)
            made.append({"id": note["id"], "entity_id": lead_id, "request_id": n.get("request_id")})
        return web.json_response({"_embedded": {"notes": made}}, content_type="application/hal+json")

    async def list_notes(self, request: web.Request) -> web.Response:
        lead_id = int(request.match_info["id"])
        found = [n for n in self.notes if n["entity_id"] == lead_id]
        if not found:
            return web.Response(status=204)
        return web.json_response({"_embedded": {"notes": found}}, content_type="application/hal+json")


def _problem(path: str, detail: str) -> web.Response:
    return web.json_response({"title": "Bad Request", "type": "https://httpstatus.es/400", "status": 400,
                              "detail": "Request validation failed",
                              "validation-errors": [{"request_id": "0", "errors": [
                                  {"code": "InvalidValue", "path": path, "detail": detail}]}]},
                             status=400, content_type=PROBLEM)


def _check_item(item: dict[str, Any], meta_types: dict[str, type]) -> tuple[str, str] | None:
    for key in ("source_uid", "source_name"):
        if not isinstance(item.get(key), str) or not item[key]:
            return key, "This value should not be blank."
    if "pipeline_id" in item and not isinstance(item["pipeline_id"], int):
        return "pipeline_id", "This value should be of type int."
    meta = item.get("metadata")
    if not isinstance(meta, dict):
        return "metadata", "This value should not be blank."
    for key, typ in meta_types.items():
        if not isinstance(meta.get(key), typ):
            return f"metadata.{key}", f"This value should be of type {typ.__name__}."
    embedded = item.get("_embedded") or {}
    if not isinstance(embedded.get("leads"), list) or len(embedded["leads"]) != 1:
        return "_embedded.leads", "One lead is expected."
    if not isinstance(embedded["leads"][0].get("name"), str):
        return "_embedded.leads.0.name", "This value should be of type string."
    return None
