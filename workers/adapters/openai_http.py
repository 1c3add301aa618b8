"""A model behind an OpenAI-compatible `/chat/completions` endpoint (vLLM, TGI, llama.cpp, ...)."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Generator, Iterator, Sequence
from typing import Any

import httpx

from workers.adapters.base import (
    AdapterError,
    AudioPart,
    ContentPart,
    GenerationParams,
    GenerationStats,
    ImagePart,
    Message,
    ModelAdapter,
    TextPart,
    VideoPart,
)
from workers.adapters.images import image_data_url
from workers.adapters.media import audio_base64_wav, video_data_url, video_frame_data_urls
from workers.adapters.public_network import PublicOnlyTransport
from workers.adapters.settings import OpenAISettings
from workers.adapters.sse import sse_data_iterate
from workers.secrets import secret_decrypt

_ERROR_BODY_MAX_BYTES = 8192
_REASON_MAX_CHARS = 300
_RETRY_FIRST_WAIT_S = 0.25
_RETRY_MAX_WAIT_S = 2.0


class EndpointConnectError(AdapterError):
    """The server could not be reached (refused, unresolvable, or no connection in time)."""


class EndpointTimeout(AdapterError):
    """The server was reached but sent nothing for `read_timeout` seconds."""


class EndpointStatusError(AdapterError):
    """The server answered with an HTTP error status; `status_code` and `detail` say which and why."""

    def __init__(self, message: str, *, status_code: int, detail: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.detail = detail


class EndpointIncompatible(AdapterError):
    """The server answered, but not as an OpenAI-compatible chat completion."""


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _REASON_MAX_CHARS else text[: _REASON_MAX_CHARS - 1] + "…"


def _part_payload(part: ContentPart, *, video_mode: str) -> list[dict[str, Any]]:
    if isinstance(part, ImagePart):
        return [{"type": "image_url", "image_url": {"url": image_data_url(part=part)}}]
    if isinstance(part, VideoPart):
        if video_mode == "images":
            return [
                {"type": "image_url", "image_url": {"url": url}} for url in video_frame_data_urls(part=part)
            ]
        return [{"type": "video_url", "video_url": {"url": video_data_url(part=part)}}]
    if isinstance(part, AudioPart):
        return [
            {"type": "input_audio", "input_audio": {"data": audio_base64_wav(part=part), "format": "wav"}}
        ]
    return [{"type": "text", "text": part.text}]


def message_payload(*, message: Message, video_mode: str = "video_url") -> dict[str, Any]:
    """One message as the chat API takes it; text alone as a plain string, which every server accepts.

    `video_mode` "video_url" sends a video as vLLM's pre-sampled frames, "images" as one image each.
    """
    if all(isinstance(part, TextPart) for part in message.content):
        return {
            "role": message.role,
            "content": "\n".join(part.text for part in message.content if isinstance(part, TextPart)),
        }
    content: list[dict[str, Any]] = []
    for part in message.content:
        content.extend(_part_payload(part, video_mode=video_mode))
    return {"role": message.role, "content": content}


def _error_detail(payload: Any) -> str | None:
    """The human part of the error bodies servers send: OpenAI's, FastAPI's and a few plainer shapes."""
    if not isinstance(payload, dict):
        return None
    error = payload.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    if isinstance(error, str):
        return error
    detail = payload.get("detail")
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):  # FastAPI validation errors
        messages = [str(item.get("msg")) for item in detail if isinstance(item, dict) and item.get("msg")]
        return "; ".join(messages) or None
    message = payload.get("message")
    return message if isinstance(message, str) else None


def _error_reason(response: httpx.Response) -> str:
    body = b""
    for piece in response.iter_bytes():
        body += piece
        if len(body) >= _ERROR_BODY_MAX_BYTES:
            break
    text = body[:_ERROR_BODY_MAX_BYTES].decode("utf-8", errors="replace")
    try:
        detail = _error_detail(json.loads(text))
    except ValueError:
        detail = None
    return _shorten(detail or text or response.reason_phrase or "no reason given")


class OpenAIHttpAdapter(ModelAdapter):
    """Streams from the server with one HTTP client per model (kept-alive connections, thread-safe).

    Only failures to connect are retried: once the server has answered anything, a retry could
    repeat a generation that already started. Cancelling takes effect at the next streamed event.
    """

    def __init__(self, *, settings: OpenAISettings) -> None:
        self.settings = settings
        timeout = httpx.Timeout(
            connect=settings.connect_timeout,
            read=settings.read_timeout,
            write=settings.read_timeout,
            pool=settings.connect_timeout,
        )
        if settings.public_only:
            # Submitted endpoints: every connection is checked where it is made (public_network.py).
            self._client = httpx.Client(timeout=timeout, transport=PublicOnlyTransport(), trust_env=False)
        else:
            self._client = httpx.Client(timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def request_body(self, *, conversation: Sequence[Message], params: GenerationParams) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.settings.model,
            "messages": [
                message_payload(message=message, video_mode=self.settings.video_mode)
                for message in conversation
            ],
            "stream": True,
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
        }
        if params.seed is not None:
            body["seed"] = params.seed
        if self.settings.include_usage:
            body["stream_options"] = {"include_usage": True}
        body.update(self.settings.extra_body)
        return body

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream"}
        name = self.settings.api_key_env
        if name:
            # Read at each call, never kept: a rotated key needs no restart, and none sits in memory dumps.
            key = os.environ.get(name, "")
            if not key:
                raise AdapterError(f"The API key variable '{name}' is not set on this worker.")
            headers["Authorization"] = f"Bearer {key}"
        elif self.settings.api_key_encrypted:
            # Decrypted per request and never kept, like the environment's key above.
            headers["Authorization"] = f"Bearer {secret_decrypt(ciphertext=self.settings.api_key_encrypted)}"
        return headers

    def _open(
        self,
        conversation: Sequence[Message],
        params: GenerationParams,
        *,
        stats: GenerationStats,
        cancel: threading.Event,
    ) -> Generator[str, None, None]:
        request = self._client.build_request(
            "POST",
            f"{self.settings.base_url}/chat/completions",
            json=self.request_body(conversation=conversation, params=params),
            headers=self._headers(),
        )
        return self._generate(request, stats=stats, cancel=cancel)

    def _response_open(self, request: httpx.Request, *, cancel: threading.Event) -> httpx.Response | None:
        """The streaming response, retrying refused or timed-out connections; None if cancelled meanwhile."""
        attempts = self.settings.max_retries + 1
        wait = _RETRY_FIRST_WAIT_S
        for attempt in range(1, attempts + 1):
            try:
                return self._client.send(request, stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if attempt == attempts:
                    # A reason that is a sentence of its own (the address guard's) keeps its one full stop.
                    reason = (_shorten(str(exc)) or type(exc).__name__).rstrip(".")
                    raise EndpointConnectError(
                        f"Could not connect to the model server at {self.settings.base_url} "
                        f"after {attempts} attempt{'s' if attempts > 1 else ''}: {reason}."
                    ) from exc
            if cancel.wait(wait):
                return None
            wait = min(wait * 2, _RETRY_MAX_WAIT_S)
        return None

    def _generate(
        self, request: httpx.Request, *, stats: GenerationStats, cancel: threading.Event
    ) -> Generator[str, None, None]:
        if stats.started_at is None:
            stats.mark_started()
        try:
            response = self._response_open(request, cancel=cancel)
            if response is None:
                return
            try:
                if response.status_code >= 400:
                    detail = _error_reason(response)
                    raise EndpointStatusError(
                        f"The model server answered {response.status_code} "
                        f"{response.reason_phrase}: {detail}",
                        status_code=response.status_code,
                        detail=detail,
                    )
                if "application/json" in response.headers.get("content-type", ""):
                    yield from self._whole_answer(response, stats=stats)
                else:
                    yield from self._events_read(response, stats=stats, cancel=cancel)
            finally:
                # Closing the connection is what tells the server to stop generating.
                response.close()
        except httpx.TimeoutException as exc:
            raise EndpointTimeout(
                f"The model server sent nothing for {self.settings.read_timeout:g} seconds."
            ) from exc
        except httpx.HTTPError as exc:
            raise AdapterError(f"The connection to the model server failed: {_shorten(str(exc))}") from exc

    def _events_read(
        self, response: httpx.Response, *, stats: GenerationStats, cancel: threading.Event
    ) -> Iterator[str]:
        for data in sse_data_iterate(lines=response.iter_lines()):
            if cancel.is_set():
                return
            if data.strip() == "[DONE]":
                return
            try:
                event = json.loads(data)
            except ValueError as exc:
                raise EndpointIncompatible("The model server streamed data that is not JSON.") from exc
            if not isinstance(event, dict):
                raise EndpointIncompatible("The model server streamed an unexpected event.")
            if "error" in event:
                raise AdapterError(
                    f"The model server reported an error: {_shorten(_error_detail(event) or 'unknown')}"
                )
            self._usage_read(event, stats=stats)
            for choice in event.get("choices") or []:
                if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                    continue
                content = (choice.get("delta") or {}).get("content")
                if isinstance(content, str):
                    yield content

    def _whole_answer(self, response: httpx.Response, *, stats: GenerationStats) -> Iterator[str]:
        """For servers that ignore `stream: true` and answer in one JSON document."""
        try:
            payload = json.loads(response.read())
            content = payload["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise EndpointIncompatible("The model server answered in an unexpected format.") from exc
        self._usage_read(payload, stats=stats)
        yield str(content)

    @staticmethod
    def _usage_read(event: dict[str, Any], *, stats: GenerationStats) -> None:
        usage = event.get("usage")
        if not isinstance(usage, dict):
            return
        if isinstance(usage.get("prompt_tokens"), int):
            stats.prompt_tokens = usage["prompt_tokens"]
        if isinstance(usage.get("completion_tokens"), int):
            stats.completion_tokens = usage["completion_tokens"]
