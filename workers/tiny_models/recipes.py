"""What distinguishes each tiny demo model: architecture, size and seed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

PATCH_SIZE: Final = 14  # the vision patch side of both architectures, in pixels


@dataclass(frozen=True)
class TinyRecipe:
    slug: str
    display_name: str
    architecture: Literal["llava", "qwen2_vl", "qwen2_audio", "qwen2_5_omni"]
    seed: int
    hidden_size: int
    layers: int
    heads: int
    vision_hidden_size: int  # the vision encoder's width; the audio encoder's for an audio model
    vision_layers: int
    image_size: int  # pixels per side: LLaVA's fixed input, Qwen2-VL's largest (0 for audio)
    vocab_size: int  # the BPE target; the small corpus may leave the real vocabulary a little smaller
    # What a prompt may hold for this model, as the arena's Model.modalities lists them.
    modalities: tuple[str, ...] = ("image", "text")


TINY_RECIPES: Final = (
    TinyRecipe(
        slug="tiny-llava-64",
        display_name="Tiny LLaVA-style 64",
        architecture="llava",
        seed=101,
        hidden_size=64,
        layers=2,
        heads=4,
        vision_hidden_size=32,
        vision_layers=2,
        image_size=56,
        vocab_size=1024,
    ),
    TinyRecipe(
        slug="tiny-llava-128",
        display_name="Tiny LLaVA-style 128",
        architecture="llava",
        seed=202,
        hidden_size=128,
        layers=3,
        heads=4,
        vision_hidden_size=64,
        vision_layers=2,
        image_size=84,
        vocab_size=1536,
    ),
    TinyRecipe(
        slug="tiny-qwen2-vl-64",
        display_name="Tiny Qwen2-VL-style 64",
        architecture="qwen2_vl",
        seed=303,
        hidden_size=64,
        layers=2,
        heads=4,
        vision_hidden_size=32,
        vision_layers=2,
        image_size=56,
        vocab_size=1024,
        modalities=("image", "text", "video"),
    ),
    TinyRecipe(
        slug="tiny-qwen2-vl-192",
        display_name="Tiny Qwen2-VL-style 192",
        architecture="qwen2_vl",
        seed=404,
        hidden_size=192,
        layers=4,
        heads=4,
        vision_hidden_size=64,
        vision_layers=2,
        image_size=112,
        vocab_size=2048,
        modalities=("image", "text", "video"),
    ),
    TinyRecipe(
        slug="tiny-qwen2-audio-64",
        display_name="Tiny Qwen2-Audio-style 64",
        architecture="qwen2_audio",
        seed=505,
        hidden_size=64,
        layers=2,
        heads=4,
        vision_hidden_size=32,
        vision_layers=2,
        image_size=0,
        vocab_size=1024,
        modalities=("audio", "text"),
    ),
    TinyRecipe(
        slug="tiny-qwen2-5-omni-64",
        display_name="Tiny Qwen2.5-Omni-style 64",
        architecture="qwen2_5_omni",
        seed=606,
        hidden_size=64,
        layers=2,
        heads=4,
        vision_hidden_size=32,
        vision_layers=2,
        image_size=56,
        vocab_size=1024,
        modalities=("audio", "image", "text", "video"),
    ),
)
