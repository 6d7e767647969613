"""Serve the built dashboard (web/dist) from the api process, for development and single-machine runs.

In deployment nginx serves the same files (deploy/); here the api process does it so that
`seniorsafe api` (or `seniorsafe up`) is all a newcomer needs. Nothing is mounted unless the
dist folder exists (run `npm ci && npm run build` in web/).

The dashboard is a single-page app: every GET for a path outside the API's own prefixes is
answered with the file of that name from dist when it exists, otherwise with index.html so
the client-side router can draw the screen. This is an ASGI middleware rather than a catch-all
route, so routes that other modules add later are never shadowed by it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from starlette.responses import FileResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)

# Paths the dashboard never answers: the API, the live gateway, health checks and API docs.
API_PREFIXES = ("/api/", "/api", "/socket.io", "/healthz", "/readyz", "/metrics", "/docs", "/redoc", "/openapi.json")

# The dashboard needs nothing from other origins: no CDN, no inline script. The access token
# lives in memory only (see docs/dashboard.md), so keeping injected script out matters.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "media-src 'self' blob:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'self'; "
       "frame-ancestors 'none'; form-action 'self'")

SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def default_dist() -> Path:
    env = os.environ.get("SENIORSAFE_WEB_DIST")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "web" / "dist"


class DashboardMiddleware:
    """Answer non-API GET/HEAD requests with the dashboard's files, falling back to index.html."""

    def __init__(self, app: ASGIApp, dist: Path) -> None:
        self.app = app
        self.dist = dist.resolve()
        self.index = self.dist / "index.html"

    def _is_api(self, path: str) -> bool:
        return any(path == p or path.startswith(p.rstrip("/") + "/") for p in API_PREFIXES)

    def _file_for(self, path: str) -> Path | None:
        rel = path.lstrip("/")
        if not rel:
            return None
        candidate = (self.dist / rel).resolve()
        if not candidate.is_relative_to(self.dist) or not candidate.is_file():
            return None
        return candidate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or self._is_api(scope["path"]):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        file = self._file_for(path)
        response: Response
        if file is not None:
            hashed = path.startswith("/assets/")
            response = FileResponse(file, headers={
                "Cache-Control": "public, max-age=31536000, immutable" if hashed else "no-cache",
                "X-Content-Type-Options": "nosniff",
            })
        elif path.startswith("/assets/"):
            # A missing hashed asset is an old tab after a deploy: a 404, never index.html as JS.
            response = Response("not found", status_code=404, media_type="text/plain")
        else:
            response = FileResponse(self.index, headers={"Cache-Control": "no-cache", **SECURITY_HEADERS})
        await response(scope, receive, send)


def mount_dashboard(app: Any, dist: Path | None = None) -> bool:
    """Serve the dashboard from `dist` (default web/dist) when it has been built. Returns whether it did."""
    dist = dist or default_dist()
    if not (dist / "index.html").is_file():
        log.info("dashboard not built (%s missing); serving the API only", dist / "index.html")
        return False
    app.add_middleware(DashboardMiddleware, dist=dist)
    return True
