"""`POST /api/v1/leads/{id}/reply`: an operator answers a chat lead through its messenger, a mail lead by mail."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.auth import current_user
from gateway.api.body import json_response, model_body
from gateway.api.spec import ApiRoute, Param
from gateway.connectors.messengers.reply import reply
from gateway.core.errors import Conflict, NotFound, PayloadError, PermissionDenied
from gateway.core.models import MessageRef
from gateway.delivery.replies import queue_mail_reply
from gateway.http.keys import DB, HTTP, OUTBOX, SETTINGS
from gateway.store.crm import CrmRepo

__all__ = ["ROUTES", "ReplyBody"]


class ReplyBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=100_000)
    subject: str | None = Field(default=None, max_length=998)  # a mail reply's; default "Re: " + the lead's


async def send_reply(request: web.Request) -> web.Response:
    body = await model_body(request, ReplyBody)
    try:
        lead_id = int(request.match_info["id"])
    except ValueError:
        raise NotFound("no such lead") from None
    user = current_user(request)
    lead = await request.app[DB].read(lambda conn: CrmRepo(conn, datetime.now(UTC)).lead_by_id(lead_id))
    if lead is None:
        raise NotFound("no such lead")
    if user["role"] == "operator" and lead["status"] != "unsorted" and lead["manager_id"] != user["id"]:
        raise PermissionDenied("operators answer Unsorted and their own leads")
    if lead["kind"] == "mail":
        return await _mail_reply(request, lead, body, user["name"])
    if len(body.text) > 4096:
        raise PayloadError("text: a chat message holds at most 4096 characters")
    if not lead["conversation_key"]:
        raise Conflict(f"a {lead['kind']} lead has no conversation to answer through")
    sent: MessageRef = await reply(request.app[SETTINGS], lead["conversation_key"], body.text, request.app[HTTP],
                                   author=user["name"])

    def record(conn):  # type: ignore[no-untyped-def]
        return CrmRepo(conn, datetime.now(UTC)).upsert_message(sent, lead_id=lead_id, contact_id=lead["contact_id"])

    message_id = await request.app[DB].write(record)
    return json_response({"ok": True, "message": {"id": message_id, "key": sent.key, "direction": "out",
                                                  "at": sent.at.isoformat(), "text": sent.text,
                                                  "author": sent.author}})


async def _mail_reply(request: web.Request, lead: dict[str, Any], body: ReplyBody, author: str) -> web.Response:
    settings = request.app[SETTINGS]
    message = await request.app[DB].write(lambda conn: queue_mail_reply(
        conn, settings, lead, body.text, subject=body.subject, author=author, now=datetime.now(UTC)))
    request.app[OUTBOX].wake()
    return json_response({"ok": True, "queued": True, "message": message}, status=202)


ROUTES = [
    ApiRoute("POST", "/api/v1/leads/{id}/reply", send_reply,
             "Answer a chat lead through its messenger, or a mail lead by SMTP in its thread",
             body=ReplyBody, params=(Param("id", where="path", type="integer", required=True),),
             responses={200: "Sent and recorded", 202: "A mail reply: recorded and queued for sending",
                        404: "No such lead", 409: "Nothing to answer through",
                        502: "The provider refused (blocked bot, closed 24-hour window...)"}),
]
