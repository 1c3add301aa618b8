"""The ASGI application: Django over HTTP (behind the edge read cache, under a deadline), Channels
over WebSocket, lifespan routed through.

Served by uvicorn. Lifespan events are answered here so that an in-process app that needs
them (Gradio, mounted at /gradio by a later issue) can hook its startup and shutdown in.
"""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.core.asgi import get_asgi_application

django_http = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from channels.sessions import SessionMiddlewareStack  # noqa: E402
from django.conf import settings  # noqa: E402

from arena.routing import websocket_urlpatterns as arena_ws  # noqa: E402
from core.deadline import RequestDeadline  # noqa: E402
from core.edge_cache import EdgeCache  # noqa: E402
from leaderboard.routing import websocket_urlpatterns as leaderboard_ws  # noqa: E402

Scope = dict[str, Any]


async def lifespan(scope: Scope, receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


application = ProtocolTypeRouter(
    {
        "http": RequestDeadline(EdgeCache(django_http), seconds=settings.REQUEST_DEADLINE_S),
        "websocket": AllowedHostsOriginValidator(
            SessionMiddlewareStack(URLRouter(arena_ws + leaderboard_ws))
        ),
        "lifespan": lifespan,
    }
)
