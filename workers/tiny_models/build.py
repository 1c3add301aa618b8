"""Writes the tiny models to disk, each once, safely against a concurrent build of the same directory."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Final

from workers.tiny_models.recipes import TINY_RECIPES, TinyRecipe
from workers.tiny_models.specs import TinyModelSpec, tiny_model_spec

# Written last: a directory without it (an interrupted build) is rebuilt, one with another recipe too.
MARKER_FILE: Final = "tiny_model.json"
_MARKER_FORMAT: Final = 2  # bump when the build writes something different for the same recipe


def _marker(recipe: TinyRecipe) -> dict[str, object]:
    # Through JSON and back, so it compares equal to a marker read from disk (tuples become lists).
    marker: dict[str, object] = json.loads(json.dumps({"format": _MARKER_FORMAT, "recipe": asdict(recipe)}))
    return marker


def tiny_model_complete(*, recipe: TinyRecipe, model_dir: Path) -> bool:
    try:
        return bool(json.loads((model_dir / MARKER_FILE).read_text()) == _marker(recipe))
    except (OSError, ValueError):
        return False


def _model_save(*, recipe: TinyRecipe, target: Path) -> None:
    # Imported here so that listing specs needs no torch.
    if recipe.architecture == "llava":
        from workers.tiny_models.llava import llava_model_save

        llava_model_save(recipe=recipe, target=target)
    elif recipe.architecture == "qwen2_audio":
        from workers.tiny_models.qwen2_audio import qwen2_audio_model_save

        qwen2_audio_model_save(recipe=recipe, target=target)
    elif recipe.architecture == "qwen2_5_omni":
        from workers.tiny_models.qwen2_5_omni import qwen2_5_omni_model_save

        qwen2_5_omni_model_save(recipe=recipe, target=target)
    else:
        from workers.tiny_models.qwen2_vl import qwen2_vl_model_save

        qwen2_vl_model_save(recipe=recipe, target=target)
    (target / MARKER_FILE).write_text(json.dumps(_marker(recipe), indent=2) + "\n")


def _permissions_open(directory: Path) -> None:
    # mkdtemp and the weights writer create owner-only files; workers may run as another user.
    directory.chmod(0o755)
    for path in directory.iterdir():
        path.chmod(0o644)


def tiny_model_build(*, recipe: TinyRecipe, target_dir: Path) -> TinyModelSpec:
    model_dir = target_dir / recipe.slug
    if not tiny_model_complete(recipe=recipe, model_dir=model_dir):
        target_dir.mkdir(parents=True, exist_ok=True)
        # Built aside then renamed into place, so no reader ever sees a half-written model.
        partial = Path(tempfile.mkdtemp(prefix=f".{recipe.slug}.", dir=target_dir))
        try:
            _model_save(recipe=recipe, target=partial)
            _permissions_open(partial)
            if model_dir.exists() and not tiny_model_complete(recipe=recipe, model_dir=model_dir):
                shutil.rmtree(model_dir)
            try:
                os.rename(partial, model_dir)
            except OSError:
                if not tiny_model_complete(recipe=recipe, model_dir=model_dir):
                    raise  # not a concurrent build that finished first
        finally:
            shutil.rmtree(partial, ignore_errors=True)
    return tiny_model_spec(recipe=recipe, target_dir=target_dir)


def tiny_models_build(*, target_dir: Path) -> list[TinyModelSpec]:
    """Builds every tiny model into `target_dir/<slug>/` (skipping complete ones) and returns their specs.

    Needs no network: tokenizers are trained and weights drawn on the spot, from fixed seeds.
    """
    return [tiny_model_build(recipe=recipe, target_dir=target_dir) for recipe in TINY_RECIPES]
