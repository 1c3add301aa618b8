"""Video and audio parts through both adapters: the tiny models for real, a loopback server for HTTP."""

from __future__ import annotations

import base64
import io
import json
import threading
import wave
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest
from PIL import Image

from workers.adapters import (
    AdapterConfigError,
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
    adapter_config_validate,
    adapter_get,
)

VIDEO_MODEL, IMAGE_MODEL, AUDIO_MODEL = "tiny-qwen2-vl-64", "tiny-llava-64", "tiny-qwen2-audio-64"
OMNI_MODEL = "tiny-qwen2-5-omni-64"
GREEDY = GenerationParams(max_new_tokens=12, temperature=0.0)
QUESTION = "What happens?"


def _frame(index: int, *, size: int = 64, image_format: str = "JPEG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (20 * index, 200 - 20 * index, 90)).save(buffer, format=image_format)
    return buffer.getvalue()


def _video(frames: int = 8, *, image_format: str = "JPEG") -> VideoPart:
    # Eight frames sampled uniformly from a 4 s clip at 25 fps.
    return VideoPart(
        frames=tuple(_frame(index, image_format=image_format) for index in range(frames)),
        timestamps=tuple(0.25 + 0.5 * index for index in range(frames)),
        fps=25.0,
        duration_s=4.0,
    )


def _wav(seconds: float, *, rate: int = 16000) -> bytes:
    times = np.arange(int(seconds * rate)) / rate
    samples = (0.3 * np.sin(2 * np.pi * 440 * times) * 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(samples.tobytes())
    return buffer.getvalue()


def _ask(*parts: ContentPart) -> list[Message]:
    return [Message(role="user", content=(*parts, TextPart(QUESTION)))]


def _local(slug: str, tiny_models_dir: Any, **extra: Any) -> ModelAdapter:
    spec = tiny_models_dir.spec(slug)
    config = {**spec.adapter_config, **extra}
    suffix = ",".join(f"{key}={value}" for key, value in sorted(extra.items()))
    return adapter_get(key=f"test-media:{slug}:{suffix}", kind="transformers", config=config)


def _run(adapter: ModelAdapter, conversation: list[Message]) -> tuple[str, GenerationStats]:
    stats = GenerationStats()
    return "".join(adapter.stream(conversation, GREEDY, stats=stats)), stats


def _prompt_tokens(adapter: ModelAdapter, conversation: list[Message]) -> int:
    _, stats = _run(adapter, conversation)
    assert stats.prompt_tokens is not None
    return stats.prompt_tokens


# --- transformers, on the tiny models ---------------------------------------------------------------------


def test_the_tiny_video_model_answers_a_video_of_8_frames_seen_as_16_video_tokens(
    tiny_models_dir: Any,
) -> None:
    adapter = _local(VIDEO_MODEL, tiny_models_dir)

    answer, stats = _run(adapter, _ask(_video()))

    assert answer.strip()
    assert stats.completion_tokens and stats.completion_tokens > 0
    # 8 frames of 64x64 -> 4 temporal patches of 4x4 patches -> 16 positions after the 2x2 merge,
    # plus the vision start and end markers.
    assert stats.prompt_tokens == _prompt_tokens(adapter, _ask()) + 16 + 2


def test_the_video_processor_is_handed_the_videos_real_rate_and_frame_indices(tiny_models_dir: Any) -> None:
    adapter = _local(VIDEO_MODEL, tiny_models_dir)
    seen: list[Any] = []
    processor = adapter.processor  # type: ignore[attr-defined]
    original = processor.video_processor.preprocess

    def recording(videos: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("video_metadata"))
        return original(videos, **kwargs)

    processor.video_processor.preprocess = recording
    try:
        _run(adapter, _ask(_video()))
    finally:
        processor.video_processor.preprocess = original

    (metadata,) = seen[0]
    assert metadata["fps"] == 25.0
    assert metadata["total_num_frames"] == 100
    assert metadata["frames_indices"] == [6, 19, 31, 44, 56, 69, 81, 94]


def test_an_image_only_model_refuses_a_video_with_a_sentence(tiny_models_dir: Any) -> None:
    adapter = _local(IMAGE_MODEL, tiny_models_dir)

    with pytest.raises(AdapterError, match=r"does not take video; configure it with video_mode"):
        adapter.stream(_ask(_video()), GREEDY, stats=GenerationStats())


def test_video_mode_images_gives_an_image_model_each_frame_as_an_image(
    tiny_models_dir: Any, png: bytes
) -> None:
    adapter = _local(IMAGE_MODEL, tiny_models_dir, video_mode="images")
    text_only = _prompt_tokens(adapter, _ask())
    per_image = _prompt_tokens(adapter, _ask(ImagePart(data=png, mime_type="image/png"))) - text_only

    answer, stats = _run(adapter, _ask(_video()))

    assert answer.strip()
    assert per_image > 0
    assert stats.prompt_tokens == text_only + 8 * per_image


def test_the_tiny_audio_model_answers_2_seconds_of_16_khz_audio_as_50_audio_tokens(
    tiny_models_dir: Any,
) -> None:
    adapter = _local(AUDIO_MODEL, tiny_models_dir)

    answer, stats = _run(adapter, _ask(AudioPart(wav=_wav(2.0), sample_rate=16000)))

    assert answer.strip()
    # Whisper's front end: 100 feature frames a second, halved by the encoder, then pooled by 2.
    assert stats.prompt_tokens == _prompt_tokens(adapter, _ask()) + 50 + 2


def test_audio_at_another_rate_is_resampled_to_what_the_model_hears(tiny_models_dir: Any) -> None:
    adapter = _local(AUDIO_MODEL, tiny_models_dir)

    at_8_khz = _prompt_tokens(adapter, _ask(AudioPart(wav=_wav(2.0, rate=8000), sample_rate=8000)))

    assert at_8_khz == _prompt_tokens(adapter, _ask(AudioPart(wav=_wav(2.0), sample_rate=16000)))


def test_audio_over_30_seconds_is_refused_rather_than_cut(tiny_models_dir: Any) -> None:
    adapter = _local(AUDIO_MODEL, tiny_models_dir)

    with pytest.raises(AdapterError, match=r"at most 30 s of audio; the attached audio lasts 31\.0 s"):
        adapter.stream(_ask(AudioPart(wav=_wav(31.0), sample_rate=16000)), GREEDY, stats=GenerationStats())


@pytest.mark.parametrize(
    ("slug", "part", "message"),
    [
        (VIDEO_MODEL, AudioPart(wav=_wav(1.0), sample_rate=16000), "does not take audio"),
        (AUDIO_MODEL, ImagePart(data=_frame(0, image_format="PNG"), mime_type="image/png"), "take images"),
        (AUDIO_MODEL, _video(), "does not take video"),
    ],
    ids=["audio-to-video-model", "image-to-audio-model", "video-to-audio-model"],
)
def test_a_part_the_model_cannot_take_is_refused_with_a_sentence(
    tiny_models_dir: Any, slug: str, part: ContentPart, message: str
) -> None:
    adapter = _local(slug, tiny_models_dir)

    with pytest.raises(AdapterError, match=message):
        adapter.stream(_ask(part), GREEDY, stats=GenerationStats())


def test_unreadable_media_is_refused_with_a_sentence(tiny_models_dir: Any) -> None:
    video_adapter, audio_adapter = _local(VIDEO_MODEL, tiny_models_dir), _local(AUDIO_MODEL, tiny_models_dir)
    not_wav = AudioPart(wav=b"RIFF....not a wav", sample_rate=16000)
    mismatched_rate = AudioPart(wav=_wav(1.0), sample_rate=44100)
    no_rate = AudioPart(wav=_wav(1.0), sample_rate=0)
    broken_frame = VideoPart(frames=(b"\xff\xd8 truncated",), timestamps=(0.0,), fps=25.0, duration_s=1.0)
    missing_timestamps = VideoPart(frames=(_frame(0),), timestamps=(), fps=25.0, duration_s=1.0)

    with pytest.raises(AdapterError, match="not a readable PCM WAV"):
        audio_adapter.stream(_ask(not_wav), GREEDY, stats=GenerationStats())
    with pytest.raises(AdapterError, match="says 44100 Hz but its WAV header says 16000 Hz"):
        audio_adapter.stream(_ask(mismatched_rate), GREEDY, stats=GenerationStats())
    with pytest.raises(AdapterError, match="has no sampling rate"):
        audio_adapter.stream(_ask(no_rate), GREEDY, stats=GenerationStats())
    with pytest.raises(AdapterError, match="Frame 1 of the attached video could not be read"):
        video_adapter.stream(_ask(broken_frame), GREEDY, stats=GenerationStats())
    with pytest.raises(AdapterError, match="1 frames but 0 timestamps"):
        video_adapter.stream(_ask(missing_timestamps), GREEDY, stats=GenerationStats())


def test_a_batch_with_a_video_is_left_to_the_caller(tiny_models_dir: Any) -> None:
    adapter = _local(VIDEO_MODEL, tiny_models_dir)

    assert adapter.answers_batch([_ask(_video()), _ask(_video())], GREEDY) is None


# --- the OpenAI-compatible adapter, against a loopback server that records what it receives -----------------


class _Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    bodies: list[dict[str, Any]]

    def do_POST(self) -> None:
        self.bodies.append(json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0")))))
        event = json.dumps({"choices": [{"index": 0, "delta": {"content": "heard"}}]})
        payload = f"data: {event}\n\ndata: [DONE]\n\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    bodies: list[dict[str, Any]] = []
    handler = type("Handler", (_Recorder,), {"bodies": bodies})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", bodies
    server.shutdown()
    server.server_close()


def _http(base_url: str, name: str, **extra: Any) -> ModelAdapter:
    return adapter_get(
        key=f"test-media-http:{base_url}:{name}",
        kind="openai",
        config={"base_url": base_url, "model": "m", **extra},
    )


def _content(bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    (body,) = bodies
    content: list[dict[str, Any]] = body["messages"][0]["content"]
    assert content[-1] == {"type": "text", "text": QUESTION}
    return content[:-1]


def test_audio_is_sent_as_input_audio_with_the_wav_in_base64(recorder: Any) -> None:
    base_url, bodies = recorder
    wav = _wav(2.0)

    answer, _ = _run(_http(base_url, "audio"), _ask(AudioPart(wav=wav, sample_rate=16000)))

    assert answer == "heard"
    (part,) = _content(bodies)
    assert part["type"] == "input_audio" and part["input_audio"]["format"] == "wav"
    assert base64.b64decode(part["input_audio"]["data"]) == wav


def test_a_video_is_sent_as_vllms_video_url_of_the_sampled_frames(recorder: Any) -> None:
    base_url, bodies = recorder
    video = _video()

    _run(_http(base_url, "video"), _ask(video))

    (part,) = _content(bodies)
    assert part["type"] == "video_url"
    prefix, frames = part["video_url"]["url"].split(",", 1)
    assert prefix == "data:video/jpeg;base64"
    assert [base64.b64decode(frame) for frame in frames.split(",")] == list(video.frames)


def test_video_mode_images_sends_each_frame_as_an_image_url(recorder: Any) -> None:
    base_url, bodies = recorder
    video = _video(image_format="PNG")

    _run(_http(base_url, "frames", video_mode="images"), _ask(video))

    parts = _content(bodies)
    assert [part["type"] for part in parts] == ["image_url"] * 8
    assert [part["image_url"]["url"] for part in parts] == [
        "data:image/png;base64," + base64.b64encode(frame).decode() for frame in video.frames
    ]


def test_a_video_url_of_png_frames_fails_before_any_request(recorder: Any) -> None:
    base_url, bodies = recorder

    with pytest.raises(AdapterError, match="must have JPEG frames"):
        _http(base_url, "png-video").stream(_ask(_video(image_format="PNG")), GREEDY, stats=GenerationStats())
    assert bodies == []


@pytest.mark.parametrize(
    ("kind", "config", "problem"),
    [
        ("transformers", {"path": "/m", "video_mode": "frames"}, "'video_mode' must be one of video, images"),
        ("openai", {"base_url": "http://h/v1", "model": "m", "video_mode": "video"}, "video_url, images"),
    ],
)
def test_an_unknown_video_mode_is_refused_with_the_choices(
    kind: str, config: dict[str, Any], problem: str
) -> None:
    problems = adapter_config_validate(kind=kind, config=config)

    assert len(problems) == 1 and problem in problems[0]
    with pytest.raises(AdapterConfigError, match=problem):
        adapter_get(key=f"test-media-config:{kind}", kind=kind, config=config)


# --- the tiny Omni thinker: every modality in one model ---------------------------------------------------


def _generate_recorded(adapter: ModelAdapter, conversation: list[Message]) -> tuple[str, dict[str, Any]]:
    model = adapter.model  # type: ignore[attr-defined]
    seen: dict[str, Any] = {}
    original = model.generate

    def recording(**kwargs: Any) -> Any:
        seen.update(kwargs)
        return original(**kwargs)

    model.generate = recording
    try:
        answer, _ = _run(adapter, conversation)
    finally:
        del model.generate
    return answer, seen


@pytest.mark.parametrize(
    ("parts", "positions"),
    [
        # A 64x64 image: 4x4 patches, 4 positions after the 2x2 merge; 8 frames: 16; 2 s of audio: 50.
        ((ImagePart(data=_frame(0, image_format="PNG"), mime_type="image/png"),), 4 + 2),
        ((_video(),), 16 + 2),
        ((AudioPart(wav=_wav(2.0), sample_rate=16000),), 50 + 2),
        ((_video(), AudioPart(wav=_wav(2.0), sample_rate=16000)), 16 + 2 + 50 + 2),
    ],
    ids=["image", "video", "audio", "video-and-audio"],
)
def test_the_tiny_omni_thinker_answers_images_video_and_audio(
    tiny_models_dir: Any, parts: tuple[ContentPart, ...], positions: int
) -> None:
    adapter = _local(OMNI_MODEL, tiny_models_dir)

    answer, stats = _run(adapter, _ask(*parts))

    assert answer.strip()
    assert stats.prompt_tokens == _prompt_tokens(adapter, _ask()) + positions


def test_the_omni_thinker_places_video_frames_at_their_real_sampled_rate(tiny_models_dir: Any) -> None:
    adapter = _local(OMNI_MODEL, tiny_models_dir)
    one_per_second = VideoPart(
        frames=tuple(_frame(index) for index in range(8)),
        timestamps=tuple(0.5 + index for index in range(8)),
        fps=30.0,
        duration_s=8.0,
    )

    _, seen = _generate_recorded(adapter, _ask(one_per_second))

    # Two frames per temporal patch at one frame a second: each patch spans 2 s (Omni's default: 1 s).
    assert [float(value) for value in seen["video_second_per_grid"]] == [2.0]


def test_audio_reaches_the_tiny_audio_model_through_transformers_serve(
    served: Any, tiny_models_dir: Any
) -> None:
    path = tiny_models_dir.spec(AUDIO_MODEL).adapter_config["path"]
    adapter = adapter_get(
        key="test-media-serve:audio", kind="openai", config={"base_url": served.base_url, "model": path}
    )

    answer, stats = _run(adapter, _ask(AudioPart(wav=_wav(2.0), sample_rate=16000)))

    assert answer.strip()
    # The same 50 audio positions the model counts when run in this process.
    assert stats.prompt_tokens == _prompt_tokens(adapter, _ask()) + 50 + 2
