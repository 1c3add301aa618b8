"""Tiny random-weight multimodal models, built offline in seconds, for demos and tests.

LLaVA-style (images) and Qwen2-VL-style (images and video), two sizes each, and a Qwen2-Audio-style
model (audio); they load through the normal `transformers` adapter path. Importing this package needs
no torch; building does.
"""

from workers.tiny_models.build import tiny_model_build, tiny_models_build
from workers.tiny_models.recipes import TINY_RECIPES, TinyRecipe
from workers.tiny_models.specs import TinyModelSpec, tiny_model_specs

__all__ = [
    "TINY_RECIPES",
    "TinyModelSpec",
    "TinyRecipe",
    "tiny_model_build",
    "tiny_model_specs",
    "tiny_models_build",
]
