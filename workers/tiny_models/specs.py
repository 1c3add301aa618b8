"""How each tiny model is presented to the arena, importable without torch."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from workers.tiny_models.recipes import TINY_RECIPES, TinyRecipe

ORGANIZATION: Final = "Arena Hub demo"
LICENSE: Final = "apache-2.0"


@dataclass(frozen=True)
class TinyModelSpec:
    slug: str
    display_name: str
    organization: str
    license: str
    modalities: tuple[str, ...]
    adapter_kind: str
    adapter_config: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""


def tiny_model_spec(*, recipe: TinyRecipe, target_dir: Path) -> TinyModelSpec:
    config: dict[str, Any] = {"path": str(target_dir / recipe.slug)}
    if recipe.architecture == "qwen2_vl":
        # Its processor ships in the model directory (see qwen2_vl_processing.py).
        config["trust_remote_code"] = True
    family = "LLaVA (CLIP vision + Llama text)" if recipe.architecture == "llava" else "Qwen2-VL"
    return TinyModelSpec(
        slug=recipe.slug,
        display_name=recipe.display_name,
        organization=ORGANIZATION,
        license=LICENSE,
        modalities=("image", "text"),
        adapter_kind="transformers",
        adapter_config=config,
        description=(
            f"A {family} architecture with random weights (hidden size {recipe.hidden_size}, "
            f"{recipe.layers} layers), for demos and tests: its answers are random text."
        ),
    )


def tiny_model_specs(*, target_dir: Path) -> list[TinyModelSpec]:
    """The specs of every tiny model as `tiny_models_build` lays them out under `target_dir`, built or not."""
    return [tiny_model_spec(recipe=recipe, target_dir=target_dir) for recipe in TINY_RECIPES]
