"""The scripted adapter: configured text, paced, cancellable, failing on request, with no ML library."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from workers.adapters import (
    AdapterConfigError,
    AdapterError,
    GenerationParams,
    GenerationStats,
    ImagePart,
    Message,
    TextPart,
    adapter_config_validate,
    adapter_get,
)
from workers.adapters.scripted import ScriptedAdapter, text_chunks_split
from workers.adapters.settings import SCRIPTED_DEFAULT_TEXT, ScriptedSettings
from workers.runner import ModelSpec, generation_run

REPO_ROOT = Path(__file__).resolve().parents[2]
TEXT = "One two  three,\nfour five."


def _conversation(*prompts: str) -> list[Message]:
    return [Message(role="user", content=(TextPart(text=prompt),)) for prompt in prompts]


def _adapter(**config: Any) -> ScriptedAdapter:
    adapter = adapter_get(key=f"test-scripted:{sorted(config.items())}", kind="scripted", config=config)
    assert isinstance(adapter, ScriptedAdapter)
    return adapter


def _answer(
    adapter: ScriptedAdapter, *prompts: str, params: GenerationParams | None = None
) -> tuple[list[str], GenerationStats]:
    stats = GenerationStats()
    conversation = _conversation(*(prompts or ("Hi",)))
    chunks = list(adapter.stream(conversation, params or GenerationParams(), stats=stats))
    return chunks, stats


def test_the_text_streams_in_word_chunks_that_join_to_the_configured_text() -> None:
    chunks, _ = _answer(_adapter(text=TEXT))

    assert chunks == ["One ", "two  ", "three,\n", "four ", "five."]
    assert "".join(chunks) == TEXT


def test_char_chunks_are_one_character_each() -> None:
    chunks, _ = _answer(_adapter(text=TEXT, chunk="char"))

    assert chunks == list(TEXT)


def test_without_text_the_fixed_default_paragraph_is_answered() -> None:
    chunks, _ = _answer(_adapter())

    assert "".join(chunks) == SCRIPTED_DEFAULT_TEXT
    assert len(chunks) == len(SCRIPTED_DEFAULT_TEXT.split())


def test_leading_and_trailing_spaces_of_the_text_are_kept() -> None:
    assert text_chunks_split(text="  a b \n", chunk="word") == ["  a ", "b \n"]


def test_stats_count_the_conversations_words_and_the_chunks_sent() -> None:
    stats = GenerationStats()
    conversation = [
        Message(role="system", content=(TextPart(text="Be brief."),)),
        Message(
            role="user",
            content=(TextPart(text="What is  this?"), ImagePart(data=b"x", mime_type="image/png")),
        ),
    ]

    chunks = list(_adapter(text=TEXT).stream(conversation, GenerationParams(), stats=stats))

    assert stats.prompt_tokens == 5
    assert stats.completion_tokens == len(chunks) == 5
    assert stats.started_at is not None and stats.first_chunk_at is not None and stats.finished_at is not None
    assert stats.started_at <= stats.first_chunk_at <= stats.finished_at


def test_max_new_tokens_cuts_the_answer_like_a_models() -> None:
    chunks, stats = _answer(_adapter(text=TEXT), params=GenerationParams(max_new_tokens=2))

    assert chunks == ["One ", "two  "]
    assert stats.completion_tokens == 2


def test_tokens_per_s_paces_the_chunks() -> None:
    adapter = _adapter(text=" ".join(["word"] * 20), tokens_per_s=200)

    started = time.monotonic()
    chunks, _ = _answer(adapter)
    elapsed = time.monotonic() - started

    assert len(chunks) == 20
    assert elapsed >= 0.09  # 19 intervals of 5 ms after the first chunk


def test_first_token_delay_holds_back_the_first_chunk() -> None:
    stream = _adapter(text=TEXT, first_token_delay_s=0.2).stream(
        _conversation("Hi"), GenerationParams(), stats=GenerationStats()
    )

    started = time.monotonic()
    first = next(iter(stream))
    waited = time.monotonic() - started

    assert first == "One "
    assert waited >= 0.18


def test_a_cancel_mid_stream_stops_it_within_a_few_chunks() -> None:
    cancel = threading.Event()
    stats = GenerationStats()
    stream = _adapter(text=" ".join(["word"] * 200), tokens_per_s=50).stream(
        _conversation("Hi"), GenerationParams(max_new_tokens=1000), stats=stats, cancel=cancel
    )

    chunks = []
    for chunk in stream:
        chunks.append(chunk)
        if len(chunks) == 3:
            cancel.set()

    assert 3 <= len(chunks) <= 5
    assert stats.completion_tokens == len(chunks)
    assert stats.finished_at is not None


class _CancelledOnWait(threading.Event):
    """Records how long the adapter asked to wait, and cancels instead of waiting."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        self.set()
        return True


def test_the_first_token_delay_is_waited_on_the_cancel_event_so_a_cancel_ends_it() -> None:
    cancel = _CancelledOnWait()
    stats = GenerationStats()

    chunks = list(
        _adapter(text=TEXT, first_token_delay_s=3600).stream(
            _conversation("Hi"), GenerationParams(), stats=stats, cancel=cancel
        )
    )

    assert chunks == []
    assert len(cancel.waits) == 1 and cancel.waits[0] == pytest.approx(3600, abs=5)
    assert stats.completion_tokens == 0


def test_fail_raises_its_message_after_the_whole_text() -> None:
    stream = _adapter(text=TEXT, fail="The scripted model broke on purpose.").stream(
        _conversation("Hi"), GenerationParams(), stats=GenerationStats()
    )
    chunks = []

    with pytest.raises(AdapterError, match=r"^The scripted model broke on purpose\.$"):
        for chunk in stream:
            chunks.append(chunk)

    assert "".join(chunks) == TEXT


def test_through_the_runner_a_failing_side_keeps_its_text_and_reports_the_sentence() -> None:
    chunks: list[str] = []

    outcome = generation_run(
        model=ModelSpec(key="test-scripted:runner", kind="scripted", config={"text": TEXT, "fail": "Down."}),
        conversation=_conversation("Hi"),
        params=GenerationParams(),
        stats=GenerationStats(),
        on_chunk=chunks.append,
        time_limit_s=60,
    )

    assert outcome.error == "Down."
    assert "".join(chunks) == TEXT


def test_echo_appends_the_last_user_message_so_answers_differ_per_prompt() -> None:
    adapter = _adapter(text="You asked:", echo=True)

    first, _ = _answer(adapter, "an earlier question", "What colour is the cat?")
    second, _ = _answer(adapter, "Is it raining?")

    assert "".join(first) == "You asked:\n\nWhat colour is the cat?"
    assert "earlier" not in "".join(first)
    assert "".join(second) == "You asked:\n\nIs it raining?"


def test_the_registry_builds_and_keeps_a_scripted_adapter() -> None:
    first = adapter_get(key="test-scripted:registry", kind="scripted", config={"tokens_per_s": 200})
    second = adapter_get(key="test-scripted:registry", kind="scripted", config={"tokens_per_s": 200.0})

    assert isinstance(first, ScriptedAdapter) and first is second
    assert first.settings == ScriptedSettings(tokens_per_s=200.0)


def test_building_and_running_it_imports_no_ml_library() -> None:
    script = (
        "import sys\n"
        "from workers.adapters import GenerationParams, GenerationStats, Message, TextPart, adapter_get\n"
        "adapter = adapter_get(key='s', kind='scripted', config={'echo': True})\n"
        "message = Message(role='user', content=(TextPart(text='hi'),))\n"
        "print(''.join(adapter.stream([message], GenerationParams(), stats=GenerationStats())))\n"
        "assert not {'torch', 'transformers'} & set(sys.modules), 'an ML library was imported'\n"
    )

    done = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("hi")


@pytest.mark.parametrize(
    "config",
    [
        {},
        {"text": "  Hello there.\n", "chunk": "char", "echo": False},
        {"tokens_per_s": 0.5, "first_token_delay_s": 0, "fail": "Broken."},
        {"tokens_per_s": None, "first_token_delay_s": 1.5, "chunk": "word", "echo": True},
    ],
)
def test_valid_scripted_configs_have_no_problems(config: dict[str, Any]) -> None:
    assert adapter_config_validate(kind="scripted", config=config) == []


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"text": ""}, "'text' must be a non-empty string."),
        ({"text": 3}, "'text' must be a non-empty string."),
        ({"tokens_per_s": 0}, "'tokens_per_s' must be a number greater than 0."),
        ({"tokens_per_s": "fast"}, "'tokens_per_s' must be a number greater than 0."),
        ({"tokens_per_s": float("inf")}, "'tokens_per_s' must be a finite number, not inf."),
        ({"tokens_per_s": float("nan")}, "'tokens_per_s' must be a finite number, not nan."),
        ({"first_token_delay_s": -0.1}, "'first_token_delay_s' must be a number of at least 0."),
        ({"first_token_delay_s": True}, "'first_token_delay_s' must be a number of at least 0."),
        ({"chunk": "line"}, "'chunk' must be one of word, char, not 'line'."),
        ({"echo": "yes"}, "'echo' must be true or false."),
        ({"fail": ""}, "'fail' must be a non-empty string."),
        ({"speed": 3}, "Unknown setting 'speed' (allowed: text, tokens_per_s, first_token_delay_s, chunk,"),
    ],
)
def test_invalid_scripted_configs_are_explained(config: dict[str, Any], problem: str) -> None:
    problems = adapter_config_validate(kind="scripted", config=config)

    assert any(found.startswith(problem) for found in problems), problems


def test_a_bad_scripted_config_is_refused_with_every_problem() -> None:
    with pytest.raises(AdapterConfigError) as caught:
        adapter_get(
            key="test-scripted:bad",
            kind="scripted",
            config={
                "tokens_per_s": -1,
                "first_token_delay_s": "soon",
                "chunk": "line",
                "echo": 1,
                "tempo": 2,
            },
        )

    assert len(caught.value.problems) == 5
    assert "Unknown setting 'tempo'" in caught.value.problems[0]
