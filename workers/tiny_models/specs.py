"""How each tiny model is presented to the arena, importable without torch."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from workers.tiny_models.recipes import TINY_RECIPES, TinyRecipe

ORGANIZATION: Final = "Arena Hub demo"
LICENSE: Final = "apache-2.0"
_FAMILIES: Final = {
    "llava": "LLaVA (CLIP vision + Llama text)",
    "qwen2_vl": "Qwen2-VL (images and video)",
    "qwen2_audio": "Qwen2-Audio (Whisper audio encoder + Qwen2 text)",
    "qwen2_5_omni": "Qwen2.5-Omni thinker (images, video and audio)",
}


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
    if recipe.architecture in ("qwen2_vl", "qwen2_5_omni"):
        # Its processor ships in the model directory (see qwen2_vl_processing.py).
        config["trust_remote_code"] = True
    family = _FAMILIES[recipe.architecture]
    return TinyModelSpec(
        slug=recipe.slug,
        display_name=recipe.display_name,
        organization=ORGANIZATION,
        license=LICENSE,
        modalities=recipe.modalities,
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
