"""A multimodal model run in this process with transformers, its answer streamed as it is generated."""

from __future__ import annotations

import copy
import os
import queue
import threading
from collections.abc import Generator, Sequence
from typing import Any

import torch
from transformers import (
    AutoConfig,
    AutoModelForImageTextToText,
    AutoModelForMultimodalLM,
    AutoProcessor,
    LogitsProcessorList,
    StoppingCriteria,
    StoppingCriteriaList,
    TextIteratorStreamer,
)
from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING

from workers.adapters.base import (
    AdapterError,
    AudioPart,
    ContentPart,
    GenerationParams,
    GenerationStats,
    ImagePart,
    Message,
    ModelAdapter,
    VideoPart,
)
from workers.adapters.images import image_decode
from workers.adapters.media import audio_resample, audio_samples, video_frames_decode, video_metadata
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


def _has_media(conversation: Sequence[Message]) -> bool:
    return any(
        isinstance(part, VideoPart | AudioPart) for message in conversation for part in message.content
    )


def _auto_class(path: str, *, trust_remote_code: bool) -> Any:
    """AutoModelForImageTextToText for the image models it knows (loaded as they always were);
    AutoModelForMultimodalLM for the rest, which is the only class that loads audio models such as
    Qwen2-Audio."""
    config = AutoConfig.from_pretrained(path, trust_remote_code=trust_remote_code)
    auto_map = getattr(config, "auto_map", None) or {}
    if type(config) in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING or "AutoModelForImageTextToText" in auto_map:
        return AutoModelForImageTextToText
    return AutoModelForMultimodalLM


class _Inputs:
    """What one conversation becomes for a processor: its messages and the per-video metadata."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.video_metadata: list[dict[str, object]] = []

    def processor_kwargs(self) -> dict[str, Any]:
        return {"video_metadata": self.video_metadata} if self.video_metadata else {}


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
            auto_class = _auto_class(path, trust_remote_code=settings.trust_remote_code)
            self.model = auto_class.from_pretrained(
                path, dtype=self.dtype, device_map=self.device, trust_remote_code=settings.trust_remote_code
            ).eval()
        except Exception as exc:
            raise AdapterError(f"The model at '{settings.path}' could not be loaded: {_reason(exc)}") from exc
        self.tokenizer = getattr(self.processor, "tokenizer", self.processor)
        # One generate at a time per model: modules and caches are not safe to share between threads.
        self._generate_lock = threading.Lock()
        # What this model's processor can take, read off the processor itself.
        self._takes_images = getattr(self.processor, "image_processor", None) is not None
        self._takes_video = getattr(self.processor, "video_processor", None) is not None
        audio = getattr(self.processor, "feature_extractor", None) or getattr(
            self.processor, "audio_processor", None
        )
        self._audio_rate: int | None = getattr(audio, "sampling_rate", None) if audio is not None else None
        # Whisper-style front ends cut everything after their window (30 s) without a word: refused instead.
        chunk = getattr(audio, "chunk_length", None)
        self._audio_max_s: float | None = (
            float(chunk) if isinstance(chunk, int | float) and chunk > 0 else None
        )

    def _part_convert(self, part: ContentPart, inputs: _Inputs) -> list[dict[str, Any]]:
        if isinstance(part, ImagePart):
            if not self._takes_images:
                raise AdapterError("This model does not take images.")
            return [{"type": "image", "image": image_decode(part=part)}]
        if isinstance(part, VideoPart):
            frames = video_frames_decode(part=part)
            if self.settings.video_mode == "images":
                if not self._takes_images:
                    raise AdapterError("This model does not take images, so it cannot see a video's frames.")
                return [{"type": "image", "image": frame} for frame in frames]
            if not self._takes_video:
                raise AdapterError(
                    'This model does not take video; configure it with video_mode "images" to give it '
                    "a video's frames as images."
                )
            inputs.video_metadata.append(video_metadata(part=part, frames=frames))
            return [{"type": "video", "video": frames}]
        if isinstance(part, AudioPart):
            if self._audio_rate is None:
                raise AdapterError("This model does not take audio.")
            samples = audio_samples(part=part)
            seconds = len(samples) / part.sample_rate
            if self._audio_max_s is not None and seconds > self._audio_max_s:
                raise AdapterError(
                    f"This model hears at most {self._audio_max_s:g} s of audio; the attached audio lasts "
                    f"{seconds:.1f} s."
                )
            samples = audio_resample(samples=samples, rate=part.sample_rate, target_rate=self._audio_rate)
            return [{"type": "audio", "audio": samples}]
        return [{"type": "text", "text": part.text}]

    def _processor_inputs(self, conversation: Sequence[Message]) -> _Inputs:
        inputs = _Inputs()
        for message in conversation:
            content: list[dict[str, Any]] = []
            for part in message.content:
                content.extend(self._part_convert(part, inputs))
            inputs.messages.append({"role": message.role, "content": content})
        return inputs

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
        # Videos and audio are asked one at a time: their metadata and padding do not batch simply.
        if any(_has_media(conversation) for conversation in conversations):
            return None
        # A processor pads text, not images: rows with different numbers of images are asked one by one.
        images = {sum(isinstance(part, ImagePart) for m in c for part in m.content) for c in conversations}
        if len(images) > 1:
            return None
        try:
            inputs = self.processor.apply_chat_template(
                [self._processor_inputs(conversation).messages for conversation in conversations],
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
        prepared = self._processor_inputs(conversation)
        try:
            inputs = self.processor.apply_chat_template(
                prepared.messages,
                tokenize=True,
                return_dict=True,
                return_tensors="pt",
                add_generation_prompt=True,
                processor_kwargs=prepared.processor_kwargs(),
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
