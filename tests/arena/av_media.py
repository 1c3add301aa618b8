"""Real video and audio files for the upload tests, encoded with PyAV (FFmpeg) in the test."""

from __future__ import annotations

import io
from typing import Any

import av
import numpy as np

_VIDEO_CODECS = {"mp4": ("mp4", "libx264"), "mov": ("mov", "libx264"), "webm": ("webm", "libvpx-vp9")}
_AUDIO_CODECS = {
    "wav": ("wav", "pcm_s16le"),
    "mp3": ("mp3", "libmp3lame"),
    "flac": ("flac", "flac"),
    "ogg": ("ogg", "libopus"),
    "m4a": ("ipod", "aac"),
    "mp4": ("mp4", "aac"),
    "webm": ("webm", "libopus"),
}


def frame_shade(index: int, count: int) -> int:
    """The red level of frame `index` of `count`: the frames' order is readable from their pixels."""
    return round(255 * index / max(1, count - 1))


def video_bytes(
    fmt: str = "mp4",
    *,
    seconds: float = 2.0,
    fps: int = 24,
    sound: bool = False,
    size: tuple[int, int] = (64, 48),
) -> bytes:
    """A clip whose frame i is a flat colour with red frame_shade(i, n); with a sine tone if `sound`."""
    container_format, codec = _VIDEO_CODECS[fmt]
    count = round(seconds * fps)
    out = io.BytesIO()
    with av.open(out, "w", format=container_format) as container:
        stream: Any = container.add_stream(codec, rate=fps)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        audio: Any = None
        if sound:
            audio = container.add_stream("aac" if fmt != "webm" else "libopus", rate=48000)
            audio.layout = "mono"
        for i in range(count):
            pixels = np.zeros((size[1], size[0], 3), np.uint8)
            pixels[:, :, 0] = frame_shade(i, count)
            pixels[:, :, 2] = 60
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if audio is not None:
            _tone_encode(container, audio, seconds=seconds, rate=48000, channels=1)
    return out.getvalue()


def _tone_encode(container: Any, stream: Any, *, seconds: float, rate: int, channels: int) -> None:
    total = int(seconds * rate)
    t = np.arange(total) / rate
    tone = (0.4 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)
    layout = "mono" if channels == 1 else "stereo"
    step = 1024
    for start in range(0, total, step):
        chunk = tone[start : start + step]
        planes = np.tile(chunk, (channels, 1)) if channels > 1 else chunk[None, :]
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(planes), format="s16p", layout=layout)
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)


def audio_bytes(fmt: str = "wav", *, seconds: float = 1.0, rate: int = 44100, channels: int = 2) -> bytes:
    """A 440 Hz sine tone in `fmt`'s usual codec."""
    container_format, codec = _AUDIO_CODECS[fmt]
    if codec == "libopus":
        rate = 48000
    out = io.BytesIO()
    with av.open(out, "w", format=container_format) as container:
        stream: Any = container.add_stream(codec, rate=rate)
        stream.layout = "mono" if channels == 1 else "stereo"
        _tone_encode(container, stream, seconds=seconds, rate=rate, channels=channels)
    return out.getvalue()


def flac_claiming(seconds: float) -> bytes:
    """A one-second FLAC whose STREAMINFO claims `seconds` of sound (its total-samples field edited)."""
    data = bytearray(audio_bytes("flac", rate=44100))
    # STREAMINFO's body starts at byte 8; its bytes 10-17 end with the 36-bit count of samples.
    start = 8 + 10
    bits = int.from_bytes(data[start : start + 8], "big")
    bits = (bits & ~((1 << 36) - 1)) | int(44100 * seconds)
    data[start : start + 8] = bits.to_bytes(8, "big")
    return bytes(data)


def recording_webm(seconds: float) -> bytes:
    """An Opus WebM as a browser's MediaRecorder writes one: live, so its header states no duration."""
    out = io.BytesIO()
    with av.open(out, "w", format="webm", options={"live": "1"}) as container:
        stream: Any = container.add_stream("libopus", rate=48000)
        stream.layout = "mono"
        _tone_encode(container, stream, seconds=seconds, rate=48000, channels=1)
    return out.getvalue()
