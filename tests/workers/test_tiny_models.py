"""The tiny demo models: built offline and idempotently, loadable through the stock Auto classes."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import torch
from PIL import Image
from transformers import AutoModelForImageTextToText, AutoProcessor

from workers.tiny_models import TINY_RECIPES, tiny_model_build, tiny_model_specs
from workers.tiny_models.build import MARKER_FILE


def _config(spec_path: str) -> dict[str, Any]:
    return dict(json.loads((Path(spec_path) / "config.json").read_text()))


def test_models_of_four_architectures_and_different_sizes_are_built(tiny_models_dir: Any) -> None:
    configs = [_config(spec.adapter_config["path"]) for spec in tiny_models_dir.specs]

    assert len(configs) >= 6
    assert {config["model_type"] for config in configs} == {
        "llava",
        "qwen2_vl",
        "qwen2_audio",
        "qwen2_5_omni_thinker",
    }
    assert len({config["text_config"]["hidden_size"] for config in configs}) >= 3
    for config in configs:
        text = config["text_config"]
        assert 64 <= text["hidden_size"] <= 256
        assert 2 <= text["num_hidden_layers"] <= 4
        assert 512 <= text["vocab_size"] <= 2048


def test_specs_declare_each_architectures_modalities_for_the_transformers_adapter(
    tiny_models_dir: Any,
) -> None:
    slugs = [spec.slug for spec in tiny_models_dir.specs]
    expected = {
        "llava": ("image", "text"),
        "qwen2_vl": ("image", "text", "video"),
        "qwen2_audio": ("audio", "text"),
        "qwen2_5_omni_thinker": ("audio", "image", "text", "video"),
    }

    assert len(set(slugs)) == len(slugs)
    for spec in tiny_models_dir.specs:
        assert spec.modalities == expected[_config(spec.adapter_config["path"])["model_type"]]
        assert spec.adapter_kind == "transformers"
        assert Path(spec.adapter_config["path"]) == tiny_models_dir.dir / spec.slug
        assert spec.display_name and spec.organization and spec.license


def test_specs_can_be_listed_without_building(tmp_path: Path) -> None:
    specs = tiny_model_specs(target_dir=tmp_path)

    assert [spec.slug for spec in specs] == [recipe.slug for recipe in TINY_RECIPES]
    assert not any(tmp_path.iterdir())


def test_a_second_build_leaves_complete_models_untouched(tiny_models_dir: Any) -> None:
    recipe = TINY_RECIPES[0]
    weights = tiny_models_dir.dir / recipe.slug / "model.safetensors"
    before = weights.stat().st_mtime_ns

    started = time.monotonic()
    tiny_model_build(recipe=recipe, target_dir=tiny_models_dir.dir)

    assert weights.stat().st_mtime_ns == before
    assert time.monotonic() - started < 0.5


def test_an_interrupted_build_is_rebuilt(tmp_path: Path) -> None:
    recipe = TINY_RECIPES[0]
    half_written = tmp_path / recipe.slug
    half_written.mkdir()
    (half_written / "config.json").write_text("{")

    tiny_model_build(recipe=recipe, target_dir=tmp_path)

    assert (half_written / MARKER_FILE).exists()
    assert _config(str(half_written))["model_type"] == "llava"
    assert [path.name for path in tmp_path.iterdir()] == [recipe.slug]  # no partial build left behind


@pytest.mark.parametrize(
    "recipe",
    [recipe for recipe in TINY_RECIPES if "image" in recipe.modalities],
    ids=lambda recipe: recipe.slug,
)
def test_each_image_model_loads_with_auto_classes_and_answers_32_tokens_quickly(
    tiny_models_dir: Any, recipe: Any, png: bytes
) -> None:
    spec = tiny_models_dir.spec(recipe.slug)
    path = spec.adapter_config["path"]
    trust = bool(spec.adapter_config.get("trust_remote_code", False))
    processor = AutoProcessor.from_pretrained(path, trust_remote_code=trust)
    model = AutoModelForImageTextToText.from_pretrained(path, dtype=torch.float32)
    image = Image.new("RGB", (120, 80), (0, 90, 200))
    conversation = [
        {
            "role": "user",
            "content": [{"type": "image", "image": image}, {"type": "text", "text": "What is this?"}],
        }
    ]
    inputs = processor.apply_chat_template(
        conversation, tokenize=True, return_dict=True, return_tensors="pt", add_generation_prompt=True
    )
    model.generate(**inputs, max_new_tokens=8, do_sample=False)  # warm-up: first calls pay one-off costs

    started = time.monotonic()
    output = model.generate(**inputs, max_new_tokens=32, do_sample=False)
    elapsed = time.monotonic() - started

    answer = processor.decode(output[0, inputs["input_ids"].shape[-1] :], skip_special_tokens=True)
    assert elapsed < 1.5
    assert answer.strip()
    # Special, control and broken-UTF-8 tokens are suppressed, so answers are plain printable text.
    assert all(" " <= char <= "~" for char in answer)
