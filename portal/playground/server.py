"""The playground process's ASGI app: Gradio mounted at /playground on a small FastAPI app, behind a
gate that gives a visitor without one the site's session and sets the playground's own headers."""

from __future__ import annotations

from typing import Any

import gradio as gr
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portal.playground.app import CSS, PATH, THEME, playground_blocks
from portal.playground.visitor import visitor_session_ensure

# Gradio's page runs inline scripts and styles, so it cannot have the site's policy (README
# "Playground"); everything else stays on this origin, and answers cannot load images from elsewhere.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "media-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        # Clickjacking: no site frames the playground, this one included (as for the site's pages).
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


def _session_ensure(*, cookie_header: str, address: str) -> str | None:
    try:
        return visitor_session_ensure(cookie_header=cookie_header, address=address)
    finally:
        close_old_connections()


class PlaygroundGate:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        set_cookie: str | None = None
        # The page: its later requests (the queue, uploads) then carry the session cookie.
        if scope["method"] in ("GET", "HEAD") and scope["path"] in (PATH, PATH + "/"):
            client = scope.get("client")
            set_cookie = await sync_to_async(_session_ensure, thread_sensitive=False)(
                cookie_header=Headers(scope=scope).get("cookie", ""), address=client[0] if client else ""
            )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in HEADERS.items():
                    headers[name] = value
                if set_cookie is not None:
                    headers.append("set-cookie", set_cookie)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def playground_asgi() -> ASGIApp:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        return {"alive": True}

    gr.mount_gradio_app(
        app,
        playground_blocks(),
        path=PATH,
        theme=THEME,
        css=CSS,
        footer_links=[],
        ssr_mode=False,
        max_file_size=settings.ARENA_MAX_UPLOAD_BYTES,
        show_error=True,
        mcp_server=False,
        pwa=False,
        enable_monitoring=False,
    )
    return PlaygroundGate(app)
