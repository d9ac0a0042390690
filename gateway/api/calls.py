"""`POST /api/v1/leads/{id}/call`: call a lead back through Mango (the operator's phone rings first)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from gateway.api.auth import current_user
from gateway.api.body import json_response, model_body
from gateway.api.ids import id_param, path_id
from gateway.api.spec import ApiRoute
from gateway.config import Settings
from gateway.connectors.telephony.mango.callback import KIND, command_payload
from gateway.core.errors import Conflict
from gateway.http.keys import DB, OUTBOX, SETTINGS
from gateway.store import outbox
from gateway.store.triage import Actor, audit, check_operator, lead_row

__all__ = ["ROUTES", "CallBody"]


class CallBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    extension: str | None = Field(default=None, pattern=r"^\d{1,8}$")  # default: the caller's own


def _account(settings: Settings, lead: dict[str, Any]) -> str:
    names = [m.account for m in settings.telephony.mango]
    if lead["channel"] == "mango" and lead["account"] in names:
        return str(lead["account"])
    if not names:
        raise Conflict("Звонить не через что: в настройках нет АТС Mango ([[telephony.mango]])")
    return names[0]


def queue_call(conn: Connection, settings: Settings, lead_id: int, actor: Actor, extension: str | None,
               own_extension: str | None, now: datetime) -> str:
    """Decide the command in one transaction: checks, the outbox job, the audit line; its command id."""
    lead = lead_row(conn, lead_id)
    check_operator(actor, lead)
    if not lead["phone"]:
        raise Conflict("У лида нет номера телефона: звонить некуда")
    ext = extension or own_extension
    if not ext:
        raise Conflict("У вас не указан внутренний номер АТС: попросите администратора добавить его "
                       "(gateway user add … --extension) или укажите номер в запросе")
    account = _account(settings, lead)
    command_id = f"lg{lead_id}-{secrets.token_hex(4)}"
    line = (lead["call"] or {}).get("line") if lead["channel"] == "mango" else None
    outbox.enqueue_job(conn, kind=KIND, target=account, key=command_id, event_type="mango.callback", lead_id=lead_id,
                       payload=command_payload(command_id, ext, lead["phone"], line), now=now)
    audit(conn, actor, "lead.call", now, lead_id=lead_id, command_id=command_id, extension=ext)
    return command_id


async def call(request: web.Request) -> web.Response:
    lead_id = path_id(request, what="lead")
    body = await model_body(request, CallBody)
    user = current_user(request)
    command_id = await request.app[DB].write(queue_call, request.app[SETTINGS], lead_id, Actor.of(user),
                                             body.extension, user.get("extension"), datetime.now(UTC))
    request.app[OUTBOX].wake()
    return json_response({"command_id": command_id}, status=202)


ROUTES = [
    ApiRoute("POST", "/api/v1/leads/{id:[0-9]+}/call", call,
             "Call the lead back: Mango rings the operator's extension, then the client on the line they called",
             body=CallBody, params=(id_param(),),
             responses={202: "The command is queued; its id", 404: "No such lead",
                        409: "No phone, no extension or no PBX: what to do, in words"}),
]
