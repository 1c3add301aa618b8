"""Audio uploads (arena.audio): real WAV/MP3/FLAC/OGG/M4A/WebM files encoded with PyAV, probed and
decoded by FFmpeg in a child process with limits; every refusal a 4xx sentence; what models hear, a
16 kHz mono WAV."""

from __future__ import annotations

import hashlib
import io
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.test import Client

from arena.audio import audio_asset_create, audio_wav_get
from arena.media import media_asset_read
from arena.media_av import container_sniff
from arena.models import Battle, MediaRendition, TurnAttachment
from core.errors import InvalidInput, PayloadTooLarge, UnsupportedMedia
from tests.arena.av_media import audio_bytes, flac_claiming, recording_webm, video_bytes
from tests.factories import image_bytes, model_make, voter_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _samples(wav_bytes: bytes) -> tuple[wave._wave_params, np.ndarray]:
    with wave.open(io.BytesIO(wav_bytes)) as wav:
        return wav.getparams(), np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")


@pytest.mark.parametrize(
    ("fmt", "mime_type"),
    [
        ("wav", "audio/wav"),
        ("mp3", "audio/mpeg"),
        ("flac", "audio/flac"),
        ("ogg", "audio/ogg"),
        ("m4a", "audio/mp4"),
        ("webm", "audio/webm"),
    ],
)
def test_audio_is_stored_remuxed_and_heard_as_16_khz_mono_wav(fmt: str, mime_type: str) -> None:
    data = audio_bytes(fmt, seconds=1.0, rate=44100, channels=2)
    asset = audio_asset_create(data=data)
    assert (asset.kind, asset.mime_type) == ("audio", mime_type)
    assert asset.duration_s == pytest.approx(1.0, abs=0.1)
    # The same streams in a fresh container of the same format (what arena.media_av sniffs it as).
    stored = media_asset_read(asset=asset)
    assert asset.sha256 == hashlib.sha256(stored).hexdigest()
    sniffed = container_sniff(data=stored, kind="audio")
    assert sniffed is not None and sniffed.mime_type == mime_type
    params, samples = _samples(audio_wav_get(asset=asset))
    assert (params.framerate, params.nchannels, params.sampwidth) == (16000, 1, 2)
    assert len(samples) / 16000 == pytest.approx(1.0, abs=0.1)
    # Still the 440 Hz tone: its strongest frequency, after resampling and downmixing.
    middle = samples[2000:14000].astype(float)
    spectrum = np.abs(np.fft.rfft(middle))
    assert np.fft.rfftfreq(len(middle), 1 / 16000)[spectrum.argmax()] == pytest.approx(440, abs=5)


def test_the_wav_is_derived_once_and_reused(media_root: Path) -> None:
    data = audio_bytes("mp3")
    first = audio_asset_create(data=data)
    second = audio_asset_create(data=data)
    assert first.sha256 == second.sha256
    assert MediaRendition.objects.filter(asset=first, kind="wav").count() == 1
    assert len(list(media_root.rglob("*.wav"))) == 1


def test_a_truncated_audio_file_is_refused_with_a_sentence() -> None:
    data = audio_bytes("m4a")
    with pytest.raises(InvalidInput, match="truncated"):
        audio_asset_create(data=data[: len(data) // 3])


def test_a_renamed_text_file_is_refused_as_not_audio() -> None:
    with pytest.raises(UnsupportedMedia, match="WAV, MP3, M4A, OGG, FLAC or WebM"):
        audio_asset_create(data=b"some notes, named voice.mp3\n" * 20)


def test_audio_over_the_length_limit_is_refused(settings: Any) -> None:
    settings.ARENA_MAX_AUDIO_SECONDS = 0.5
    with pytest.raises(InvalidInput, match=r"2 seconds long; the limit is 0\.5 seconds"):
        audio_asset_create(data=audio_bytes("wav", seconds=2.0))


def test_a_file_claiming_hours_is_refused_before_decoding() -> None:
    with pytest.raises(InvalidInput, match=r"3 hours long; the limit is 30 seconds"):
        audio_asset_create(data=flac_claiming(3 * 3600))


def test_a_recording_that_states_no_duration_is_measured_from_its_packets(settings: Any) -> None:
    data = recording_webm(seconds=2.0)
    asset = audio_asset_create(data=data)
    assert asset.duration_s == pytest.approx(2.0, abs=0.1)
    settings.ARENA_MAX_AUDIO_SECONDS = 1.0
    with pytest.raises(InvalidInput, match=r"the limit is 1 second\."):
        audio_asset_create(data=recording_webm(seconds=3.0))


def test_audio_over_the_size_limit_is_refused(settings: Any) -> None:
    settings.ARENA_MAX_AUDIO_BYTES = 10_000
    with pytest.raises(PayloadTooLarge, match=r"MB; the limit is 0\.01 MB"):
        audio_asset_create(data=audio_bytes("wav"))


def test_a_silent_video_is_refused_as_audio() -> None:
    with pytest.raises(InvalidInput, match="no audio stream"):
        audio_asset_create(data=video_bytes("webm"))


def test_decoding_audio_past_its_time_limit_is_stopped_with_a_sentence(settings: Any) -> None:
    settings.ARENA_MEDIA_DECODE_TIMEOUT_S = 0.01
    with pytest.raises(InvalidInput, match="took too long"):
        audio_asset_create(data=audio_bytes("flac"))


# Through the REST API.


def _post(client: Client, token: str, **data: Any) -> Any:
    return client.post(
        "/api/v1/battles", data={"prompt": "What do you hear?", **data}, headers={"X-CSRFToken": token}
    )


def _upload(data: bytes, name: str) -> io.BytesIO:
    file = io.BytesIO(data)
    file.name = name
    return file


def test_an_audio_prompt_goes_only_to_models_that_hear() -> None:
    for _ in range(3):
        model_make(input_modalities=["text", "image", "video"])
    listeners = {model_make(input_modalities=["text", "audio"]).pk for _ in range(2)}
    client, token = voter_client()
    for _ in range(3):
        response = _post(client, token, audio=_upload(audio_bytes("ogg"), "voice.ogg"))
        assert response.status_code == 201, response.content
        battle = Battle.objects.get(pk=response.json()["id"])
        assert {battle.model_a_id, battle.model_b_id} == listeners
    link = TurnAttachment.objects.filter(turn__battle=battle).get()
    assert (link.asset.kind, link.frames) == ("audio", None)
    turn = client.get(f"/api/v1/battles/{battle.pk}").json()["turns"][0]
    assert turn["audio_url"] == f"/api/v1/attachments/{link.public_id}"
    assert turn["video_url"] is None and turn["video_frames"] == []
    played = client.get(turn["audio_url"])
    assert played.status_code == 200 and played["Content-Type"] == "audio/ogg"


def test_an_image_with_audio_goes_to_models_that_read_both() -> None:
    model_make(input_modalities=["text", "image"])
    model_make(input_modalities=["text", "audio"])
    both = {model_make(input_modalities=["text", "image", "audio"]).pk for _ in range(2)}
    client, token = voter_client()
    response = _post(
        client, token, image=_upload(image_bytes(), "a.png"), audio=_upload(audio_bytes("wav"), "a.wav")
    )
    assert response.status_code == 201, response.content
    battle = Battle.objects.get(pk=response.json()["id"])
    assert {battle.model_a_id, battle.model_b_id} == both
    turn = client.get(f"/api/v1/battles/{battle.pk}").json()["turns"][0]
    assert turn["image_url"] and turn["audio_url"]


def test_the_api_answers_a_refused_audio_file_with_its_status_and_sentence() -> None:
    model_make(input_modalities=["text", "audio"])
    model_make(input_modalities=["text", "audio"])
    client, token = voter_client()
    hours = _post(client, token, audio=_upload(flac_claiming(3 * 3600), "long.flac"))
    assert hours.status_code == 400 and "hours long" in hours.json()["detail"]
    renamed = _post(client, token, audio=_upload(b"plain text\n" * 50, "voice.wav"))
    assert renamed.status_code == 415
    assert not Battle.objects.exists()


# The waveform the page draws.


def _quiet_then_loud() -> bytes:
    """Two seconds of a 440 Hz tone: the first at a tenth of full scale, the second at eight tenths."""
    rate = 22050
    t = np.arange(rate) / rate
    tone = np.sin(2 * np.pi * 440 * t)
    samples = (np.concatenate([0.1 * tone, 0.8 * tone]) * 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(samples.tobytes())
    return out.getvalue()


def test_an_audio_battle_shows_160_peaks_louder_where_the_sound_is_louder() -> None:
    for _ in range(2):
        model_make(input_modalities=["text", "audio"])
    client, token = voter_client()
    created = _post(client, token, audio=_upload(_quiet_then_loud(), "voice.wav"))
    assert created.status_code == 201, created.content

    peaks = client.get(f"/api/v1/battles/{created.json()['id']}").json()["turns"][0]["audio_peaks"]

    assert len(peaks) == 160 and all(0 <= peak <= 1 for peak in peaks)
    assert all(peak == round(peak, 3) for peak in peaks)
    assert peaks[:78] == pytest.approx([0.1] * 78, abs=0.02)
    assert peaks[82:] == pytest.approx([0.8] * 78, abs=0.05)


def test_a_wav_made_before_peaks_were_kept_gets_them_from_its_file_and_a_missing_file_none(
    media_root: Path,
) -> None:
    for _ in range(2):
        model_make(input_modalities=["text", "audio"])
    client, token = voter_client()
    created = _post(client, token, audio=_upload(_quiet_then_loud(), "voice.wav"))
    rendition = MediaRendition.objects.get(kind="wav")
    made = rendition.meta.pop("peaks")
    rendition.save()
    url = f"/api/v1/battles/{created.json()['id']}"

    assert client.get(url).json()["turns"][0]["audio_peaks"] == made
    assert MediaRendition.objects.get(pk=rendition.pk).meta["peaks"] == made, "kept for the next read"

    MediaRendition.objects.filter(pk=rendition.pk).update(meta={"sample_rate": 16000})
    for path in media_root.rglob("audio.wav"):
        path.unlink()
    shown = client.get(url)
    assert shown.status_code == 200 and shown.json()["turns"][0]["audio_peaks"] == []


def test_a_videos_sound_has_its_peaks_and_a_silent_videos_none() -> None:
    for _ in range(2):
        model_make(input_modalities=["text", "video"])
    client, token = voter_client()
    for sound, expected in ((True, 160), (False, 0)):
        created = _post(client, token, video=_upload(video_bytes("mp4", seconds=1.0, sound=sound), "c.mp4"))
        assert created.status_code == 201, created.content
        turn = client.get(f"/api/v1/battles/{created.json()['id']}").json()["turns"][0]
        assert len(turn["audio_peaks"]) == expected
        if sound:
            # The 0.4-scale tone (tests.arena.av_media), after the AAC encoder's first silent frame.
            assert max(turn["audio_peaks"]) == pytest.approx(0.4, abs=0.05)
