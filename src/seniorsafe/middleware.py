"""ASGI middleware shared by every route."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from seniorsafe.errors import problem_response
from seniorsafe.readcache import EVERY_ORG

# PostgreSQL text and JSONB cannot hold U+0000; refuse it at the door with a clear problem, not a 500.
NUL_MARKERS = (b"\\u0000", b"\x00")
# The hub ingest keeps its own rules: bad input there is dead-lettered with the raw payload.
EXEMPT_PREFIXES = ("/api/v1/hub/",)
MAX_JSON_BODY = 2 * 1024 * 1024


class RejectNul:
    """Reject a NUL character (escaped or raw) in the URL or a JSON request body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and ("\x00" in scope["path"] or b"%00" in scope.get("query_string", b"")):
            await self._refuse(scope, receive, send, "url")
            return
        if scope["type"] != "http" or not self._applies(scope):
            await self.app(scope, receive, send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_JSON_BODY:
                response = problem_response(413, "Payload too large", "JSON body larger than 2 MiB",
                                            slug="payload-too-large", instance=scope["path"])
                await response(scope, receive, send)
                return
        if any(marker in body for marker in NUL_MARKERS):
            await self._refuse(scope, receive, send, "body")
            return
        await self.app(scope, _replay(body), send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, where: str) -> None:
        response = problem_response(422, "Invalid input", "text may not contain the NUL character (U+0000)",
                                    slug="validation", instance=scope["path"],
                                    extra={"errors": [{"field": where, "message": "contains U+0000"}]})
        await response(scope, receive, send)

    @staticmethod
    def _applies(scope: Scope) -> bool:
        if scope["method"] not in ("POST", "PUT", "PATCH") or scope["path"].startswith(EXEMPT_PREFIXES):
            return False
        headers = dict(scope.get("headers") or [])
        return b"json" in headers.get(b"content-type", b"")


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


class WritesRefreshReads:
    """Read-your-writes for the read cache: a write answered by this process empties this process's cache
    before its response leaves, so the writer's next read never shows the old data. (Other processes hear of
    the commit from PostgreSQL within milliseconds; see readcache.py.)"""

    UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
    # Sign-ins and hub uploads change nothing that the cached reads show (and hubs write all the time).
    UNRELATED = ("/api/v1/hub/", "/api/v1/auth/")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] not in self.UNSAFE
                or scope["path"].startswith(self.UNRELATED)):
            await self.app(scope, receive, send)
            return

        async def send_after_refresh(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                services = getattr(scope["app"].state, "services", None)
                if services is not None:
                    services.reads.invalidate(EVERY_ORG)
            await send(message)

        await self.app(scope, receive, send_after_refresh)
