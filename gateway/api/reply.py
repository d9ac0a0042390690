"""`POST /api/v1/leads/{id}/reply`: an operator answers a chat lead through its messenger, a mail lead by mail."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.auth import current_user
from gateway.api.body import json_response, model_body
from gateway.api.ids import id_param, path_id
from gateway.api.spec import ApiRoute
from gateway.core.errors import PermissionDenied
from gateway.delivery.replies import lead_to_answer, reply_to_lead
from gateway.http.keys import DB, HTTP, OUTBOX, SETTINGS

__all__ = ["ROUTES", "ReplyBody"]


class ReplyBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=100_000)
    subject: str | None = Field(default=None, max_length=998)  # a mail reply's; default "Re: " + the lead's


async def send_reply(request: web.Request) -> web.Response:
    lead_id = path_id(request, what="lead")
    body = await model_body(request, ReplyBody)
    user = current_user(request)
    lead = await lead_to_answer(request.app[DB], lead_id)
    if user["role"] == "operator" and lead["status"] != "unsorted" and lead["manager_id"] != user["id"]:
        raise PermissionDenied("operators answer Unsorted and their own leads")
    done = await reply_to_lead(request.app[SETTINGS], request.app[DB], request.app[HTTP], lead, body.text,
                               author=user["name"], subject=body.subject)
    if done.queued:
        request.app[OUTBOX].wake()
        return json_response({"ok": True, "queued": True, "message": done.message}, status=202)
    return json_response({"ok": True, "message": done.message})


ROUTES = [
    ApiRoute("POST", "/api/v1/leads/{id:[0-9]+}/reply", send_reply,
             "Answer a chat lead through its messenger, or a mail lead by SMTP in its thread",
             body=ReplyBody, params=(id_param(),),
             responses={200: "Sent and recorded", 202: "A mail reply: recorded and queued for sending",
                        400: "Malformed (a chat message over 4096 characters)", 404: "No such lead",
                        409: "Nothing to answer through",
                        502: "The provider refused (blocked bot, closed 24-hour window...)"}),
]
