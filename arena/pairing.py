"""Which two models meet: distinct, able to read the prompt, drawn by sampling weight (times a new
model's boost, until it has enough counted votes)."""

from __future__ import annotations

import random
from collections.abc import Collection, Sequence

from arena.models import Model
from core.errors import Unavailable


def _weight(model: Model) -> float:
    return model.sampling_weight * model.sampling_boost


def pair_draw(
    *, candidates: Sequence[Model], modalities: Collection[str], rng: random.Random | None = None
) -> tuple[Model, Model]:
    """Two distinct models that support every modality, weighted, in random left/right order."""
    rng = rng or random.SystemRandom()
    needed = set(modalities)
    pool = [
        model for model in candidates if needed <= set(model.input_modalities) and model.sampling_weight > 0
    ]
    if len(pool) < 2:
        kinds = " and ".join(sorted(needed))
        raise Unavailable(
            f"Fewer than two models that accept {kinds} are available right now. Please try again later."
        )
    first = rng.choices(pool, weights=[_weight(model) for model in pool])[0]
    rest = [model for model in pool if model.pk != first.pk]
    second = rng.choices(rest, weights=[_weight(model) for model in rest])[0]
    pair = [first, second]
    rng.shuffle(pair)
    return pair[0], pair[1]
