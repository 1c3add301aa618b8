"""Generation settings saved with each tiny model, so random weights give readable, non-empty answers."""

from __future__ import annotations

from transformers import GenerationConfig, PreTrainedTokenizerFast

from workers.tiny_models.tokenizer_training import token_ids_unprintable

# Random weights may well rank the end token first; a few words make an answer worth showing.
MIN_NEW_TOKENS = 8
# Random weights otherwise tend to repeat one token forever under greedy decoding.
REPETITION_PENALTY = 1.3


def generation_config_build(*, tokenizer: PreTrainedTokenizerFast) -> GenerationConfig:
    eos_id = tokenizer.eos_token_id
    return GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=eos_id,
        pad_token_id=tokenizer.pad_token_id,
        max_new_tokens=256,
        # Servers that pass a request's temperature on (transformers serve) only sample when this is on.
        do_sample=True,
        min_new_tokens=MIN_NEW_TOKENS,
        repetition_penalty=REPETITION_PENALTY,
        suppress_tokens=token_ids_unprintable(tokenizer=tokenizer, keep=[eos_id]),
    )
