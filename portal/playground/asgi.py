"""The playground process: `uvicorn portal.playground.asgi:application` (one process; README "Playground")."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Gradio would otherwise report usage to its makers and look for a newer version of itself.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import django

django.setup()

from portal.playground.server import playground_asgi  # noqa: E402

application = playground_asgi()
