"""The OpenAPI 3.1 document, built from the declared routes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from gateway.api.body import json_response
from gateway.api.spec import ApiRoute

__all__ = ["build_openapi", "openapi_route"]

ERROR = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}
STATUS_TEXT = {400: "Malformed request", 401: "Missing or unknown token", 403: "Not allowed", 404: "Not found",
               409: "Conflict", 413: "Body too large", 415: "Unsupported type", 429: "Too many requests"}


def _answer_schema(content_type: str) -> dict[str, Any]:
    if "json" in content_type:
        return {"type": "object"}
    if content_type == "text/event-stream":
        return {}  # a stream of events, each its own JSON
    return {"type": "string"}


def _operation(route: ApiRoute, components: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": route.summary, "tags": [route.tag],
                          "operationId": f"{route.method.lower()}_{route.path.strip('/').replace('/', '_')}"
                          .replace("{", "").replace("}", "").replace(".", "_").replace(":", "_").replace("+", "")}
    params = [
        {"name": p.name, "in": p.where, "required": p.required or p.where == "path",
         "schema": p.schema(),
         **({"description": p.description} if p.description else {})}
        for p in route.params
    ]
    if params:
        op["parameters"] = params
    if route.body is not None:
        name = route.body.__name__
        components[name] = route.body.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(components[name].pop("$defs", {}))
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{name}"}}}}
    responses: dict[str, Any] = {}
    codes = dict(route.responses)
    if route.roles is not None:
        codes.setdefault(401, STATUS_TEXT[401])
        codes.setdefault(403, STATUS_TEXT[403])
    if route.body is not None or route.method in ("POST", "PUT", "PATCH"):
        codes.setdefault(400, STATUS_TEXT[400])
        codes.setdefault(413, STATUS_TEXT[413])
    if any(p.where == "query" for p in route.params):
        codes.setdefault(400, STATUS_TEXT[400])  # the query is checked against these parameters (api/query.py)
    if any(p.where == "path" for p in route.params):
        codes.setdefault(404, STATUS_TEXT[404])  # an id no row has, or that is not a number
    for code, text in sorted(codes.items()):
        if code < 300:
            content = {kind: {"schema": _answer_schema(kind)} for kind in (route.content, *route.other_content)}
        elif code < 400:
            content = {}
        else:
            content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
        responses[str(code)] = {"description": text, **({"content": content} if content else {})}
    op["responses"] = responses
    if route.roles is not None:
        op["security"] = [{"bearer": []}, {"session": []}]
    return op


def build_openapi(routes: Sequence[ApiRoute], version: str = "0.1.0") -> dict[str, Any]:
    paths: dict[str, Any] = {}
    components: dict[str, Any] = {"Error": ERROR}
    for route in routes:
        path = re.sub(r"\{(\w+):[^}]+\}", r"{\1}", route.path)
        paths.setdefault(path, {})[route.method.lower()] = _operation(route, components)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Lead Gateway", "version": version,
                 "description": "Inbound leads from telephony, mail, web forms and messengers into one CRM store."},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "session": {"type": "apiKey", "in": "cookie", "name": "lg_session"}},
        },
    }


def openapi_route(all_routes: Sequence[ApiRoute]) -> ApiRoute:
    async def handler(request: web.Request) -> web.Response:
        return json_response(build_openapi([*all_routes, route]))

    route = ApiRoute("GET", "/openapi.json", handler, "This document", roles=None, tag="operations")
    return route
