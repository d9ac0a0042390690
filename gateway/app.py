"""The aiohttp application: connectors' edges, the operator API, operations, the web page."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import Any

import structlog
from aiohttp import web
from sqlalchemy import Engine

from gateway.api import calls as calls_api
from gateway.api import calltracking as calltracking_api
from gateway.api import deals as deals_api
from gateway.api import events as events_api
from gateway.api import leads as leads_api
from gateway.api import ops as ops_api
from gateway.api import reply as reply_api
from gateway.api import sinks as sinks_api
from gateway.api import tasks as tasks_api
from gateway.api.auth import with_roles
from gateway.api.openapi import openapi_route
from gateway.api.query import with_query_checked
from gateway.api.spec import ApiRoute, Param
from gateway.config import Settings
from gateway.connectors.base import Route
from gateway.connectors.registry import build_connectors
from gateway.delivery.registry import build_performers
from gateway.delivery.runner import OutboxRunner
from gateway.dispatch.embedded import EmbeddedDispatcher, ThreadDispatcher
from gateway.dispatch.rq_dispatch import RqDispatcher
from gateway.dispatch.runtime import build_runtime
from gateway.egress import AsyncOutboundClient
from gateway.http.edge import connector_routes
from gateway.http.fast_lane import FastLane
from gateway.http.keys import (
    CONNECTORS,
    DB,
    DISPATCHER,
    EXTRAS,
    FILES,
    HASHING,
    HTTP,
    LANE,
    LEADS_CHANGED,
    METRICS,
    OUTBOX,
    SETTINGS,
    WRITER,
    leads_changed,
)
from gateway.http.middleware import error_middleware
from gateway.http.slow_clients import BodyGuard
from gateway.http.writer import EventWriter
from gateway.metrics import Metrics
from gateway.store.bootstrap import bootstrap, unknown_extension_users
from gateway.store.database import Database
from gateway.store.db import make_engine
from gateway.store.files import FileStore
from gateway.store.passwords import Hashing

__all__ = ["create_app"]

log = structlog.get_logger(__name__)
Extension = Callable[[web.Application, Settings], list[ApiRoute]]


def _hook_doc(route: Route, handler: Any) -> ApiRoute:
    params = tuple(Param(name, where="path", required=True) for name in re.findall(r"\{(\w+)", route.path))
    return ApiRoute(route.method, route.path, handler, route.name or f"Provider webhook {route.path}", roles=None,
                    params=params,
                    responses={200: "Stored (or a duplicate)", 204: "CORS preflight answered",
                               303: "Stored; redirect to the thank-you page", 400: "Malformed",
                               403: "Bad signature or secret", 404: "Unknown account or form", 413: "Too large",
                               415: "File type not allowed", 429: "Too many submissions",
                               503: "Too many bodies arriving at once; retry after Retry-After"},
                    content="text/plain", tag="hooks")


def _extensions() -> list[Extension]:
    """The parts that add their own routes: the operators' web page, triage, users, audit, reports and exports."""
    from gateway.api import audit, reports, triage, users
    from gateway.web import routes

    return [routes.extend, triage.extend, users.extend, audit.extend, reports.extend]


def create_app(settings: Settings, *, engine: Engine | None = None, run_dispatcher: bool = True,
               run_services: bool | None = None) -> web.Application:
    """Build the application. With `run_dispatcher`, events are processed (in process, or by rq jobs)."""
    app = web.Application(client_max_size=2 << 20, handler_args={"max_field_size": 16384})
    app[SETTINGS] = settings
    app[EXTRAS] = {}
    app[LEADS_CHANGED] = []  # the parts add their listeners (the live page's poller)
    connectors = build_connectors(settings)
    app[CONNECTORS] = connectors

    hook_defs: list[ApiRoute] = []
    all_routes: list[Route] = []
    for connector in connectors.values():
        routes = connector.routes()
        all_routes += routes
        for route, route_def in zip(routes, connector_routes(routes, settings.http.trusted_proxies), strict=True):
            app.router.add_route(route_def.method, route_def.path, route_def.handler)
            hook_defs.append(_hook_doc(route, route_def.handler))
    app[LANE] = FastLane(all_routes, settings.http.idle_timeout_seconds)  # first: every route above the API's
    app.on_shutdown.append(_close_lane)

    api_routes: list[ApiRoute] = [*ops_api.ROUTES, *deals_api.ROUTES, *tasks_api.ROUTES, *leads_api.ROUTES,
                                  *reply_api.ROUTES, *events_api.ROUTES, *sinks_api.ROUTES, *calls_api.ROUTES,
                                  *calltracking_api.ROUTES]
    for extend in _extensions():
        api_routes.extend(extend(app, settings))
    if settings.calltracking.sites:
        hook_defs.extend(_call_tracking(app, settings))
    documented = [*api_routes, *hook_defs]
    api_routes.append(openapi_route(documented))
    for r in api_routes:
        app.router.add_route(r.method, r.path, with_roles(with_query_checked(r.handler, r.params), r.roles))
    app.middlewares.append(error_middleware)
    app.middlewares.append(BodyGuard.of(settings).middleware())
    app.cleanup_ctx.append(_resources(settings, engine, run_dispatcher, run_services))
    return app


async def _close_lane(app: web.Application) -> None:
    await app[LANE].close()


def _call_tracking(app: web.Application, settings: Settings) -> list[ApiRoute]:
    """The sites' snippet and session routes; the pool follows the settings, and old visits are deleted hourly."""
    from gateway.calltracking.edge import RESPONSES, CallTrackingEdge

    edge = CallTrackingEdge(settings)
    docs: list[ApiRoute] = []
    for route, summary in edge.routes():
        app.router.add_route(route.method, route.path, route.handler)
        params = tuple(Param(name, where="path", required=True) for name in re.findall(r"\{(\w+)", route.path))
        docs.append(ApiRoute(route.method, route.path, route.handler, summary, roles=None, params=params,
                             responses=RESPONSES[route.method], tag="calltracking",
                             content="application/javascript" if route.path.endswith(".js") else
                             "application/json"))

    async def upkeep(app: web.Application, _settings: Settings, _runtime: Any) -> Callable[[], Any]:
        engine = app[DB].engine
        await asyncio.to_thread(edge.start, engine, app[DB].write_turn)

        async def every_hour() -> None:
            while True:
                try:
                    await asyncio.to_thread(edge.prune, engine)
                except Exception:
                    log.warning("calltracking.prune_failed", exc_info=True)
                await asyncio.sleep(3600)

        task = asyncio.create_task(every_hour(), name="calltracking-upkeep")

        async def stop() -> None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await asyncio.to_thread(edge.stop)

        return stop

    app[EXTRAS].setdefault("always_services", []).append(upkeep)
    return docs


def _warn_unknown_users(engine: Engine, settings: Settings) -> None:
    """A PBX extension mapped to a user nobody has would give its calls no manager: say so at start-up."""
    with engine.connect() as conn:
        missing = unknown_extension_users(conn, settings)
    for account, extension, user in missing:
        log.warning("mango.extension_user_missing", account=account, extension=extension, user=user,
                    fix=f"gateway user add {user} --role manager --extension {extension}, or correct "
                        f"telephony.mango.extensions")


def _resources(settings: Settings, engine: Engine | None, run_dispatcher: bool,
               run_services: bool | None) -> Callable[[web.Application], AsyncIterator[None]]:
    async def ctx(app: web.Application) -> AsyncIterator[None]:
        own_engine = engine is None
        eng = engine or make_engine(settings.database_url, synchronous=settings.sqlite_synchronous, pool_size=10)
        await asyncio.to_thread(bootstrap, eng, settings)
        await asyncio.to_thread(_warn_unknown_users, eng, settings)
        runtime = build_runtime(settings, engine=eng)
        dispatcher: Any
        if not settings.embedded:
            dispatcher = RqDispatcher(settings, eng)
        elif settings.dispatch.embedded_worker == "thread":
            dispatcher = ThreadDispatcher(runtime.processor, settings.dispatch.idle_poll_seconds)
        else:
            dispatcher = EmbeddedDispatcher(settings)
        dispatcher.on_leads_changed.append(lambda: leads_changed(app))
        app[DISPATCHER] = dispatcher
        # every write of this process takes the edge's side of the gate: the worker gives way to it soon
        edge_turn = getattr(dispatcher, "edge_turn", nullcontext)
        app[DB] = Database(eng, write_turn=edge_turn)
        app[HASHING] = Hashing()
        app[FILES] = FileStore(settings.files_dir)
        app[METRICS] = Metrics()
        app[HTTP] = AsyncOutboundClient(settings.http.outbound_policy())
        app[OUTBOX] = OutboxRunner(app[DB], build_performers(settings, app[HTTP], app[DB]),
                                   on_outcome=app[METRICS].count_job)
        app[OUTBOX].start()  # outbound jobs are performed by every `gateway serve`
        writer = EventWriter(eng, on_stored=dispatcher.wake, write_turn=edge_turn,
                             on_batch=getattr(dispatcher, "edge_load", None))
        app[WRITER] = writer
        await writer.start()
        app[LANE].store = writer.submit
        if run_dispatcher:
            await dispatcher.start()
        services = await _start_services(app, settings, runtime, run_services)
        log.info("gateway.started", database=eng.dialect.name, embedded=settings.embedded,
                 started_at=datetime.now(UTC).isoformat())
        try:
            yield
        finally:
            for stop in services:
                await stop()
            await dispatcher.stop()
            app[LANE].store = None
            await writer.stop()
            await app[OUTBOX].stop()
            await app[HTTP].aclose()
            app[DB].close()
            app[HASHING].close()
            runtime.http.close()
            if own_engine:
                eng.dispose()

    return ctx


async def _start_services(app: web.Application, settings: Settings, runtime: Any,
                          run_services: bool | None) -> list[Callable[[], Any]]:
    """Long-running services: connectors' pollers (embedded default only), and what the parts add."""
    stops: list[Callable[[], Any]] = []
    for start in app[EXTRAS].get("always_services", []):
        stops.append(await start(app, settings, runtime))
    if run_services is False or (run_services is None and not settings.embedded):
        return stops
    for start in app[EXTRAS].get("services", []):
        stops.append(await start(app, settings, runtime))
    ctx = ServiceContext(app, runtime)
    stop_event = asyncio.Event()
    tasks = [asyncio.create_task(service(ctx, stop_event), name=f"service-{channel}")
             for channel, connector in app[CONNECTORS].items()
             for service in getattr(connector, "services", list)()]
    if tasks:
        async def stop_connector_services() -> None:
            stop_event.set()
            await asyncio.wait(tasks, timeout=30)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        stops.append(stop_connector_services)
    return stops


class ServiceContext:
    """What a connector's service (the mail poller) uses: store events, then wake the dispatcher."""

    def __init__(self, app: web.Application, runtime: Any) -> None:
        self._app = app
        self._loop = asyncio.get_running_loop()
        self.engine = runtime.engine
        self.files = runtime.files
        self._write_turn = app[DB].write_turn  # the edge's side of the write gate, as every write here

    def store_events(self, events: Any) -> list[str]:
        from gateway.store import event_log

        with self._write_turn(), self.engine.begin() as conn:
            stored = event_log.append(conn, events)
        if any(is_new for _, is_new in stored):
            self._loop.call_soon_threadsafe(self._app[DISPATCHER].wake)
        return [event_id for event_id, _ in stored]
