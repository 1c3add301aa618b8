"""Byte-level BPE tokenizers trained in memory, in milliseconds, for the tiny models."""

from __future__ import annotations

from collections.abc import Sequence

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from workers.tiny_models.corpus import corpus_sentences

_PRINTABLE = frozenset(chr(code) for code in range(0x20, 0x7F))


def tokenizer_train(
    *,
    special_tokens: Sequence[str],
    vocab_size: int,
    seed: int,
    eos_token: str,
    pad_token: str,
    bos_token: str | None = None,
    chat_template: str,
) -> PreTrainedTokenizerFast:
    """A fast tokenizer whose first ids are `special_tokens`, in order, with `chat_template` attached."""
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(special_tokens),
        # Every byte stays encodable, so any prompt (accents, emoji) tokenizes without unknown tokens.
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(corpus_sentences(seed=seed, count=3000), trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token=bos_token,
        eos_token=eos_token,
        pad_token=pad_token,
        extra_special_tokens=[
            token for token in special_tokens if token not in (bos_token, eos_token, pad_token)
        ],
        chat_template=chat_template,
    )


def token_id_get(*, tokenizer: PreTrainedTokenizerFast, token: str) -> int:
    found = tokenizer.convert_tokens_to_ids(token)
    if not isinstance(found, int):
        raise ValueError(f"{token!r} is not a single token")
    return found


def token_ids_unprintable(*, tokenizer: PreTrainedTokenizerFast, keep: Sequence[int]) -> list[int]:
    """Ids that would show as special tokens, control characters or broken UTF-8: kept out of answers."""
    special = set(tokenizer.all_special_ids)
    unprintable = []
    for token_id in range(len(tokenizer)):
        if token_id in keep:
            continue
        text = tokenizer.decode([token_id])
        if token_id in special or not text or not set(text) <= _PRINTABLE:
            unprintable.append(token_id)
    return unprintable
