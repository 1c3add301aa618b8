"""A vision-language model run in this process with transformers, its answer streamed as it is generated."""

from __future__ import annotations

import copy
import os
import queue
import threading
from collections.abc import Generator, Sequence
from typing import Any

import torch
from transformers import (
    AutoModelForImageTextToText,
    AutoProcessor,
    LogitsProcessorList,
    StoppingCriteria,
    StoppingCriteriaList,
    TextIteratorStreamer,
)

from workers.adapters.base import (
    AdapterError,
    GenerationParams,
    GenerationStats,
    ImagePart,
    Message,
    ModelAdapter,
)
from workers.adapters.images import image_decode
from workers.adapters.sampling import SeededSampler
from workers.adapters.settings import TransformersSettings

# How often the consumer wakes up while waiting for text, to notice a cancel before generation starts.
_POLL_S = 0.1
_REASON_MAX_CHARS = 300


def device_resolve(*, configured: str | None) -> str:
    if configured:
        return configured
    return "cuda" if torch.cuda.is_available() else "cpu"


def dtype_resolve(*, configured: str | None, device: str) -> torch.dtype | str:
    if configured == "auto":
        return "auto"  # whatever the checkpoint was saved in
    if configured:
        resolved: torch.dtype = getattr(torch, configured)
        return resolved
    # bfloat16 halves memory on GPUs at no practical quality cost; most CPUs run it slowly.
    return torch.bfloat16 if device.startswith("cuda") else torch.float32


def _reason(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= _REASON_MAX_CHARS else text[: _REASON_MAX_CHARS - 1] + "…"


def _looks_local(path: str) -> bool:
    return os.path.isabs(path) or path.startswith((".", "~")) or os.path.exists(path)


class _StopWhenSet(StoppingCriteria):
    """Ends generation at the next token once any of the events is set."""

    def __init__(self, *events: threading.Event) -> None:
        self.events = events

    def __call__(
        self, input_ids: torch.LongTensor, scores: torch.FloatTensor, **kwargs: Any
    ) -> torch.BoolTensor:
        stop = any(event.is_set() for event in self.events)
        return torch.full((input_ids.shape[0],), stop, dtype=torch.bool, device=input_ids.device)  # type: ignore[return-value]


class _CountingStreamer(TextIteratorStreamer):
    """A text streamer that also counts the generated tokens it was handed."""

    def __init__(self, tokenizer: Any) -> None:
        super().__init__(tokenizer, skip_prompt=True, timeout=_POLL_S, skip_special_tokens=True)
        self.generated_tokens = 0

    def put(self, value: torch.Tensor) -> None:
        if not self.next_tokens_are_prompt:
            self.generated_tokens += int(value.numel())
        super().put(value)


def _processor_conversation(conversation: Sequence[Message]) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for message in conversation:
        content: list[dict[str, Any]] = []
        for part in message.content:
            if isinstance(part, ImagePart):
                content.append({"type": "image", "image": image_decode(part=part)})
            else:
                content.append({"type": "text", "text": part.text})
        messages.append({"role": message.role, "content": content})
    return messages


class TransformersLocalAdapter(ModelAdapter):
    """Loads the model once, on construction, and serialises generations on it.

    Sampling draws from a per-request generator (see `sampling.py`), so a seed reproduces an answer
    even while other models generate in other threads; temperature 0 decodes greedily.
    """

    def __init__(self, *, settings: TransformersSettings) -> None:
        self.settings = settings
        self.device = device_resolve(configured=settings.device)
        self.dtype = dtype_resolve(configured=settings.dtype, device=self.device)
        path = os.path.expanduser(settings.path)
        if _looks_local(path) and not os.path.isdir(path):
            raise AdapterError(f"The model directory '{settings.path}' does not exist.")
        try:
            self.processor = AutoProcessor.from_pretrained(path, trust_remote_code=settings.trust_remote_code)
            self.model = AutoModelForImageTextToText.from_pretrained(
                path, dtype=self.dtype, device_map=self.device, trust_remote_code=settings.trust_remote_code
            ).eval()
        except Exception as exc:
            raise AdapterError(f"The model at '{settings.path}' could not be loaded: {_reason(exc)}") from exc
        self.tokenizer = getattr(self.processor, "tokenizer", self.processor)
        # One generate at a time per model: modules and caches are not safe to share between threads.
        self._generate_lock = threading.Lock()

    def _open(
        self,
        conversation: Sequence[Message],
        params: GenerationParams,
        *,
        stats: GenerationStats,
        cancel: threading.Event,
    ) -> Generator[str, None, None]:
        inputs = self._inputs_build(conversation)
        stats.prompt_tokens = int(inputs["input_ids"].shape[-1])
        return self._generate(inputs, params, stats=stats, cancel=cancel)

    def continuations_logprobs(
        self, conversation: Sequence[Message], continuations: Sequence[str]
    ) -> list[list[float]]:
        inputs = self._inputs_build(conversation)
        prompt_ids = inputs["input_ids"]
        scored: list[list[float]] = []
        with self._generate_lock, torch.inference_mode():
            for text in continuations:
                ids = self.tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
                ids = ids.to(prompt_ids.device)
                count = int(ids.shape[-1])
                if count == 0:
                    raise AdapterError("An option to score is empty once tokenised.")
                batch = dict(inputs)
                batch["input_ids"] = torch.cat([prompt_ids, ids], dim=-1)
                # Per-token inputs grow with the continuation: attended to, and text (type 0), not image.
                for key, fill in (("attention_mask", 1), ("token_type_ids", 0), ("mm_token_type_ids", 0)):
                    if key in batch:
                        extra = torch.full_like(ids, fill, dtype=batch[key].dtype)
                        batch[key] = torch.cat([batch[key], extra], dim=-1)
                try:
                    logits = self.model(**batch).logits[0, -count - 1 : -1].float()
                except Exception as exc:
                    raise AdapterError(f"The model failed while scoring an option: {_reason(exc)}") from exc
                logprobs = torch.log_softmax(logits, dim=-1).gather(-1, ids[0].unsqueeze(-1)).squeeze(-1)
                scored.append([float(value) for value in logprobs])
        return scored

    def answers_batch(
        self, conversations: Sequence[Sequence[Message]], params: GenerationParams
    ) -> list[str] | None:
        # Sampling draws from one generator per request (sampling.py), which a batch cannot keep.
        if len(conversations) < 2 or params.temperature > 0:
            return None
        # A processor pads text, not images: rows with different numbers of images are asked one by one.
        images = {sum(isinstance(part, ImagePart) for m in c for part in m.content) for c in conversations}
        if len(images) > 1:
            return None
        try:
            inputs = self.processor.apply_chat_template(
                [_processor_conversation(conversation) for conversation in conversations],
                tokenize=True,
                return_dict=True,
                return_tensors="pt",
                add_generation_prompt=True,
                # Left: every row's answer then starts at the same position, after its own prompt.
                processor_kwargs={"padding": True, "padding_side": "left"},
            )
        except Exception as exc:
            raise AdapterError(f"The batch could not be prepared for this model: {_reason(exc)}") from exc
        inputs = inputs.to(self.model.device, dtype=self.model.dtype)
        config = self._greedy_config(params)
        with self._generate_lock, torch.inference_mode():
            try:
                output = self.model.generate(**inputs, generation_config=config)
            except Exception as exc:
                raise AdapterError(f"The model failed while generating a batch: {_reason(exc)}") from exc
        answers = output[:, inputs["input_ids"].shape[-1] :]
        return [str(text) for text in self.tokenizer.batch_decode(answers, skip_special_tokens=True)]

    def _inputs_build(self, conversation: Sequence[Message]) -> Any:
        try:
            inputs = self.processor.apply_chat_template(
                _processor_conversation(conversation),
                tokenize=True,
                return_dict=True,
                return_tensors="pt",
                add_generation_prompt=True,
            )
        except AdapterError:
            raise
        except Exception as exc:
            raise AdapterError(
                f"The conversation could not be prepared for this model: {_reason(exc)}"
            ) from exc
        # Only floating tensors (pixel values) take the model's dtype; token ids stay integers.
        return inputs.to(self.model.device, dtype=self.model.dtype)

    def _greedy_config(self, params: GenerationParams) -> Any:
        config = copy.deepcopy(self.model.generation_config)
        config.max_new_tokens = params.max_new_tokens
        if config.min_new_tokens is not None:
            config.min_new_tokens = min(config.min_new_tokens, params.max_new_tokens)
        # The arena's parameters decide sampling, not the checkpoint's defaults.
        config.do_sample = False
        config.temperature = None
        config.top_p = None
        config.top_k = None
        return config

    def _generation_kwargs(
        self, inputs: Any, params: GenerationParams, streamer: _CountingStreamer, stop: StoppingCriteria
    ) -> dict[str, Any]:
        config = self._greedy_config(params)
        processors = LogitsProcessorList()
        if params.temperature > 0:
            processors.append(
                SeededSampler(temperature=params.temperature, top_p=params.top_p, seed=params.seed)
            )
        return {
            **inputs,
            "generation_config": config,
            "logits_processor": processors,
            "stopping_criteria": StoppingCriteriaList([stop]),
            "streamer": streamer,
        }

    def _generate(
        self, inputs: Any, params: GenerationParams, *, stats: GenerationStats, cancel: threading.Event
    ) -> Generator[str, None, None]:
        streamer = _CountingStreamer(self.tokenizer)
        abandoned = threading.Event()  # the consumer stopped reading
        started = threading.Event()
        failure: list[BaseException] = []
        kwargs = self._generation_kwargs(inputs, params, streamer, _StopWhenSet(cancel, abandoned))

        def generate() -> None:
            try:
                with self._generate_lock:
                    if cancel.is_set() or abandoned.is_set():
                        return
                    started.set()
                    if stats.started_at is None:
                        stats.mark_started()
                    self.model.generate(**kwargs)
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
                failure.append(exc)
            finally:
                streamer.end()

        worker = threading.Thread(target=generate, name="transformers-generate", daemon=True)
        worker.start()
        try:
            while True:
                try:
                    chunk = next(streamer)
                except StopIteration:
                    break
                except queue.Empty:
                    # Still waiting for the model lock: a cancel need not wait for the running generation.
                    if cancel.is_set() and not started.is_set():
                        break
                    continue
                yield chunk
            if failure:
                error = failure[0]
                raise AdapterError(f"The model failed while generating: {_reason(error)}") from error
        finally:
            abandoned.set()
            if started.is_set():
                # Bounded by one forward pass: the stopping criterion sees `abandoned` at the next token.
                worker.join()
            stats.completion_tokens = streamer.generated_tokens
