"""What the arena adds to readiness and metrics: a live worker for every active model, and the queues
whose depth /metrics reports. Here because only the arena knows which models are active; the
checks and the exposition themselves are core's (`core.health`, `core.metrics`)."""

from __future__ import annotations

from arena.models import Model
from core.health import ReadinessCheck
from workers.dispatch import DEFAULT_QUEUE, model_queue


def _slugs(*statuses: str) -> list[str]:
    return list(Model.objects.filter(status__in=statuses).order_by("slug").values_list("slug", flat=True))


def model_queues_listed() -> list[str]:
    """The default queue and every model's that may hold tasks (a paused model's still may)."""
    slugs = _slugs(Model.Status.ACTIVE, Model.Status.PAUSED)
    return [DEFAULT_QUEUE, *(model_queue(slug=slug) for slug in slugs)]


def models_served_problems() -> list[str]:
    # Here, not at the top: it brings Celery's signals, which loading the URLs has no use for.
    from workers.presence import queues_unserved

    queues = [model_queue(slug=slug) for slug in _slugs(Model.Status.ACTIVE)]
    return [f"No worker is serving the model queue {queue}." for queue in queues_unserved(queues=queues)]


MODELS_SERVED_CHECK = ReadinessCheck(
    name="model_workers",
    run=models_served_problems,
    failure="The active models or the live workers cannot be listed.",
)
