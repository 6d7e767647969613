"""The api process: FastAPI REST (and, in later layers, the Socket.IO gateway)."""

from __future__ import annotations

import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import text

from seniorsafe import __version__, collector
from seniorsafe.accounts.api import router as accounts_router
from seniorsafe.alerts.api import router as alerts_router
from seniorsafe.alerts.escalation import WorkflowWorker
from seniorsafe.bus import Bus
from seniorsafe.config import Settings, get_settings
from seniorsafe.db import Database
from seniorsafe.deps import AppState
from seniorsafe.detection.api import router as detection_router
from seniorsafe.errors import Unauthorized, document_problems, install_problem_handlers
from seniorsafe.homes.api import router as homes_router
from seniorsafe.middleware import RejectNul, WritesRefreshReads
from seniorsafe.monitoring import render_metrics
from seniorsafe.notifications.api import router as notifications_router
from seniorsafe.readcache import ReadCache
from seniorsafe.realtime.server import Gateway
from seniorsafe.robots.api import router as robots_router
from seniorsafe.seniors.api import router as seniors_router
from seniorsafe.storage import make_storage
from seniorsafe.telemetry.api import router as telemetry_router
from seniorsafe.web import mount_dashboard
from seniorsafe.webrtc.api import router as webrtc_router
from seniorsafe.webrtc.signaling import install as install_webrtc_signaling

log = logging.getLogger(__name__)


def build_state(settings: Settings) -> AppState:
    return AppState(settings=settings, db=Database(settings), bus=Bus(settings), storage=make_storage(settings),
                    reads=ReadCache(settings.database_url, max_entries=settings.read_cache_entries,
                                    ttl_seconds=settings.read_cache_ttl_seconds))


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    install_webrtc_signaling()  # the `/webrtc` Socket.IO namespace on the gateway (robots and viewers)
    gateway = Gateway(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = build_state(settings)
        app.state.services = state
        await state.reads.start()
        await state.guard.start()
        await gateway.start(state)
        worker = WorkflowWorker(state) if settings.workflow_worker_in_api else None
        if worker:
            worker.start()
        collector.settle()
        try:
            yield
        finally:
            if worker:
                await worker.stop()
            await gateway.stop()
            await state.reads.stop()
            await state.guard.stop()
            await state.bus.close()
            await state.db.dispose()

    app = FastAPI(
        title="Senior Safe Things API",
        version=__version__,
        description="Care staff, admins and guardians; homes, hubs, sensors and robots. "
                    "Errors are RFC 9457 problem details.",
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    app.add_middleware(RejectNul)
    app.add_middleware(WritesRefreshReads)
    app.include_router(accounts_router)
    app.include_router(seniors_router)
    app.include_router(homes_router)
    app.include_router(telemetry_router)
    app.include_router(detection_router)
    app.include_router(alerts_router)
    app.include_router(notifications_router)
    app.include_router(robots_router)
    app.include_router(webrtc_router)
    app.state.gateway = gateway
    app.mount("/socket.io", gateway.asgi)  # Socket.IO (engine.io path /socket.io/)

    @app.get("/healthz", tags=["health"], summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], summary="Readiness: database and Redis reachable",
             responses={503: {"description": "a dependency is unreachable"}})
    async def readyz(request: Request) -> JSONResponse:
        state: AppState = request.app.state.services
        checks: dict[str, Any] = {}
        try:
            async with state.db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as exc:  # readiness reports any failure instead of raising
            checks["database"] = f"error: {type(exc).__name__}"
        try:
            await state.bus.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"error: {type(exc).__name__}"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks},
                            status_code=200 if ready else 503)

    @app.get("/metrics", tags=["health"], summary="Prometheus metrics of the installation (text format)",
             response_class=PlainTextResponse, responses={401: {"description": "METRICS_TOKEN required"}})
    async def metrics(request: Request) -> PlainTextResponse:
        state: AppState = request.app.state.services
        token = state.settings.metrics_token
        if token and not hmac.compare_digest(request.headers.get("authorization", ""), f"Bearer {token}"):
            raise Unauthorized("a metrics token is required")
        return PlainTextResponse(await render_metrics(state), media_type="text/plain; version=0.0.4")

    mount_dashboard(app)  # the built dashboard (web/dist) at /, only if it exists
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
