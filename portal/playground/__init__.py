"""The playground at /playground/: direct chat with one named model, and two named models side by side.

A Gradio app (`app.py`) served by a process of its own (`asgi.py`), because Gradio keeps its queue and
session state per process while the site runs several; a web process passes /playground/ to it
(`proxy.py`, under `make run`), Caddy does in production (README "Playground").
"""
