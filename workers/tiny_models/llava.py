"""LLaVA-style tiny models: a CLIP vision tower and a Llama text model joined by LLaVA's projector."""

from __future__ import annotations

from pathlib import Path
from typing import Final

import torch
from transformers import (
    CLIPImageProcessorPil,
    CLIPVisionConfig,
    LlamaConfig,
    LlavaConfig,
    LlavaForConditionalGeneration,
    LlavaProcessor,
)

from workers.tiny_models.generation_defaults import generation_config_build
from workers.tiny_models.recipes import PATCH_SIZE, TinyRecipe
from workers.tiny_models.tokenizer_training import token_id_get, tokenizer_train

PAD, BOS, EOS, IMAGE = "<pad>", "<s>", "</s>", "<image>"
SPECIAL_TOKENS: Final = (PAD, BOS, EOS, IMAGE)

# LLaVA-1.5's plain "USER: ... ASSISTANT:" format; each image becomes one <image> line.
CHAT_TEMPLATE: Final = (
    "{% for message in messages %}"
    "{{ message['role'].upper() + ': ' }}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'image' %}{{ '<image>\n' }}"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{% if message['role'] == 'assistant' %}{{ '</s>' }}{% endif %}{{ '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
)


def llava_model_save(*, recipe: TinyRecipe, target: Path) -> None:
    tokenizer = tokenizer_train(
        special_tokens=SPECIAL_TOKENS,
        vocab_size=recipe.vocab_size,
        seed=recipe.seed,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        chat_template=CHAT_TEMPLATE,
    )
    patches_per_side = recipe.image_size // PATCH_SIZE
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(
            hidden_size=recipe.vision_hidden_size,
            intermediate_size=recipe.vision_hidden_size * 2,
            num_hidden_layers=recipe.vision_layers,
            num_attention_heads=2,
            image_size=recipe.image_size,
            patch_size=PATCH_SIZE,
            projection_dim=recipe.vision_hidden_size,
        ),
        text_config=LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=recipe.hidden_size,
            intermediate_size=recipe.hidden_size * 2,
            num_hidden_layers=recipe.layers,
            num_attention_heads=recipe.heads,
            num_key_value_heads=recipe.heads // 2,
            max_position_embeddings=4096,
            bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id,
            pad_token_id=tokenizer.pad_token_id,
        ),
        image_token_index=token_id_get(tokenizer=tokenizer, token=IMAGE),
        image_seq_length=patches_per_side**2,
        vision_feature_select_strategy="default",  # drop CLIP's class token: one text position per patch
        vision_feature_layer=-1,
    )
    with torch.random.fork_rng():
        torch.manual_seed(recipe.seed)
        model = LlavaForConditionalGeneration(config).eval()
    model.generation_config = generation_config_build(tokenizer=tokenizer)
    processor = LlavaProcessor(
        image_processor=CLIPImageProcessorPil(
            size={"shortest_edge": recipe.image_size},
            crop_size={"height": recipe.image_size, "width": recipe.image_size},
        ),
        tokenizer=tokenizer,
        patch_size=PATCH_SIZE,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=CHAT_TEMPLATE,
    )
    model.save_pretrained(target)
    processor.save_pretrained(target)
