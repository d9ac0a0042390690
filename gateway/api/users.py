"""Operators' API: the calling user (`/me`) and the users' administration (`/users`, admin)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, delete, select

from gateway.api.auth import current_user
from gateway.api.body import json_response, model_body
from gateway.api.spec import ApiRoute, Param
from gateway.config import Settings
from gateway.core.errors import NotFound
from gateway.http.keys import DB, HASHING
from gateway.store import users as users_store
from gateway.store.deals import Cause
from gateway.store.handover import DisableRequest, disable_user
from gateway.store.passwords import hash_password, store_password_hash
from gateway.store.schema import users, web_sessions
from gateway.store.triage import Actor, audit

__all__ = ["extend"]

ADMIN = ("admin",)


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=128, pattern=r"^[\w.@-]+$")
    role: str = Field(pattern="^(admin|manager|operator)$")
    extension: str | None = Field(default=None, max_length=16)
    email: str | None = Field(default=None, max_length=320)
    department: str | None = Field(default=None, max_length=255)
    password: str | None = Field(default=None, max_length=1024)


class NewPassword(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(max_length=1024)


async def me(request: web.Request) -> web.Response:
    user = current_user(request)
    return json_response({k: user.get(k) for k in ("id", "name", "role", "extension", "email", "department")})


async def list_users(request: web.Request) -> web.Response:
    return json_response({"items": await request.app[DB].read(users_store.list_users), "next_cursor": None})


async def add_user(request: web.Request) -> web.Response:
    body = await model_body(request, NewUser)
    actor = Actor.of(current_user(request))
    hashed = await request.app[HASHING].run(hash_password, body.password) if body.password else None

    def run(conn: Connection) -> dict[str, Any]:
        user_id, token = users_store.create_user(conn, body.name, body.role, extension=body.extension,
                                                 email=body.email, department=body.department)
        if hashed:
            store_password_hash(conn, body.name, hashed)
        _audit_user(conn, actor, "user.add", body.name, role=body.role)
        return {"id": user_id, "name": body.name, "role": body.role, "token": token}

    return json_response(await request.app[DB].write(run), status=201)


def _audit_user(conn: Connection, actor: Actor, action: str, name: str, **data: Any) -> None:
    audit(conn, actor, action, datetime.now(UTC), user=name, **data)


async def user_action(request: web.Request) -> web.Response:
    name, action = request.match_info["name"], request.match_info["action"]
    actor = Actor.of(current_user(request))
    if action == "disable":  # optionally with the user's open deals and tasks handed to somebody else
        body = await model_body(request, DisableRequest, allow_empty=True)
        return json_response(await request.app[DB].write(
            disable_user, name, body, Cause(actor.name, actor.id), now=datetime.now(UTC)))
    password = (await model_body(request, NewPassword)).password if action == "password" else None
    hashed = await request.app[HASHING].run(hash_password, password) if password is not None else None

    def run(conn: Connection) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": True, "name": name}
        if action == "enable":
            users_store.set_disabled(conn, name, False)
        elif action == "token":
            out["token"] = users_store.issue_token(conn, name)
        elif action == "password" and hashed:
            store_password_hash(conn, name, hashed)
        else:
            raise NotFound("no such action")
        if action == "password":  # open web sessions end with it
            user_id = conn.execute(select(users.c.id).where(users.c.name == name)).scalar()
            conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id))
        _audit_user(conn, actor, f"user.{action}", name)
        return out

    return json_response(await request.app[DB].write(run))


def extend(app: web.Application, settings: Settings) -> list[ApiRoute]:
    """The user routes."""
    return [
        ApiRoute("GET", "/api/v1/me", me, "The calling user", tag="users"),
        ApiRoute("GET", "/api/v1/users", list_users, "Users and roles", roles=ADMIN, tag="users"),
        ApiRoute("POST", "/api/v1/users", add_user, "Create a user; its API token is shown once", roles=ADMIN,
                 body=NewUser, responses={201: "Created", 400: "Malformed", 409: "Name taken"}, tag="users"),
        ApiRoute("POST", "/api/v1/users/{name}/{action}", user_action,
                 "disable (body {handover_to?, with_leads?}: open deals and tasks go to that user) | enable | "
                 "token (a new API token) | password (body {password})", roles=ADMIN,
                 params=(Param("name", where="path", required=True),
                         Param("action", where="path", required=True,
                               enum=("disable", "enable", "token", "password"))),
                 responses={200: "Done", 400: "Malformed", 404: "No such user",
                            409: "The only active admin cannot be disabled"}, tag="users"),
    ]
