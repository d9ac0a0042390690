"""Middlewares: our error tree to HTTP statuses, one bound log context per request."""

from __future__ import annotations

import json

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from gateway.core.errors import GatewayError, RateLimited

__all__ = ["error_middleware", "json_error"]

log = structlog.get_logger(__name__)
JSON_PREFIXES = ("/api/", "/hooks/")  # paths whose errors are JSON, as the OpenAPI document says


def json_error(status: int, message: str, **extra: object) -> web.Response:
    body = json.dumps({"error": message, **extra}, ensure_ascii=False, default=str)
    return web.Response(status=status, text=body, content_type="application/json")


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except GatewayError as exc:
        if exc.status >= 500:
            log.error("request.failed", path=request.path, error=exc.message)
        shown = {k: v for k, v in exc.details.items() if k in ("taken_by", "at", "deal")}  # what a 409 tells
        resp = json_error(exc.status, exc.message, kind=type(exc).__name__, **shown)
        if isinstance(exc, RateLimited):
            resp.headers["Retry-After"] = str(exc.details.get("retry_after", 60))
        return resp
    except web.HTTPRequestEntityTooLarge:
        return json_error(413, "body too large")
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed) as exc:
        if not request.path.startswith(JSON_PREFIXES) or exc.text not in (None, "", f"{exc.status}: {exc.reason}"):
            raise
        # the API and the hooks answer in JSON even where no route matches (`/api/v1/leads/abc`: ids are numbers)
        what = "no such object" if exc.status == 404 else f"{request.method} is not allowed here"
        resp = json_error(exc.status, what)
        if isinstance(exc, web.HTTPMethodNotAllowed):
            resp.headers["Allow"] = ", ".join(sorted(exc.allowed_methods))
        return resp
    except web.HTTPException:
        raise
    except ConnectionResetError:  # the client went away (or a stalled body was cut off): nobody to answer
        log.info("request.client_gone", path=request.path, method=request.method)
        return json_error(400, "the client closed the connection")
    except Exception:
        log.exception("request.crashed", path=request.path, method=request.method)
        return json_error(500, "internal error")
