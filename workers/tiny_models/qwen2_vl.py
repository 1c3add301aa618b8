"""Qwen2-VL-style tiny models: Qwen2-VL's own vision encoder and M-RoPE text model, at toy sizes."""

from __future__ import annotations

from pathlib import Path
from typing import Final

import torch
from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration, Qwen2VLImageProcessorPil

from workers.tiny_models.generation_defaults import generation_config_build
from workers.tiny_models.qwen2_vl_processing import TinyQwen2VLProcessor
from workers.tiny_models.recipes import PATCH_SIZE, TinyRecipe
from workers.tiny_models.tokenizer_training import token_id_get, tokenizer_train

END_OF_TEXT, IM_END = "<|endoftext|>", "<|im_end|>"
SPECIAL_TOKENS: Final = (
    END_OF_TEXT,
    "<|im_start|>",
    IM_END,
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
MERGE_SIZE: Final = 2  # 2x2 patches become one text position

# Qwen's ChatML; the processor widens each <|image_pad|> or <|video_pad|> to its number of merged patches.
CHAT_TEMPLATE: Final = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}{{ '<|vision_start|><|image_pad|><|vision_end|>' }}"
    "{% elif part['type'] == 'video' %}{{ '<|vision_start|><|video_pad|><|vision_end|>' }}"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{{ '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def _mrope_section(*, head_dim: int) -> list[int]:
    # Qwen2-VL splits each head's rotary frequencies 2:3:3 between time, height and width.
    eighth = head_dim // 2 // 8
    return [2 * eighth, 3 * eighth, 3 * eighth]


def qwen2_vl_model_save(*, recipe: TinyRecipe, target: Path) -> None:
    tokenizer = tokenizer_train(
        special_tokens=SPECIAL_TOKENS,
        vocab_size=recipe.vocab_size,
        seed=recipe.seed,
        eos_token=IM_END,
        pad_token=END_OF_TEXT,
        chat_template=CHAT_TEMPLATE,
    )

    def token_id(token: str) -> int:
        return token_id_get(tokenizer=tokenizer, token=token)

    config = Qwen2VLConfig(
        text_config={
            "vocab_size": len(tokenizer),
            "hidden_size": recipe.hidden_size,
            "intermediate_size": recipe.hidden_size * 2,
            "num_hidden_layers": recipe.layers,
            "num_attention_heads": recipe.heads,
            "num_key_value_heads": recipe.heads // 2,
            "max_position_embeddings": 4096,
            "rope_parameters": {
                "rope_type": "default",
                "rope_theta": 10000.0,
                "mrope_section": _mrope_section(head_dim=recipe.hidden_size // recipe.heads),
            },
            "bos_token_id": tokenizer.pad_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        },
        vision_config={
            "depth": recipe.vision_layers,
            "embed_dim": recipe.vision_hidden_size,
            "hidden_size": recipe.hidden_size,
            "num_heads": 2,
            "mlp_ratio": 2,
            "patch_size": PATCH_SIZE,
            "spatial_merge_size": MERGE_SIZE,
            "temporal_patch_size": 2,
        },
        image_token_id=token_id("<|image_pad|>"),
        video_token_id=token_id("<|video_pad|>"),
        vision_start_token_id=token_id("<|vision_start|>"),
        vision_end_token_id=token_id("<|vision_end|>"),
    )
    with torch.random.fork_rng():
        torch.manual_seed(recipe.seed)
        model = Qwen2VLForConditionalGeneration(config).eval()
    model.generation_config = generation_config_build(tokenizer=tokenizer)
    smallest = (PATCH_SIZE * MERGE_SIZE * 2) ** 2
    processor = TinyQwen2VLProcessor(
        image_processor=Qwen2VLImageProcessorPil(
            size={"shortest_edge": smallest, "longest_edge": max(smallest, recipe.image_size**2)},
            patch_size=PATCH_SIZE,
            merge_size=MERGE_SIZE,
        ),
        tokenizer=tokenizer,
        chat_template=CHAT_TEMPLATE,
    )
    model.save_pretrained(target)
    processor.save_pretrained(target)
