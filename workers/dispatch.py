"""Queue routing: each model has its own queue, `model.<slug>`; workers listen to the models they host."""

from __future__ import annotations

DEFAULT_QUEUE = "default"


def model_queue(*, slug: str) -> str:
    return f"model.{slug}"
