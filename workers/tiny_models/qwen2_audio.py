"""Qwen2-Audio-style tiny models: a Whisper-style audio encoder feeding a Qwen2 text model, at toy sizes."""

from __future__ import annotations

from pathlib import Path
from typing import Final

import torch
from transformers import (
    Qwen2AudioConfig,
    Qwen2AudioForConditionalGeneration,
    Qwen2AudioProcessor,
    WhisperFeatureExtractor,
)

from workers.tiny_models.generation_defaults import generation_config_build
from workers.tiny_models.recipes import TinyRecipe
from workers.tiny_models.tokenizer_training import token_id_get, tokenizer_train

END_OF_TEXT, IM_END = "<|endoftext|>", "<|im_end|>"
AUDIO_TOKEN, AUDIO_BOS, AUDIO_EOS = "<|AUDIO|>", "<|audio_bos|>", "<|audio_eos|>"
SPECIAL_TOKENS: Final = (END_OF_TEXT, "<|im_start|>", IM_END, AUDIO_BOS, AUDIO_TOKEN, AUDIO_EOS)
MEL_BINS: Final = 80  # Qwen2-Audio's Whisper front end
# Whisper's window: 30 s of 16 kHz audio is 3000 feature frames, 1500 encoder positions.
MAX_SOURCE_POSITIONS: Final = 1500

# Qwen's ChatML; the processor widens each <|AUDIO|> to the clip's number of encoder positions.
CHAT_TEMPLATE: Final = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'audio' %}{{ '<|audio_bos|><|AUDIO|><|audio_eos|>' }}"
    "{% elif part['type'] == 'text' %}{{ part['text'] }}{% endif %}"
    "{% endfor %}{% endif %}"
    "{{ '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def qwen2_audio_model_save(*, recipe: TinyRecipe, target: Path) -> None:
    tokenizer = tokenizer_train(
        special_tokens=SPECIAL_TOKENS,
        vocab_size=recipe.vocab_size,
        seed=recipe.seed,
        eos_token=IM_END,
        pad_token=END_OF_TEXT,
        chat_template=CHAT_TEMPLATE,
    )
    config = Qwen2AudioConfig(
        audio_config={
            "num_mel_bins": MEL_BINS,
            "d_model": recipe.vision_hidden_size,
            "encoder_layers": recipe.vision_layers,
            "encoder_attention_heads": 2,
            "encoder_ffn_dim": recipe.vision_hidden_size * 2,
            "max_source_positions": MAX_SOURCE_POSITIONS,
        },
        text_config={
            "model_type": "qwen2",
            "vocab_size": len(tokenizer),
            "hidden_size": recipe.hidden_size,
            "intermediate_size": recipe.hidden_size * 2,
            "num_hidden_layers": recipe.layers,
            "num_attention_heads": recipe.heads,
            "num_key_value_heads": recipe.heads // 2,
            "max_position_embeddings": 4096,
            "bos_token_id": tokenizer.pad_token_id,
            "eos_token_id": tokenizer.eos_token_id,
            "pad_token_id": tokenizer.pad_token_id,
        },
        audio_token_index=token_id_get(tokenizer=tokenizer, token=AUDIO_TOKEN),
    )
    with torch.random.fork_rng():
        torch.manual_seed(recipe.seed)
        model = Qwen2AudioForConditionalGeneration(config).eval()
    model.generation_config = generation_config_build(tokenizer=tokenizer)
    processor = Qwen2AudioProcessor(
        feature_extractor=WhisperFeatureExtractor(feature_size=MEL_BINS),
        tokenizer=tokenizer,
        chat_template=CHAT_TEMPLATE,
        audio_token=AUDIO_TOKEN,
        audio_bos_token=AUDIO_BOS,
        audio_eos_token=AUDIO_EOS,
    )
    model.save_pretrained(target)
    processor.save_pretrained(target)
