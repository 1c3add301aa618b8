"""The generation runner: one model, one conversation, chunks handed on, every failure a sentence."""

from __future__ import annotations

import threading
from typing import Any

from workers.adapters.base import GenerationParams, GenerationStats, ImagePart, Message, TextPart
from workers.runner import (
    GENERIC_FAILURE,
    TIMEOUT_FAILURE,
    GenerationOutcome,
    ModelSpec,
    answers_run,
    generation_run,
)

QUESTION = (Message(role="user", content=(TextPart("What is in the picture?"),)),)


def _run(
    model: ModelSpec, *, time_limit_s: float = 60, max_new_tokens: int = 12
) -> tuple[list[str], GenerationOutcome]:
    chunks: list[str] = []
    stats = GenerationStats()
    stats.mark_started()
    outcome = generation_run(
        model=model,
        conversation=QUESTION,
        params=GenerationParams(max_new_tokens=max_new_tokens, seed=1),
        stats=stats,
        on_chunk=chunks.append,
        time_limit_s=time_limit_s,
    )
    assert stats.finished_at is not None and stats.finished_at >= (stats.started_at or 0)
    return chunks, outcome


def test_a_tiny_model_streams_its_answer_to_the_caller(tiny_models_dir):
    spec = tiny_models_dir.specs[0]
    chunks, outcome = _run(ModelSpec(key=spec.slug, kind=spec.adapter_kind, config=spec.adapter_config))
    assert outcome.error is None
    assert chunks and "".join(chunks)


def test_past_the_time_limit_the_answer_stops_with_the_timeout_sentence(tiny_models_dir):
    spec = tiny_models_dir.specs[0]
    model = ModelSpec(key=spec.slug, kind=spec.adapter_kind, config=spec.adapter_config)
    chunks, outcome = _run(model, time_limit_s=0, max_new_tokens=64)
    assert outcome.error == TIMEOUT_FAILURE
    assert len(chunks) == 1, "the first chunk past the deadline cancels the rest"


def test_a_model_that_cannot_load_fails_with_the_adapters_sentence(tmp_path):
    missing = ModelSpec(key="missing-model", kind="transformers", config={"path": str(tmp_path / "nothing")})
    chunks, outcome = _run(missing)
    assert chunks == []
    assert outcome.error and outcome.error != GENERIC_FAILURE


def test_a_failure_of_the_caller_is_an_internal_error_not_a_crash(tiny_models_dir):
    spec = tiny_models_dir.specs[0]
    stats = GenerationStats()

    def broken(chunk: str) -> None:
        raise RuntimeError("the caller could not store the chunk")

    outcome = generation_run(
        model=ModelSpec(key=spec.slug, kind=spec.adapter_kind, config=spec.adapter_config),
        conversation=QUESTION,
        params=GenerationParams(max_new_tokens=8),
        stats=stats,
        on_chunk=broken,
        time_limit_s=60,
    )
    assert outcome.error == GENERIC_FAILURE


def test_a_generation_the_caller_cancels_stops_and_says_it_was_cancelled():
    slow = ModelSpec(
        key="runner-slow", kind="scripted", config={"text": "a b c d e f g h", "tokens_per_s": 2}
    )
    chunks: list[str] = []
    cancel = threading.Event()

    def on_chunk(chunk: str) -> None:
        chunks.append(chunk)
        cancel.set()  # as another thread would, once the first word arrived

    outcome = generation_run(
        model=slow,
        conversation=QUESTION,
        params=GenerationParams(max_new_tokens=8),
        stats=GenerationStats(),
        on_chunk=on_chunk,
        time_limit_s=60,
        cancel=cancel,
    )

    assert outcome == GenerationOutcome(error=None, cancelled=True)
    assert chunks == ["a "]


def test_an_uncancelled_generation_is_not_called_cancelled_even_when_it_times_out(tiny_models_dir):
    spec = tiny_models_dir.specs[0]
    model = ModelSpec(key=spec.slug, kind=spec.adapter_kind, config=spec.adapter_config)
    _, finished = _run(model)
    _, timed_out = _run(model, time_limit_s=0, max_new_tokens=64)
    assert finished.cancelled is False
    assert timed_out == GenerationOutcome(error=TIMEOUT_FAILURE, cancelled=False)


def test_a_batch_with_an_unreadable_image_is_asked_one_by_one_so_only_that_one_fails(
    tiny_models_dir: Any, png: bytes
) -> None:
    spec = tiny_models_dir.spec("tiny-llava-64")
    model = ModelSpec(key=f"runner-batch:{spec.slug}", kind=spec.adapter_kind, config=spec.adapter_config)

    def ask(image: bytes) -> list[Message]:
        return [Message(role="user", content=(ImagePart(data=image, mime_type="image/png"), TextPart("Hi?")))]

    outcomes = answers_run(
        model=model,
        conversations=[ask(png), ask(b"not an image"), ask(png)],
        params=GenerationParams(max_new_tokens=6, temperature=0.0),
        time_limit_s=60,
    )

    assert [outcome.error is None for outcome in outcomes] == [True, False, True]
    assert outcomes[0].text.strip() and outcomes[0].text == outcomes[2].text
    assert outcomes[1].text == "" and "image" in (outcomes[1].error or "").lower()
