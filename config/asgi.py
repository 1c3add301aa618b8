"""The ASGI application: Django over HTTP (behind the edge read cache, under a deadline), Channels
over WebSocket, lifespan routed through, and /playground/ passed to the playground's own process
when PLAYGROUND_UPSTREAM names it (README "Playground").

Served by uvicorn. Lifespan events are answered here so that an in-process app that needs
them can hook its startup and shutdown in.
"""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.core.asgi import get_asgi_application

django_http = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from arena.routing import websocket_urlpatterns as arena_ws  # noqa: E402
from core.deadline import RequestDeadline  # noqa: E402
from core.edge_cache import EdgeCache  # noqa: E402
from evaluation.routing import websocket_urlpatterns as evaluation_ws  # noqa: E402
from leaderboard.routing import websocket_urlpatterns as leaderboard_ws  # noqa: E402
from portal.submissions.routing import websocket_urlpatterns as submissions_ws  # noqa: E402

Scope = dict[str, Any]


async def lifespan(scope: Scope, receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


site_http = RequestDeadline(EdgeCache(django_http), seconds=settings.REQUEST_DEADLINE_S)


def _with_playground(site: Any, upstream: str) -> Any:
    """/playground/ to the playground's process, before the deadline: its event streams stay open."""
    from portal.playground.proxy import PlaygroundProxy, playground_path

    playground = PlaygroundProxy(upstream=upstream)

    async def route(scope: Scope, receive: Any, send: Any) -> None:
        if playground_path(scope["path"]):
            await playground(scope, receive, send)
        else:
            await site(scope, receive, send)

    return route


application = ProtocolTypeRouter(
    {
        "http": _with_playground(site_http, settings.PLAYGROUND_UPSTREAM)
        if settings.PLAYGROUND_UPSTREAM
        else site_http,
        # The session and the signed-in user in the scope: a battle's stream is for its readers only.
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(arena_ws + leaderboard_ws + submissions_ws + evaluation_ws))
        ),
        "lifespan": lifespan,
    }
)
