"""The one interface behind which every way of running a model sits."""

from __future__ import annotations

import abc
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class TextPart:
    text: str


@dataclass(frozen=True)
class ImagePart:
    data: bytes
    mime_type: str  # e.g. "image/png"


@dataclass(frozen=True)
class VideoPart:
    """A video as the models see it: frames already sampled from it, identical for both sides of a battle."""

    frames: tuple[bytes, ...]  # JPEG or PNG, in order
    timestamps: tuple[float, ...]  # seconds into the video, one per frame
    fps: float  # the source video's frame rate
    duration_s: float


@dataclass(frozen=True)
class AudioPart:
    wav: bytes  # a PCM WAV file (16 kHz mono from uploads)
    sample_rate: int


ContentPart = TextPart | ImagePart | VideoPart | AudioPart


@dataclass(frozen=True)
class Message:
    role: Literal["system", "user", "assistant"]
    content: tuple[ContentPart, ...]


@dataclass(frozen=True)
class GenerationParams:
    max_new_tokens: int = 256
    temperature: float = 0.7
    top_p: float = 1.0
    seed: int | None = None


@dataclass
class GenerationStats:
    """Filled while a generation runs; times are `time.time()` seconds."""

    queued_at: float | None = None
    started_at: float | None = None
    first_chunk_at: float | None = None
    finished_at: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    extra: dict[str, object] = field(default_factory=dict)

    def mark_started(self) -> None:
        self.started_at = time.time()

    def mark_chunk(self) -> None:
        if self.first_chunk_at is None:
            self.first_chunk_at = time.time()

    def mark_finished(self) -> None:
        self.finished_at = time.time()


class AdapterError(Exception):
    """A failure the voter may be told about; the message is written for people."""


class AdapterConfigError(AdapterError, ValueError):
    """An adapter's configuration is unusable; `problems` lists every reason, one sentence each."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("Invalid adapter configuration: " + " ".join(self.problems))


class ModelAdapter(abc.ABC):
    """Runs one model. Implementations are created once per worker process and reused.

    `stream()` is the same for every adapter; an implementation writes only `_open()`.
    """

    def stream(
        self,
        conversation: Sequence[Message],
        params: GenerationParams,
        *,
        stats: GenerationStats,
        cancel: threading.Event | None = None,
    ) -> Iterator[str]:
        """Yield text chunks as they are generated, never an empty one.

        Fills `stats` (queued, started, first chunk, finished, token counts), keeping times the caller
        already set. Stops early, without error, once `cancel` is set. Raises `AdapterError` with a
        readable message on failure: at the call for a conversation that cannot be sent, while
        iterating for a failure during generation.
        """
        if stats.queued_at is None:
            stats.queued_at = time.time()
        if not conversation:
            raise AdapterError("The conversation is empty.")
        cancel = cancel or threading.Event()
        return _chunks_pass(self._open(conversation, params, stats=stats, cancel=cancel), stats, cancel)

    def continuations_logprobs(
        self, conversation: Sequence[Message], continuations: Sequence[str]
    ) -> list[list[float]]:
        """The log-probability of each token of each continuation, as the model's answer to the
        conversation (teacher-forced, one continuation at a time): what a likelihood inferencer ranks
        options by. Raises `AdapterError` where the model gives no probabilities (most endpoints)."""
        raise AdapterError(
            "This model gives no token probabilities, so it cannot rank options by likelihood; "
            "use a recipe that reads its generated answer."
        )

    def answers_batch(
        self, conversations: Sequence[Sequence[Message]], params: GenerationParams
    ) -> list[str] | None:
        """Greedy answers to several conversations in one pass, in their order, where the adapter can
        batch them; None where it cannot (the caller then asks them one at a time, as `stream` does).
        Each answer must be what `stream` gives for that conversation alone. Raises `AdapterError`
        when the batch as a whole fails (the caller then asks one at a time, to tell which one)."""
        del conversations, params
        return None

    @abc.abstractmethod
    def _open(
        self,
        conversation: Sequence[Message],
        params: GenerationParams,
        *,
        stats: GenerationStats,
        cancel: threading.Event,
    ) -> Generator[str, None, None]:
        """Prepare the request now and return the generator that runs it.

        Preparing here rather than inside the generator makes a bad image or a missing API key
        fail at the `stream()` call. The generator marks `stats` started when the model really
        starts (only if the caller has not), fills token counts, and watches `cancel` wherever it
        waits; chunk times, the finish time and dropping chunks after a cancel are `stream()`'s.
        Closing it must stop the generation.
        """


def _chunks_pass(
    chunks: Generator[str, None, None], stats: GenerationStats, cancel: threading.Event
) -> Generator[str, None, None]:
    try:
        for chunk in chunks:
            if cancel.is_set():
                return
            if chunk:
                stats.mark_chunk()
                yield chunk
    finally:
        # A for loop does not close what it iterates: without this, a consumer that stops reading
        # would leave the model generating until the garbage collector notices.
        chunks.close()
        stats.mark_finished()
