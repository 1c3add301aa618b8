"""A model stand-in that answers with configured text at a configured pace: for demos, benchmarks and tests.

It loads nothing and imports no ML library, so any worker can host it and a battle costs no compute.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Generator, Sequence
from typing import Final

from workers.adapters.base import (
    AdapterError,
    GenerationParams,
    GenerationStats,
    Message,
    ModelAdapter,
    TextPart,
)
from workers.adapters.settings import ScriptedSettings

# A word with the spaces around it, so the chunks join back to the text exactly.
_WORD_PATTERN: Final = re.compile(r"\s*\S+\s*")


def text_chunks_split(*, text: str, chunk: str) -> list[str]:
    """`text` cut into the chunks the adapter streams: words (with their spacing) or single characters."""
    if chunk == "char":
        return list(text)
    return _WORD_PATTERN.findall(text)


def _message_text(message: Message) -> str:
    return "\n".join(part.text for part in message.content if isinstance(part, TextPart))


class ScriptedAdapter(ModelAdapter):
    """Streams the configured text; one chunk counts as one token, for the pace and for `max_new_tokens`.

    Holds no state between generations, so any number of threads may share it.
    """

    def __init__(self, *, settings: ScriptedSettings) -> None:
        self.settings = settings

    def answer_compose(self, *, conversation: Sequence[Message]) -> str:
        """The whole answer to `conversation`, before any `max_new_tokens` cut."""
        if not self.settings.echo:
            return self.settings.text
        prompt = next((_message_text(m) for m in reversed(conversation) if m.role == "user"), "")
        return f"{self.settings.text}\n\n{prompt}" if prompt.strip() else self.settings.text

    def _open(
        self,
        conversation: Sequence[Message],
        params: GenerationParams,
        *,
        stats: GenerationStats,
        cancel: threading.Event,
    ) -> Generator[str, None, None]:
        stats.prompt_tokens = sum(len(_message_text(message).split()) for message in conversation)
        chunks = text_chunks_split(
            text=self.answer_compose(conversation=conversation), chunk=self.settings.chunk
        )
        # Cut like a model's answer, so the arena's length limit means the same for every kind.
        return self._generate(chunks[: params.max_new_tokens], stats=stats, cancel=cancel)

    def _generate(
        self, chunks: list[str], *, stats: GenerationStats, cancel: threading.Event
    ) -> Generator[str, None, None]:
        if stats.started_at is None:
            stats.mark_started()
        rate = self.settings.tokens_per_s
        interval = 1.0 / rate if rate else 0.0
        # Each chunk has a due time from the start rather than a pause after the last one: a slow consumer
        # then does not slow the average pace below `tokens_per_s`.
        first_due = time.monotonic() + self.settings.first_token_delay_s
        emitted = 0
        try:
            for index, chunk in enumerate(chunks):
                wait = first_due + index * interval - time.monotonic()
                if wait > 0:
                    cancel.wait(wait)  # wakes at once on a cancel, where time.sleep would not
                if cancel.is_set():
                    return
                emitted += 1
                yield chunk
            if self.settings.fail is not None:
                raise AdapterError(self.settings.fail)
        finally:
            stats.completion_tokens = emitted
