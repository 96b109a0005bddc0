"""The dashboard app: ``create_app(settings)`` builds the FastAPI app around a :class:`DashboardState`.

In front of FastAPI sits one small ASGI layer that (1) answers the subscriber feed on its lean fast path,
(2) caps request bodies, and (3) adds security headers. CORS is closed unless ``CORS_ORIGINS`` lists origins.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from dashboard import routes_operator, routes_public, routes_subscriber
from dashboard.config import DashboardSettings
from dashboard.errors import has_non_finite_number, install_error_handlers, is_json_request, non_finite_reply
from dashboard.feed_http import FEED_PATH, serve_feed_asgi
from dashboard.routes_public import STATIC_DIR
from dashboard.state import DashboardState

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]

_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"),
]


class Edge:
    """The ASGI layer in front of FastAPI."""

    def __init__(self, app: ASGIApp, state: DashboardState) -> None:
        self.app = app
        self.state = state
        self.max_body = state.settings.max_body_bytes
        self.fast_feed = state.settings.feed_fast_path

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.fast_feed and scope["path"] == FEED_PATH and scope["method"] == "GET":
            await serve_feed_asgi(self.state, scope, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > self.max_body:
                    await _plain(send, 413, b'{"detail":"request body too large"}')
                    return
                break
        if scope["method"] in ("POST", "PUT", "PATCH", "DELETE"):
            # Read the (small, capped) body here, so an oversized one is refused before any handler sees it,
            # whether or not it came with a Content-Length.
            body = b""
            more = True
            while more:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                body += message.get("body", b"")
                if len(body) > self.max_body:
                    await _plain(send, 413, b'{"detail":"request body too large"}')
                    return
                more = message.get("more_body", False)
            if body.strip() and is_json_request(scope["headers"]) and has_non_finite_number(body):
                # Refused here, before any route: a NaN reaching a model or a log line became a 500.
                await _plain(send, 422, non_finite_reply())
                return
            receive = _replay(body, receive)

        async def secured_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, secured_send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive callable that hands over the already-read body once, then defers to the real one."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _plain(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_app(settings: DashboardSettings, state: DashboardState | None = None) -> FastAPI:
    """Build the app; the logs are read once here, then followed while the app runs."""
    state = state or DashboardState(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state.tailer.start(asyncio.get_running_loop())
        try:
            yield
        finally:
            state.hub.close()  # held long-polls answer now (empty, cursor unchanged) instead of being cut
            state.tailer.stop()
            state.close()

    app = FastAPI(
        title="tbot dashboard",
        version="1",
        description="Operator API and UI, and the subscriber signal feed.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.dashboard = state
    install_error_handlers(app)
    app.include_router(routes_subscriber.router)
    routes_subscriber.document_limits(app, settings)
    app.include_router(routes_operator.session_router)
    app.include_router(routes_operator.router)
    app.include_router(routes_public.router)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")

    async def favicon() -> FileResponse:  # browsers ask for /favicon.ico whatever the page links
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml",
                            headers={"Cache-Control": "public, max-age=86400"})

    app.add_api_route("/favicon.ico", favicon, include_in_schema=False)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
        )
    return app


def asgi_app(settings: DashboardSettings, state: DashboardState | None = None) -> Edge:
    """The app wrapped in its edge layer: what uvicorn serves (``.state`` is the :class:`DashboardState`)."""
    app = create_app(settings, state)
    return Edge(app, app.state.dashboard)
