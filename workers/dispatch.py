"""Queue routing: each model has its own queue, `model.<slug>`; workers listen to the models they host."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import partial

from django.db import transaction

from arena.models import Model, Response

DEFAULT_QUEUE = "default"


def model_queue(*, slug: str) -> str:
    return f"model.{slug}"


def responses_enqueue(*, responses: Iterable[Response], models: Mapping[str, Model]) -> None:
    """Send each answer to its model's queue once the surrounding transaction commits."""
    from workers.tasks import response_generate

    for response in responses:
        queue = model_queue(slug=models[response.side].slug)
        transaction.on_commit(partial(response_generate.apply_async, args=[response.pk], queue=queue))
