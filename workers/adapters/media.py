"""Turning the video frames and audio of a conversation into what models and model servers take."""

from __future__ import annotations

import base64
import io
import wave

import numpy as np
from PIL import Image, UnidentifiedImageError

from workers.adapters.base import AdapterError, AudioPart, VideoPart

_SAMPLE_TYPES = {1: np.uint8, 2: np.int16, 4: np.int32}


def _frame_mime(data: bytes) -> str:
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    raise AdapterError("A frame of the attached video is neither a JPEG nor a PNG image.")


def video_check(*, part: VideoPart) -> None:
    """`AdapterError` unless the part is a usable video: frames, one timestamp each, a real rate."""
    if not part.frames:
        raise AdapterError("The attached video has no frames.")
    if len(part.timestamps) != len(part.frames):
        raise AdapterError(
            f"The attached video has {len(part.frames)} frames but {len(part.timestamps)} timestamps."
        )
    if not part.fps > 0 or not part.duration_s > 0:
        raise AdapterError("The attached video has no frame rate or duration.")
    for frame in part.frames:
        _frame_mime(frame)


def video_frames_decode(*, part: VideoPart) -> list[Image.Image]:
    """The frames as RGB PIL images, in order; `AdapterError` when one is unreadable."""
    video_check(part=part)
    frames = []
    for index, data in enumerate(part.frames):
        try:
            with Image.open(io.BytesIO(data)) as opened:
                opened.load()
                frames.append(opened.convert("RGB"))
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
            raise AdapterError(f"Frame {index + 1} of the attached video could not be read.") from exc
    return frames


def video_metadata(*, part: VideoPart, frames: list[Image.Image]) -> dict[str, object]:
    """What transformers' video processors need to place sampled frames in time (fps, frame indices):
    without it Qwen2.5-VL assumes 24 fps."""
    return {
        "fps": part.fps,
        "duration": part.duration_s,
        "total_num_frames": max(len(frames), round(part.duration_s * part.fps)),
        "frames_indices": [round(timestamp * part.fps) for timestamp in part.timestamps],
        "width": frames[0].width,
        "height": frames[0].height,
    }


def video_frame_data_urls(*, part: VideoPart) -> list[str]:
    """One `data:` URL per frame, the way OpenAI-compatible servers take images."""
    video_check(part=part)
    return [
        f"data:{_frame_mime(frame)};base64,{base64.b64encode(frame).decode('ascii')}" for frame in part.frames
    ]


def video_data_url(*, part: VideoPart) -> str:
    """vLLM's pre-sampled video: `data:video/jpeg;base64,<frame 1>,<frame 2>,…`, so a server decodes
    the frames both sides of a battle were given instead of sampling its own."""
    video_check(part=part)
    if any(_frame_mime(frame) != "image/jpeg" for frame in part.frames):
        raise AdapterError("A video sent as frames to this server must have JPEG frames.")
    return "data:video/jpeg;base64," + ",".join(
        base64.b64encode(frame).decode("ascii") for frame in part.frames
    )


def audio_samples(*, part: AudioPart) -> np.ndarray:
    """The WAV's samples as mono float32 in [-1, 1] at the WAV's own rate; `AdapterError` when unreadable."""
    if part.sample_rate <= 0:
        raise AdapterError("The attached audio has no sampling rate.")
    try:
        with wave.open(io.BytesIO(part.wav)) as reader:
            width, channels, rate = reader.getsampwidth(), reader.getnchannels(), reader.getframerate()
            raw = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError, OSError) as exc:
        raise AdapterError("The attached audio is not a readable PCM WAV file.") from exc
    if width not in _SAMPLE_TYPES:
        raise AdapterError(f"The attached audio uses {8 * width}-bit samples; 8, 16 or 32-bit PCM is needed.")
    if rate != part.sample_rate:
        raise AdapterError(
            f"The attached audio says {part.sample_rate} Hz but its WAV header says {rate} Hz."
        )
    samples = np.frombuffer(raw, dtype=_SAMPLE_TYPES[width]).astype(np.float32)
    if width == 1:
        samples = (samples - 128.0) / 128.0  # 8-bit WAV is unsigned
    else:
        samples /= float(2 ** (8 * width - 1))
    if channels > 1:
        samples = samples[: len(samples) - len(samples) % channels].reshape(-1, channels).mean(axis=1)
    if not len(samples):
        raise AdapterError("The attached audio is empty.")
    return samples


def audio_resample(*, samples: np.ndarray, rate: int, target_rate: int) -> np.ndarray:
    """Linear resampling: uploads arrive at 16 kHz already, so this only serves other sources."""
    if rate == target_rate:
        return samples
    count = max(1, round(len(samples) * target_rate / rate))
    positions = np.arange(count, dtype=np.float64) * (rate / target_rate)
    return np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)


def audio_base64_wav(*, part: AudioPart) -> str:
    """The WAV as base64, OpenAI's `input_audio` data; checked readable first, so a broken file fails here."""
    audio_samples(part=part)
    return base64.b64encode(part.wav).decode("ascii")
