"""The generation runner: run one model over one conversation, hand each chunk on, report how it ended.

It knows adapters, time limits and failures, nothing of what the answer is for: the caller (an
arena battle side, an evaluation item) builds the conversation, consumes the chunks and stores
the result.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from workers.adapters import adapter_get
from workers.adapters.base import AdapterError, GenerationParams, GenerationStats, Message, ModelAdapter

logger = logging.getLogger(__name__)

GENERIC_FAILURE = "The model failed to answer because of an internal error."
TIMEOUT_FAILURE = "The model took too long to answer."


@dataclass(frozen=True)
class ModelSpec:
    """How to run a model: `key` names it in the process's adapter cache."""

    key: str
    kind: str
    config: Mapping[str, Any]


@dataclass(frozen=True)
class GenerationOutcome:
    # A sentence for people, None on success. An adapter's own message may name the model:
    # callers that must keep it anonymous scrub it.
    error: str | None
    # The caller set `cancel`: the generation stopped where it was, and what it gave is not an answer.
    cancelled: bool = False


class _TimeLimitReached(Exception):
    pass


def _adapter(model: ModelSpec) -> ModelAdapter:
    return adapter_get(
        key=model.key,
        kind=model.kind,
        config=model.config,
        device=settings.WORKER_DEVICE,
        dtype=settings.WORKER_DTYPE,
    )


def generation_run(
    *,
    model: ModelSpec,
    conversation: Sequence[Message],
    params: GenerationParams,
    stats: GenerationStats,
    on_chunk: Callable[[str], None],
    time_limit_s: float,
    cancel: threading.Event | None = None,
) -> GenerationOutcome:
    """Stream the model's answer into `on_chunk`; never raises for a failure of the model.

    Setting `cancel` (from any thread) stops the generation at the adapter's next chance to look.
    """
    cancel = cancel if cancel is not None else threading.Event()
    deadline = time.monotonic() + time_limit_s
    error: str | None = None
    try:
        adapter = _adapter(model)
        for chunk in adapter.stream(conversation, params, stats=stats, cancel=cancel):
            on_chunk(chunk)
            if time.monotonic() > deadline:
                raise _TimeLimitReached
    except AdapterError as exc:
        error = str(exc)
    except _TimeLimitReached:
        error = TIMEOUT_FAILURE
    except Exception as exc:
        from celery.exceptions import SoftTimeLimitExceeded

        if isinstance(exc, SoftTimeLimitExceeded):
            error = TIMEOUT_FAILURE
        else:
            logger.exception("generation failed for %s", model.key)
            error = GENERIC_FAILURE
    finally:
        stats.mark_finished()
    # Read before this function sets it below: only the caller's cancel makes the outcome a cancel.
    if cancel.is_set():
        return GenerationOutcome(error=None, cancelled=True)
    if error is not None:
        # Whatever the adapter still runs on its own threads (a local generation) stops too.
        cancel.set()
    return GenerationOutcome(error=error)


@dataclass(frozen=True)
class AnswerOutcome:
    """One conversation's whole answer, or (text empty) the sentence saying why there is none."""

    text: str
    error: str | None = None


def answers_run(
    *,
    model: ModelSpec,
    conversations: Sequence[Sequence[Message]],
    params: GenerationParams,
    time_limit_s: float,
) -> list[AnswerOutcome]:
    """Each conversation's answer, in order: in one batch where the adapter can (`answers_batch`), else
    one at a time through `generation_run`; never raises for a failure of the model. A batch that fails
    as a whole is asked again one at a time, so that each conversation gets its own outcome."""
    try:
        batched = _adapter(model).answers_batch(conversations, params)
    except AdapterError as exc:
        logger.info("a batch for %s failed (%s); asking one at a time", model.key, exc)
        batched = None
    except Exception:
        logger.exception("a batch for %s failed; asking one at a time", model.key)
        batched = None
    if batched is not None:
        return [AnswerOutcome(text=text) for text in batched]
    outcomes = []
    for conversation in conversations:
        chunks: list[str] = []
        outcome = generation_run(
            model=model,
            conversation=conversation,
            params=params,
            stats=GenerationStats(),
            on_chunk=chunks.append,
            time_limit_s=time_limit_s,
        )
        if outcome.error is not None:
            outcomes.append(AnswerOutcome(text="", error=outcome.error))
        else:
            outcomes.append(AnswerOutcome(text="".join(chunks)))
    return outcomes


@dataclass(frozen=True)
class LikelihoodOutcome:
    """Per continuation, its tokens' log-probabilities; or, on failure, None and a sentence for people."""

    logprobs: list[list[float]] | None
    error: str | None = None


def likelihood_run(
    *, model: ModelSpec, conversation: Sequence[Message], continuations: Sequence[str]
) -> LikelihoodOutcome:
    """How likely the model finds each continuation as its answer; never raises for a failure of the model."""
    try:
        adapter = _adapter(model)
        return LikelihoodOutcome(logprobs=adapter.continuations_logprobs(conversation, continuations))
    except AdapterError as exc:
        return LikelihoodOutcome(logprobs=None, error=str(exc))
    except Exception:
        logger.exception("scoring continuations failed for %s", model.key)
        return LikelihoodOutcome(logprobs=None, error=GENERIC_FAILURE)


def torch_threads_limit(threads: int) -> None:
    """CPU intra-op threads per worker process; 0 leaves torch's default."""
    if threads <= 0:
        return
    try:
        import torch
    except ImportError:  # a web-tier install hosts only endpoint models
        return
    if not torch.cuda.is_available():
        torch.set_num_threads(threads)
