"""The local transformers adapter, run for real on the tiny models."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from workers.adapters import (
    AdapterError,
    GenerationParams,
    GenerationStats,
    ImagePart,
    Message,
    ModelAdapter,
    TextPart,
    adapter_get,
)

ONE_OF_EACH = ("tiny-llava-64", "tiny-qwen2-vl-64")
GREEDY = GenerationParams(max_new_tokens=16, temperature=0.0)


@pytest.fixture(scope="module")
def adapters(tiny_models_dir: Any) -> dict[str, ModelAdapter]:
    return {
        spec.slug: adapter_get(
            key=f"test-local:{spec.slug}", kind=spec.adapter_kind, config=spec.adapter_config
        )
        for spec in tiny_models_dir.specs
    }


def _ask(text: str, *images: bytes) -> Message:
    return Message(
        role="user",
        content=(*(ImagePart(data=image, mime_type="image/png") for image in images), TextPart(text)),
    )


def _run(
    adapter: ModelAdapter,
    conversation: list[Message],
    params: GenerationParams = GREEDY,
    cancel: threading.Event | None = None,
) -> tuple[list[str], GenerationStats]:
    stats = GenerationStats()
    chunks = list(adapter.stream(conversation, params, stats=stats, cancel=cancel))
    return chunks, stats


@pytest.mark.parametrize("slug", ONE_OF_EACH)
def test_a_text_only_question_streams_non_empty_chunks(adapters: dict[str, ModelAdapter], slug: str) -> None:
    chunks, _ = _run(adapters[slug], [_ask("What do you see?")])

    assert len(chunks) > 1
    assert all(chunks)
    assert "".join(chunks).strip()


@pytest.mark.parametrize("slug", ONE_OF_EACH)
def test_an_image_question_streams_and_counts_the_image_in_the_prompt(
    adapters: dict[str, ModelAdapter], slug: str, png: bytes
) -> None:
    _, text_stats = _run(adapters[slug], [_ask("What do you see?")])
    chunks, image_stats = _run(adapters[slug], [_ask("What do you see?", png)])

    assert "".join(chunks).strip()
    assert image_stats.prompt_tokens is not None and text_stats.prompt_tokens is not None
    assert image_stats.prompt_tokens > text_stats.prompt_tokens + 2


@pytest.mark.parametrize("slug", ONE_OF_EACH)
def test_a_multi_turn_history_with_assistant_turns_is_answered(
    adapters: dict[str, ModelAdapter], slug: str, png: bytes
) -> None:
    conversation = [
        Message(role="system", content=(TextPart("Answer briefly."),)),
        _ask("What is in this picture?", png),
        Message(role="assistant", content=(TextPart("A red square."),)),
        _ask("And in this one?", png),
        Message(role="assistant", content=(TextPart("Another red square."),)),
        _ask("Are they the same?"),
    ]
    chunks, stats = _run(adapters[slug], conversation)
    _, last_turn_stats = _run(adapters[slug], conversation[-1:])

    assert "".join(chunks).strip()
    assert stats.prompt_tokens is not None and last_turn_stats.prompt_tokens is not None
    assert stats.prompt_tokens > last_turn_stats.prompt_tokens * 3


def test_stats_hold_token_counts_and_times_in_order(adapters: dict[str, ModelAdapter]) -> None:
    before = time.time()
    chunks, stats = _run(
        adapters["tiny-llava-128"], [_ask("Describe it.")], GenerationParams(max_new_tokens=12, temperature=0)
    )

    assert chunks
    assert stats.prompt_tokens is not None and stats.prompt_tokens > 3
    assert (
        stats.completion_tokens == 12
    )  # the tiny models never stop before 8 tokens, nor here before the limit
    assert stats.queued_at is not None and stats.started_at is not None
    assert stats.first_chunk_at is not None and stats.finished_at is not None
    assert before <= stats.queued_at <= stats.started_at <= stats.first_chunk_at <= stats.finished_at


def test_times_already_set_by_the_caller_are_kept(adapters: dict[str, ModelAdapter]) -> None:
    stats = GenerationStats(queued_at=1.0, started_at=2.0)

    list(adapters["tiny-llava-64"].stream([_ask("Hi")], GREEDY, stats=stats))

    assert (stats.queued_at, stats.started_at) == (1.0, 2.0)
    assert stats.finished_at is not None and stats.finished_at > 2.0


@pytest.mark.parametrize("slug", ONE_OF_EACH)
def test_the_same_seed_reproduces_a_sampled_answer(
    adapters: dict[str, ModelAdapter], slug: str, png: bytes
) -> None:
    seeded = GenerationParams(max_new_tokens=24, temperature=1.0, top_p=0.95, seed=1234)
    conversation = [_ask("Tell me a story about this.", png)]

    first, _ = _run(adapters[slug], conversation, seeded)
    second, _ = _run(adapters[slug], conversation, seeded)
    other, _ = _run(
        adapters[slug], conversation, GenerationParams(max_new_tokens=24, temperature=1.0, seed=99)
    )

    assert "".join(first) == "".join(second)
    assert "".join(other) != "".join(first)


def test_a_seeded_answer_is_unchanged_by_generations_running_alongside(
    adapters: dict[str, ModelAdapter],
) -> None:
    seeded = GenerationParams(max_new_tokens=24, temperature=1.0, seed=7)
    alone, _ = _run(adapters["tiny-qwen2-vl-64"], [_ask("Go on.")], seeded)
    stop = threading.Event()

    def keep_sampling_elsewhere() -> None:
        while not stop.is_set():
            _run(
                adapters["tiny-llava-64"],
                [_ask("Noise.")],
                GenerationParams(max_new_tokens=8, temperature=1.0),
            )

    noise = threading.Thread(target=keep_sampling_elsewhere)
    noise.start()
    try:
        together, _ = _run(adapters["tiny-qwen2-vl-64"], [_ask("Go on.")], seeded)
    finally:
        stop.set()
        noise.join()

    assert "".join(together) == "".join(alone)


def test_temperature_zero_decodes_greedily(adapters: dict[str, ModelAdapter]) -> None:
    first, _ = _run(adapters["tiny-llava-64"], [_ask("Once more.")])
    second, _ = _run(adapters["tiny-llava-64"], [_ask("Once more.")])

    assert "".join(first) == "".join(second)


def test_concurrent_streams_on_one_model_each_get_their_own_full_answer(
    adapters: dict[str, ModelAdapter],
) -> None:
    adapter = adapters["tiny-llava-128"]
    expected = {text: "".join(_run(adapter, [_ask(text)])[0]) for text in ("First?", "Second?", "Third?")}
    results: dict[str, str] = {}

    def ask(text: str) -> None:
        results[text] = "".join(_run(adapter, [_ask(text)])[0])

    threads = [threading.Thread(target=ask, args=(text,)) for text in expected]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == expected


def test_cancelling_mid_answer_stops_generation_early(adapters: dict[str, ModelAdapter]) -> None:
    cancel = threading.Event()
    stats = GenerationStats()
    received = []
    stream = adapters["tiny-qwen2-vl-192"].stream(
        [_ask("Talk for a long time.")],
        GenerationParams(max_new_tokens=400, temperature=0.0),
        stats=stats,
        cancel=cancel,
    )

    for chunk in stream:
        received.append(chunk)
        cancel.set()

    assert len(received) == 1
    assert stats.completion_tokens is not None and 1 <= stats.completion_tokens < 100
    assert stats.finished_at is not None


def test_a_cancel_before_the_start_yields_nothing(adapters: dict[str, ModelAdapter]) -> None:
    cancel = threading.Event()
    cancel.set()

    chunks, stats = _run(
        adapters["tiny-llava-64"], [_ask("Anything?")], GenerationParams(max_new_tokens=50), cancel
    )

    assert chunks == []
    assert stats.completion_tokens == 0


def test_a_stream_abandoned_midway_stops_generating_and_frees_the_model(
    adapters: dict[str, ModelAdapter],
) -> None:
    adapter = adapters["tiny-llava-64"]
    stats = GenerationStats()
    stream = adapter.stream(
        [_ask("Talk for a long time.")], GenerationParams(max_new_tokens=2000, temperature=0.0), stats=stats
    )
    assert isinstance(stream, Generator)
    next(stream)

    stream.close()  # what a consumer that stops iterating does, explicitly or by dropping the iterator
    chunks, _ = _run(adapter, [_ask("Next voter.")])

    assert stats.completion_tokens is not None and stats.completion_tokens < 200
    assert chunks


def test_a_failure_inside_generation_surfaces_as_adapter_error(adapters: dict[str, ModelAdapter]) -> None:
    with pytest.raises(AdapterError, match=r"failed while generating: .*max_new_tokens"):
        _run(adapters["tiny-llava-64"], [_ask("Hi")], GenerationParams(max_new_tokens=0))


def test_an_unreadable_image_gives_a_readable_error(adapters: dict[str, ModelAdapter]) -> None:
    with pytest.raises(AdapterError, match=r"image \(image/png\) could not be read"):
        _run(adapters["tiny-llava-64"], [_ask("What is it?", b"not a png at all")])


def test_an_empty_conversation_gives_a_readable_error(adapters: dict[str, ModelAdapter]) -> None:
    with pytest.raises(AdapterError, match="conversation is empty"):
        _run(adapters["tiny-llava-64"], [])


def test_a_missing_model_directory_gives_a_readable_error(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"

    with pytest.raises(AdapterError, match=f"model directory '{missing}' does not exist"):
        adapter_get(key="test-local:missing", kind="transformers", config={"path": str(missing)})


def test_a_model_directory_with_broken_weights_gives_a_readable_error(
    tiny_models_dir: Any, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(tiny_models_dir.dir / "tiny-llava-64", broken)
    (broken / "model.safetensors").write_bytes(b"\x00" * 64)

    with pytest.raises(AdapterError, match=f"model at '{broken}' could not be loaded: .+") as caught:
        adapter_get(key="test-local:broken", kind="transformers", config={"path": str(broken)})

    assert "\n" not in str(caught.value) and len(str(caught.value)) < 500


def test_a_model_directory_without_config_gives_a_readable_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()

    with pytest.raises(AdapterError, match=r"could not be loaded: .+"):
        adapter_get(key="test-local:empty", kind="transformers", config={"path": str(tmp_path / "empty")})


@pytest.mark.parametrize("slug", ONE_OF_EACH)
def test_a_greedy_batch_answers_each_conversation_as_it_is_answered_alone(
    adapters: dict[str, ModelAdapter], slug: str, png: bytes
) -> None:
    questions = ["What colour is it?", "Is there a red square somewhere in this picture?", "Count them."]
    conversations = [[_ask(question, png)] for question in questions]
    alone = ["".join(_run(adapters[slug], conversation)[0]) for conversation in conversations]

    batched = adapters[slug].answers_batch(conversations, GREEDY)

    assert batched is not None
    assert [text.strip() for text in batched] == [text.strip() for text in alone]
    assert all(text.strip() for text in batched)


def test_a_batch_it_cannot_form_is_left_to_the_caller(adapters: dict[str, ModelAdapter], png: bytes) -> None:
    adapter = adapters["tiny-llava-64"]
    mixed = [[_ask("What do you see?", png)], [_ask("What do you see?")]]
    sampled = GenerationParams(max_new_tokens=8, temperature=0.7, seed=1)

    assert adapter.answers_batch(mixed, GREEDY) is None, "rows with different image counts"
    assert adapter.answers_batch([[_ask("a", png)], [_ask("b", png)]], sampled) is None, "sampling"
    assert adapter.answers_batch([[_ask("a", png)]], GREEDY) is None, "one conversation"
