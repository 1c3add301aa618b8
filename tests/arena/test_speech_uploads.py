"""Real speech as an audio prompt: a sentence spoken by espeak-ng, uploaded as its WAV and encoded as MP3
and M4A, is accepted and heard by the models as 16 kHz mono WAV of the same length (arena.audio)."""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from arena.audio import audio_wav_get
from arena.models import TurnAttachment
from tests.factories import model_make, voter_client

ESPEAK = shutil.which("espeak-ng")
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(ESPEAK is None, reason="espeak-ng is not installed (CI installs it: .ci/run)"),
]

SENTENCE = "The quick brown fox jumps over the lazy dog, then asks the models what it just did."


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The sentence as espeak-ng speaks it: a 22.05 kHz mono 16-bit WAV."""
    assert ESPEAK is not None
    path = tmp_path_factory.mktemp("speech") / "speech.wav"
    subprocess.run([ESPEAK, "-w", str(path), SENTENCE], check=True, capture_output=True, timeout=60)
    return path.read_bytes()


def _seconds(wav_bytes: bytes) -> float:
    with wave.open(io.BytesIO(wav_bytes)) as wav:
        return wav.getnframes() / wav.getframerate()


def _encoded(wav_bytes: bytes, fmt: str) -> bytes:
    """The speech re-encoded by FFmpeg: MP3 (LAME) or M4A (AAC)."""
    container_format, codec = {"mp3": ("mp3", "libmp3lame"), "m4a": ("ipod", "aac")}[fmt]
    try:
        av.codec.Codec(codec, "w")
    except av.codec.codec.UnknownCodecError:
        pytest.skip(f"PyAV's FFmpeg has no {codec} encoder")
    out = io.BytesIO()
    with (
        av.open(io.BytesIO(wav_bytes), "r", format="wav") as source,
        av.open(out, "w", format=container_format) as target,
    ):
        rate = source.streams.audio[0].rate
        stream: Any = target.add_stream(codec, rate=rate)
        stream.layout = "mono"
        for frame in source.decode(audio=0):
            frame.pts = None
            for packet in stream.encode(frame):
                target.mux(packet)
        for packet in stream.encode():
            target.mux(packet)
    return out.getvalue()


@pytest.mark.parametrize(
    ("fmt", "mime_type"), [("wav", "audio/wav"), ("mp3", "audio/mpeg"), ("m4a", "audio/mp4")]
)
def test_spoken_words_are_accepted_and_heard_as_16_khz_mono_wav_of_their_length(
    speech: bytes, fmt: str, mime_type: str
) -> None:
    for _ in range(2):
        model_make(input_modalities=["text", "audio"])
    upload = speech if fmt == "wav" else _encoded(speech, fmt)
    upload_file = io.BytesIO(upload)
    upload_file.name = f"question.{fmt}"
    client, token = voter_client()

    response = client.post(
        "/api/v1/battles",
        data={"prompt": "Answer what I ask.", "audio": upload_file},
        headers={"X-CSRFToken": token},
    )

    assert response.status_code == 201, response.content
    asset = TurnAttachment.objects.get(turn__battle_id=response.json()["id"]).asset
    assert (asset.kind, asset.mime_type) == ("audio", mime_type)
    spoken = _seconds(speech)
    assert spoken > 3, "a sentence, not a blip"
    assert asset.duration_s == pytest.approx(spoken, abs=0.1)
    heard = audio_wav_get(asset=asset)
    with wave.open(io.BytesIO(heard)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(float)
    # What an encoder pads or trims at the ends is a few hundredths of a second.
    assert len(samples) / 16000 == pytest.approx(spoken, abs=0.1)
    # Still a voice: most of its energy in speech's band (below 4 kHz, above the hum of 80 Hz).
    power = np.abs(np.fft.rfft(samples)) ** 2
    frequencies = np.fft.rfftfreq(len(samples), 1 / 16000)
    assert power[(frequencies > 80) & (frequencies < 4000)].sum() > 0.9 * power.sum()
    peaks = client.get(f"/api/v1/battles/{response.json()['id']}").json()["turns"][0]["audio_peaks"]
    assert len(peaks) == 160 and max(peaks) > 0.2 and min(peaks) < 0.05, "words and the pauses between"
