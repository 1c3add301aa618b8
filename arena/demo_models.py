"""The demo models' place in the arena: tiny models built offline, registered as active models."""

from __future__ import annotations

from collections.abc import Sequence

from arena.models import Model
from arena.services import model_register
from workers.tiny_models import TinyModelSpec


def demo_models_register(*, specs: Sequence[TinyModelSpec]) -> list[Model]:
    return [
        model_register(
            slug=spec.slug,
            display_name=spec.display_name,
            organization=spec.organization,
            license=spec.license,
            modalities=list(spec.modalities),
            adapter_kind=spec.adapter_kind,
            adapter_config=dict(spec.adapter_config),
        )
        for spec in specs
    ]
