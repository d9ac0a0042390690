"""A local Bitrix24 portal behind an incoming webhook, over a socket: the documented methods and shapes.

Shapes: bitrix24/b24restdocs (`crm-lead-add.md`, `crm-duplicate-find-by-comm.md`, `data-types.md`
for `crm_multifield`, the timeline comment methods, `limits.md`). Every answer is `{"result": ...,
"time": {...}}`; an error is `{"error", "error_description"}` with its HTTP status.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BODY: web.RequestKey[Any] = web.RequestKey("b24_body", object)
LEAD_FIELDS = {"TITLE", "NAME", "SECOND_NAME", "LAST_NAME", "PHONE", "EMAIL", "SOURCE_ID", "SOURCE_DESCRIPTION",
               "STATUS_ID", "UTM_SOURCE", "UTM_MEDIUM", "UTM_CAMPAIGN", "UTM_CONTENT", "UTM_TERM", "ASSIGNED_BY_ID",
               "COMMENTS", "OPENED", "OPPORTUNITY", "CURRENCY_ID", "CONTACT_ID", "CONTACT_IDS", "COMPANY_ID",
               "COMPANY_TITLE", "ORIGINATOR_ID", "ORIGIN_ID", "POST"}
SOURCES = {"CALL", "EMAIL", "WEB", "ADVERTISING", "PARTNER", "RECOMMENDATION", "TRADE_SHOW", "WEBFORM", "CALLBACK",
           "RC_GENERATOR", "STORE", "OTHER"}
PHONE_TYPES = {"WORK", "MOBILE", "FAX", "HOME", "PAGER", "MAILING", "OTHER"}
EMAIL_TYPES = {"WORK", "HOME", "MAILING", "OTHER"}


@dataclass
class FakeB24:
    user: str = "1"
    code: str = "abc123def"
    fail_next: list[tuple[str, int, str]] = field(default_factory=list)  # (method, status, error code)
    lost_answer: set[str] = field(default_factory=set)  # methods whose next answer comes too late
    requests: list[tuple[str, Any]] = field(default_factory=list)
    leads: dict[int, dict[str, Any]] = field(default_factory=dict)
    contacts: dict[int, dict[str, Any]] = field(default_factory=dict)
    comments: list[dict[str, Any]] = field(default_factory=list)
    _ids: int = 100

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/rest/{user}/{code}/{method}", self.handle)
        return app

    def add_contact(self, phone: str | None = None, email: str | None = None) -> int:
        self._ids += 1
        self.contacts[self._ids] = {"ID": self._ids, "PHONE": [{"VALUE": phone}] if phone else [],
                                    "EMAIL": [{"VALUE": email}] if email else []}
        return self._ids

    async def handle(self, request: web.Request) -> web.Response:
        if (request.match_info["user"], request.match_info["code"]) != (self.user, self.code):
            return _error(401, "INVALID_CREDENTIALS", "Invalid request credentials")
        method = request.match_info["method"].removesuffix(".json")
        body = await request.json()
        self.requests.append((method, body))
        for fault in list(self.fail_next):
            if fault[0] == method:
                self.fail_next.remove(fault)
                return _error(fault[1], fault[2], "Too many requests" if fault[1] == 503 else "Error")
        handler = {"crm.duplicate.findbycomm": self.findbycomm, "crm.lead.add": self.lead_add,
                   "crm.lead.list": self.lead_list, "crm.timeline.comment.add": self.comment_add,
                   "crm.timeline.comment.list": self.comment_list}.get(method)
        if handler is None:
            return _error(404, "ERROR_METHOD_NOT_FOUND", "Method not found!")
        answer = handler(body)
        if method in self.lost_answer:
            self.lost_answer.discard(method)
            await asyncio.sleep(2.0)
        return answer

    def findbycomm(self, body: dict[str, Any]) -> web.Response:
        kind, values = body.get("type"), body.get("values")
        if kind not in ("PHONE", "EMAIL"):
            return _error(400, "", "Communication type is not defined")
        if not isinstance(values, list) or not values or len(values) > 20:
            return _error(400, "", "Communication values is not defined")
        if body.get("entity_type", "CONTACT") not in ("LEAD", "CONTACT", "COMPANY"):
            return _error(400, "", "Entity type is not defined")
        digits = {"".join(ch for ch in str(v) if ch.isdigit())[-10:] for v in values}
        found = [c["ID"] for c in self.contacts.values()
                 if any(("".join(ch for ch in str(x["VALUE"]) if ch.isdigit())[-10:] in digits if kind == "PHONE"
                         else str(x["VALUE"]).lower() in {str(v).lower() for v in values}) for x in c[kind])]
        return _ok({"CONTACT": found} if found else [])

    def lead_add(self, body: dict[str, Any]) -> web.Response:
        fields = body.get("fields")
        if not isinstance(fields, dict) or not fields.get("TITLE"):
            return _error(400, "", "Не заполнено обязательное поле \"Название лида\"")
        unknown = set(fields) - LEAD_FIELDS
        if unknown:
            return _error(400, "", f"Unknown fields: {sorted(unknown)}")
        if fields.get("SOURCE_ID") not in SOURCES:
            return _error(400, "", "Неверное значение поля \"Источник\"")
        for name, types in (("PHONE", PHONE_TYPES), ("EMAIL", EMAIL_TYPES)):
            for item in fields.get(name, []):
                if not isinstance(item, dict) or not item.get("VALUE") or item.get("VALUE_TYPE") not in types:
                    return _error(400, "", f"Неверный формат поля {name}")
        if "CONTACT_ID" in fields and int(fields["CONTACT_ID"]) not in self.contacts:
            return _error(400, "", "Контакт не найден")
        self._ids += 1
        self.leads[self._ids] = {"ID": str(self._ids), **fields}
        return _ok(self._ids)

    def lead_list(self, body: dict[str, Any]) -> web.Response:
        want = body.get("filter") or {}
        found = [{"ID": lead["ID"]} for lead in self.leads.values()
                 if all(str(lead.get(k)) == str(v) for k, v in want.items())]
        return _ok(found)

    def comment_add(self, body: dict[str, Any]) -> web.Response:
        f = body.get("fields") or {}
        if f.get("ENTITY_TYPE") not in ("lead", "contact", "deal", "company") or not f.get("COMMENT"):
            return _error(400, "", "Required fields are missing")
        self._ids += 1
        self.comments.append({"ID": str(self._ids), "ENTITY_ID": int(f["ENTITY_ID"]),
                              "ENTITY_TYPE": f["ENTITY_TYPE"], "COMMENT": f["COMMENT"]})
        return _ok(self._ids)

    def comment_list(self, body: dict[str, Any]) -> web.Response:
        want = body.get("filter") or {}
        return _ok([c for c in self.comments if c["ENTITY_ID"] == int(want.get("ENTITY_ID", -1))
                    and c["ENTITY_TYPE"] == want.get("ENTITY_TYPE")])


def _ok(result: Any) -> web.Response:
    now = time.time()
    return web.json_response({"result": result, "time": {"start": now, "finish": now, "duration": 0.01,
                                                         "processing": 0.005, "date_start": "", "date_finish": ""}})


def _error(status: int, code: str, description: str) -> web.Response:
    return web.json_response({"error": code or "ERROR_CORE", "error_description": description}, status=status)
