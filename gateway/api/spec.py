"""Routes declared once: the app registers them, the OpenAPI document describes them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel

__all__ = ["ApiRoute", "Param"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    where: str = "query"  # query | path | header
    type: str = "string"  # string | integer | boolean
    description: str = ""
    required: bool = False
    enum: tuple[str, ...] = ()
    minimum: int | None = None  # integers: the bounds the server keeps (outside them: 400, or 404 for a path id)
    maximum: int | None = None

    def schema(self) -> dict[str, Any]:
        """The parameter's JSON schema in the OpenAPI document."""
        out: dict[str, Any] = {"type": self.type}
        if self.enum:
            out["enum"] = list(self.enum)
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        return out


@dataclass(frozen=True, slots=True)
class ApiRoute:
    method: str
    path: str
    handler: Handler
    summary: str
    roles: tuple[str, ...] | None = ("admin", "manager", "operator")  # None: no authentication
    params: Sequence[Param] = ()
    body: type[BaseModel] | None = None
    responses: dict[int, str] = field(default_factory=lambda: {200: "OK"})
    content: str = "application/json"  # of the 200 answer
    other_content: tuple[str, ...] = ()  # other types the 200 answer may have (format=csv, format=xlsx)
    tag: str = "operators"
    extra: dict[str, Any] = field(default_factory=dict)

    def route_def(self) -> web.RouteDef:
        return web.route(self.method, self.path, self.handler)
