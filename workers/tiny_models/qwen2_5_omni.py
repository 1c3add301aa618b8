"""Qwen2.5-Omni-style tiny thinkers: Qwen2.5-VL vision, a Whisper-style audio encoder and a Qwen2 text
model with time-aligned M-RoPE, at toy sizes; the speaking half (talker, token2wav) is left out."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import torch
from transformers import (
    Qwen2_5OmniThinkerConfig,
    Qwen2_5OmniThinkerForConditionalGeneration,
    Qwen2VLImageProcessorPil,
    WhisperFeatureExtractor,
)

from workers.tiny_models.generation_defaults import generation_config_build
from workers.tiny_models.qwen2_vl_processing import OMNI_TOKENS, TinyQwen2_5OmniProcessor
from workers.tiny_models.recipes import PATCH_SIZE, TinyRecipe
from workers.tiny_models.tokenizer_training import token_id_get, tokenizer_train

END_OF_TEXT, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
SPECIAL_TOKENS: Final = (END_OF_TEXT, IM_START, IM_END, *OMNI_TOKENS.values())
MERGE_SIZE: Final = 2
MEL_BINS: Final = 80

# Qwen's ChatML with Omni's markers; the processor widens each placeholder to its number of positions.
CHAT_TEMPLATE: Final = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}{{ '<|vision_bos|><|IMAGE|><|vision_eos|>' }}"
    "{% elif part['type'] == 'video' %}{{ '<|vision_bos|><|VIDEO|><|vision_eos|>' }}"
    "{% elif part['type'] == 'audio' %}{{ '<|audio_bos|><|AUDIO|><|audio_eos|>' }}"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{{ '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def qwen2_5_omni_model_save(*, recipe: TinyRecipe, target: Path) -> None:
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

    head_eighth = recipe.hidden_size // recipe.heads // 2 // 8
    # Read by the thinker's position code and by generation, though the config class does not declare them.
    extra: dict[str, Any] = {
        "vision_start_token_id": token_id(OMNI_TOKENS["vision_bos_token"]),
        "vision_end_token_id": token_id(OMNI_TOKENS["vision_eos_token"]),
        "bos_token_id": tokenizer.pad_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    config = Qwen2_5OmniThinkerConfig(
        audio_config={
            "num_mel_bins": MEL_BINS,
            "d_model": recipe.vision_hidden_size,
            "encoder_layers": recipe.vision_layers,
            "encoder_attention_heads": 2,
            "encoder_ffn_dim": recipe.vision_hidden_size * 2,
            "output_dim": recipe.hidden_size,
        },
        vision_config={
            "depth": recipe.vision_layers,
            "hidden_size": recipe.vision_hidden_size,
            "intermediate_size": recipe.vision_hidden_size * 2,
            "num_heads": 2,
            "out_hidden_size": recipe.hidden_size,
            "patch_size": PATCH_SIZE,
            "spatial_merge_size": MERGE_SIZE,
            "temporal_patch_size": 2,
            "window_size": PATCH_SIZE * MERGE_SIZE * 2,
            "fullatt_block_indexes": [recipe.vision_layers - 1],
        },
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
                # Time, height and width share each head's rotary frequencies 2:3:3, as in Qwen2-VL.
                "mrope_section": [2 * head_eighth, 3 * head_eighth, 3 * head_eighth],
            },
            "bos_token_id": tokenizer.pad_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        },
        audio_token_index=token_id(OMNI_TOKENS["audio_token"]),
        image_token_index=token_id(OMNI_TOKENS["image_token"]),
        video_token_index=token_id(OMNI_TOKENS["video_token"]),
        audio_start_token_id=token_id(OMNI_TOKENS["audio_bos_token"]),
        audio_end_token_id=token_id(OMNI_TOKENS["audio_eos_token"]),
        user_token_id=token_id(IM_START),
        **extra,
    )
    with torch.random.fork_rng():
        torch.manual_seed(recipe.seed)
        model = Qwen2_5OmniThinkerForConditionalGeneration(config).eval()
    model.generation_config = generation_config_build(tokenizer=tokenizer)
    smallest = (PATCH_SIZE * MERGE_SIZE * 2) ** 2
    processor = TinyQwen2_5OmniProcessor(
        image_processor=Qwen2VLImageProcessorPil(
            size={"shortest_edge": smallest, "longest_edge": max(smallest, recipe.image_size**2)},
            patch_size=PATCH_SIZE,
            merge_size=MERGE_SIZE,
        ),
        feature_extractor=WhisperFeatureExtractor(feature_size=MEL_BINS),
        tokenizer=tokenizer,
        chat_template=CHAT_TEMPLATE,
    )
    model.save_pretrained(target)
    processor.save_pretrained(target)
