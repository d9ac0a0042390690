"""Operators' API for tasks: the to-do list (mine and the common queue), new tasks, completing with a result."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import Connection, select

from gateway.api.auth import current_user
from gateway.api.body import json_response, model_body
from gateway.api.deals import path_id
from gateway.api.ids import Id, id_param, query_id
from gateway.api.leads import page_limit
from gateway.api.spec import ApiRoute, Param
from gateway.core.errors import PayloadError, PermissionDenied
from gateway.http.keys import DB, SETTINGS
from gateway.store.deals import Cause, record, user_id_of
from gateway.store.schema import deals, leads, users
from gateway.store.tasks import complete_task, create_task, list_tasks, task_json

__all__ = ["ROUTES"]


class NewTask(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    text: str = Field(min_length=1, max_length=4096)
    due_at: AwareDatetime | None = None  # default: the end of today in the company's time zone
    responsible: str | None = Field(default=None, min_length=1, max_length=128)  # default: the caller
    deal_id: Id | None = None
    lead_id: Id | None = None

    @field_validator("due_at", mode="before")
    @classmethod
    def _text_time(cls, value: Any) -> Any:
        """An ISO time, as the document says: a bare number is not taken for seconds since 1970."""
        if isinstance(value, int | float):
            raise ValueError("an ISO date and time with its offset is expected")
        return value

    @model_validator(mode="after")
    def _one_target(self) -> NewTask:
        if self.deal_id is not None and self.lead_id is not None:
            raise ValueError("a task belongs to a deal or to a lead, not both")
        return self


class Completion(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    result: str | None = Field(default=None, max_length=4096)


def _ids(conn: Connection, names: list[str], user: dict[str, Any]) -> list[int | None]:
    """`responsible` values as user ids: a name, `me`, or `none` (the common queue)."""
    out: list[int | None] = []
    for name in names:
        if name == "none":
            out.append(None)
        elif name == "me":
            out.append(int(user["id"]))
        else:
            found = conn.execute(select(users.c.id).where(users.c.name == name)).scalar()
            if found is None:
                raise PayloadError(f"responsible: no user {name!r}")
            out.append(int(found))
    return out


async def get_tasks(request: web.Request) -> web.Response:
    user, q = current_user(request), request.query
    status = q.get("status") or None
    if status not in (None, "open", "done"):
        raise PayloadError("status must be open or done")
    names = [n.strip() for raw in q.getall("responsible", []) for n in raw.split(",") if n.strip()]
    if user["role"] == "operator":  # operators: their own tasks and the common queue
        names = [n for n in names if n in ("me", "none", user["name"])] or ["me", "none"]
    limit, cursor, deal_id, lead_id = page_limit(request), q.get("cursor"), query_id(request, "deal_id"), \
        query_id(request, "lead_id")

    def run(conn: Connection) -> dict[str, Any]:
        items, next_cursor = list_tasks(conn, responsible=_ids(conn, names, user) if names else None, status=status,
                                        overdue=q.get("overdue") in ("1", "true"), deal_id=deal_id, lead_id=lead_id,
                                        now=datetime.now(UTC), limit=limit, cursor=cursor)
        return {"items": items, "next_cursor": next_cursor}

    return json_response(await request.app[DB].read(run))


def _end_of_today(tz: str, now: datetime) -> datetime:
    zone = ZoneInfo(tz)
    return datetime.combine(now.astimezone(zone).date(), time(23, 59), tzinfo=zone).astimezone(UTC)


async def post_task(request: web.Request) -> web.Response:
    body, user, settings = await model_body(request, NewTask), current_user(request), request.app[SETTINGS]
    now = datetime.now(UTC)

    def run(conn: Connection) -> dict[str, Any]:
        for table, value in ((deals, body.deal_id), (leads, body.lead_id)):
            if value is not None and conn.execute(select(table.c.id).where(table.c.id == value)).first() is None:
                raise PayloadError(f"{'deal_id' if table is deals else 'lead_id'}: no such {table.name[:-1]}")
        responsible = user_id_of(conn, body.responsible) if body.responsible else int(user["id"])
        if user["role"] == "operator" and responsible != user["id"]:
            raise PermissionDenied("operators set tasks for themselves")
        due = body.due_at.astimezone(UTC) if body.due_at else _end_of_today(settings.timezone, now)
        task_id = create_task(conn, text=body.text, due_at=due, created_by=user["name"], now=now,
                              responsible_id=responsible, deal_id=body.deal_id, lead_id=body.lead_id)
        assert task_id is not None  # no key: always a new task
        record(conn, Cause(user["name"], int(user["id"])), "task.create", now, deal_id=body.deal_id,
               lead_id=body.lead_id, task_id=task_id, text=body.text)
        return task_json(conn, task_id)

    return json_response(await request.app[DB].write(run), status=201)


async def complete(request: web.Request) -> web.Response:
    task_id = path_id(request, "task")
    body = await model_body(request, Completion, allow_empty=True)
    user, now = current_user(request), datetime.now(UTC)

    def run(conn: Connection) -> dict[str, Any]:
        row, repeated = complete_task(conn, task_id, by=user["name"], user_id=int(user["id"]), role=user["role"],
                                      result=body.result, now=now)
        if not repeated:
            record(conn, Cause(user["name"], int(user["id"])), "task.complete", now, deal_id=row["deal_id"],
                   lead_id=row["lead_id"], task_id=task_id, result=body.result)
        return {"ok": True, "repeated": repeated, "task": task_json(conn, task_id)}

    return json_response(await request.app[DB].write(run))


TASK_ID = id_param()
ROUTES = [
    ApiRoute("GET", "/api/v1/tasks", get_tasks, "Tasks, soonest due first (the overdue lead)",
             params=(Param("responsible", description="user names, `me`, or `none` for the common queue"),
                     Param("status", enum=("open", "done")), Param("overdue", type="boolean"),
                     id_param("deal_id", "query"), id_param("lead_id", "query"),
                     Param("limit", type="integer", minimum=1, maximum=500), Param("cursor")),
             responses={200: "OK", 400: "Bad filter or cursor"}, tag="tasks"),
    ApiRoute("POST", "/api/v1/tasks", post_task, "A new task on a deal or a lead", body=NewTask,
             responses={201: "Created", 400: "Malformed", 403: "Not for an operator to set"}, tag="tasks"),
    ApiRoute("POST", "/api/v1/tasks/{id:[0-9]+}/complete", complete,
             "Complete a task with its result (again: the same)",
             params=(TASK_ID,), body=Completion,
             responses={200: "Done", 400: "Malformed", 403: "Not yours", 404: "No such task"}, tag="tasks"),
]
