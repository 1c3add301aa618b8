"""Video uploads (arena.video): real MP4/WebM/MOV clips encoded with PyAV, probed and decoded by FFmpeg in
a child process with limits; every refusal a 4xx sentence; the frames both models see, sampled once."""

from __future__ import annotations

import hashlib
import io
import wave
from pathlib import Path
from typing import Any

import av
import pytest
from django.test import Client
from PIL import Image

from arena.audio import audio_wav_get
from arena.media import media_asset_read
from arena.models import Battle, MediaRendition, Response, TurnAttachment
from arena.retention import battle_erase
from arena.video import video_asset_create, video_frames_get
from core.errors import InvalidInput, NotFound, PayloadTooLarge, UnsupportedMedia
from tests.arena.av_media import audio_bytes, frame_shade, video_bytes
from tests.factories import battle_make, model_make, voter_client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _red(jpeg: bytes) -> int:
    pixel = Image.open(io.BytesIO(jpeg)).convert("RGB").getpixel((8, 8))
    assert isinstance(pixel, tuple)
    return int(pixel[0])


@pytest.mark.parametrize(
    ("fmt", "mime_type"), [("mp4", "video/mp4"), ("webm", "video/webm"), ("mov", "video/quicktime")]
)
def test_a_video_is_stored_remuxed_in_its_format_with_its_frames(fmt: str, mime_type: str) -> None:
    data = video_bytes(fmt, seconds=2.0, fps=24)
    asset = video_asset_create(data=data)
    assert (asset.kind, asset.mime_type, asset.width, asset.height) == ("video", mime_type, 64, 48)
    assert asset.duration_s == pytest.approx(2.0, abs=0.05)
    stored = media_asset_read(asset=asset)
    assert stored != data and asset.sha256 == hashlib.sha256(stored).hexdigest()
    with av.open(io.BytesIO(stored), "r", format={"mp4": "mp4", "webm": "webm", "mov": "mov"}[fmt]) as video:
        assert len(list(video.decode(video=0))) == 48
    frames = video_frames_get(asset=asset, count=8)
    assert len(frames.frames) == 8 and len(frames.timestamps) == 8
    assert frames.fps == pytest.approx(24.0)
    assert frames.duration == pytest.approx(2.0, abs=0.05)
    for jpeg in frames.frames:
        assert Image.open(io.BytesIO(jpeg)).format == "JPEG"


def test_frames_are_sampled_at_uniform_times_in_order() -> None:
    asset = video_asset_create(data=video_bytes("mp4", seconds=2.0, fps=24), frames=4)
    frames = video_frames_get(asset=asset, count=4)
    # The middle of each quarter of two seconds, to the nearest frame (1/24 s).
    for at, expected in zip(frames.timestamps, [0.25, 0.75, 1.25, 1.75], strict=True):
        assert at == pytest.approx(expected, abs=1 / 24 + 1e-6)
    reds = [_red(jpeg) for jpeg in frames.frames]
    expected_reds = [frame_shade(round(at * 24), 48) for at in frames.timestamps]
    assert reds == pytest.approx(expected_reds, abs=12)
    assert reds == sorted(reds) and reds[0] < reds[-1]


def test_one_frame_is_the_middle_frame() -> None:
    asset = video_asset_create(data=video_bytes("webm", seconds=2.0, fps=24), frames=1)
    frames = video_frames_get(asset=asset, count=1)
    assert len(frames.frames) == 1
    assert frames.timestamps[0] == pytest.approx(1.0, abs=1 / 24 + 1e-6)
    assert _red(frames.frames[0]) == pytest.approx(frame_shade(24, 48), abs=12)


def test_frames_of_a_count_are_made_once_and_reused(media_root: Path) -> None:
    data = video_bytes("mp4")
    asset = video_asset_create(data=data, frames=8)
    first = video_frames_get(asset=asset, count=8)
    again = video_asset_create(data=data, frames=8)
    assert again.sha256 == asset.sha256
    assert MediaRendition.objects.filter(asset=asset, kind="frames").count() == 1
    assert video_frames_get(asset=asset, count=8).frames == first.frames
    # Another count, asked for later, is derived from the stored original and kept beside the first.
    assert len(video_frames_get(asset=asset, count=3).frames) == 3
    assert MediaRendition.objects.filter(asset=asset, kind="frames").count() == 2
    assert len(list(media_root.rglob("*.jpg"))) == 11


def test_a_videos_sound_is_kept_as_16_khz_mono_wav() -> None:
    asset = video_asset_create(data=video_bytes("mp4", seconds=1.0, sound=True))
    with wave.open(io.BytesIO(audio_wav_get(asset=asset))) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (16000, 1, 2)
        assert wav.getnframes() / 16000 == pytest.approx(1.0, abs=0.1)


def test_a_silent_video_has_no_sound_to_give() -> None:
    asset = video_asset_create(data=video_bytes("mp4"))
    with pytest.raises(NotFound, match="no sound"):
        audio_wav_get(asset=asset)


def test_a_truncated_video_is_refused_with_a_sentence() -> None:
    data = video_bytes("mp4")
    with pytest.raises(InvalidInput, match="truncated"):
        video_asset_create(data=data[: len(data) // 2])


def test_a_renamed_text_file_is_refused_as_not_a_video() -> None:
    with pytest.raises(UnsupportedMedia, match="MP4, WebM or MOV"):
        video_asset_create(data=b"just some text, named clip.mp4\n" * 20)


def test_an_audio_only_mp4_is_refused_as_a_video() -> None:
    with pytest.raises(InvalidInput, match="no video stream"):
        video_asset_create(data=audio_bytes("mp4"))


def test_a_video_over_the_length_limit_is_refused_before_decoding(settings: Any) -> None:
    settings.ARENA_MAX_VIDEO_SECONDS = 1.0
    with pytest.raises(InvalidInput, match=r"2 seconds long; the limit is 1 second\."):
        video_asset_create(data=video_bytes("mp4", seconds=2.0))


def test_a_video_over_the_size_limit_is_refused(settings: Any) -> None:
    settings.ARENA_MAX_VIDEO_BYTES = 3000
    with pytest.raises(PayloadTooLarge, match=r"MB; the limit is 0\.003 MB"):
        video_asset_create(data=video_bytes("mp4"))


def test_decoding_past_its_time_limit_is_stopped_with_a_sentence(settings: Any, media_root: Path) -> None:
    settings.ARENA_MEDIA_DECODE_TIMEOUT_S = 0.01
    with pytest.raises(InvalidInput, match="took too long"):
        video_asset_create(data=video_bytes("mp4"))
    assert not list(media_root.rglob("*.mp4")), "a refused upload is not stored"


def test_decoding_past_its_memory_limit_is_stopped_with_a_sentence(settings: Any) -> None:
    settings.ARENA_MEDIA_DECODE_MEMORY_MB = 16  # too little for FFmpeg even to start
    with pytest.raises(InvalidInput, match="too much memory"):
        video_asset_create(data=video_bytes("mp4"))


def test_a_frame_count_out_of_range_is_refused() -> None:
    for count in (0, 33):
        with pytest.raises(InvalidInput, match="from 1 to 32"):
            video_asset_create(data=video_bytes("mp4"), frames=count)


# Through the REST API.


def _post(client: Client, token: str, **data: Any) -> Any:
    return client.post(
        "/api/v1/battles", data={"prompt": "What happens here?", **data}, headers={"X-CSRFToken": token}
    )


def _upload(data: bytes, name: str) -> io.BytesIO:
    file = io.BytesIO(data)
    file.name = name
    return file


def test_a_video_prompt_goes_only_to_models_that_read_video() -> None:
    image_only = [model_make(input_modalities=["text", "image"]) for _ in range(3)]
    readers = [model_make(input_modalities=["text", "image", "video"]) for _ in range(2)]
    client, token = voter_client()
    for _ in range(4):
        response = _post(client, token, video=_upload(video_bytes("mp4"), "clip.mp4"), frames="5")
        assert response.status_code == 201, response.content
        battle = Battle.objects.get(pk=response.json()["id"])
        assert {battle.model_a_id, battle.model_b_id} == {model.pk for model in readers}
    assert not any(Battle.objects.filter(model_a=model).exists() for model in image_only)
    link = TurnAttachment.objects.filter(turn__battle=battle).get()
    assert (link.asset.kind, link.frames) == ("video", 5)

    payload = client.get(f"/api/v1/battles/{battle.pk}").json()
    turn = payload["turns"][0]
    assert turn["video_url"] == f"/api/v1/attachments/{link.public_id}"
    assert turn["image_url"] is None and turn["audio_url"] is None
    assert len(turn["video_frames"]) == 5
    strip = client.get(turn["video_frames"][2]["url"])
    assert strip.status_code == 200 and strip["Content-Type"] == "image/jpeg"
    assert strip.content == video_frames_get(asset=link.asset, count=5).frames[2]
    assert client.get(turn["video_url"]).content == media_asset_read(asset=link.asset)
    # Before the vote the battle, its video and its frames are its creator's alone.
    stranger, _ = voter_client()
    assert stranger.get(turn["video_frames"][2]["url"]).status_code == 404
    assert stranger.get(turn["video_url"]).status_code == 404


def test_a_video_prompt_with_no_model_reading_video_is_refused_with_a_sentence() -> None:
    model_make(input_modalities=["text", "image"])
    model_make(input_modalities=["text", "image"])
    client, token = voter_client()
    response = _post(client, token, video=_upload(video_bytes("mp4"), "clip.mp4"))
    assert response.status_code in (400, 503), response.content
    assert "video" in response.json()["detail"]
    assert not Battle.objects.exists()


@pytest.mark.parametrize("frames", ["0", "33", "eight"])
def test_the_api_refuses_a_frame_count_out_of_range(frames: str) -> None:
    model_make(input_modalities=["text", "video"])
    model_make(input_modalities=["text", "video"])
    client, token = voter_client()
    response = _post(client, token, video=_upload(video_bytes("mp4"), "clip.mp4"), frames=frames)
    assert response.status_code == 400
    assert "from 1 to 32" in response.json()["detail"]


def test_the_api_answers_a_refused_video_with_its_status_and_sentence() -> None:
    model_make(input_modalities=["text", "video"])
    model_make(input_modalities=["text", "video"])
    client, token = voter_client()
    renamed = _post(client, token, video=_upload(b"not a video at all\n" * 10, "clip.mp4"))
    assert renamed.status_code == 415 and "MP4, WebM or MOV" in renamed.json()["detail"]
    data = video_bytes("mp4")
    truncated = _post(client, token, video=_upload(data[: len(data) // 2], "clip.mp4"))
    assert truncated.status_code == 400 and "truncated" in truncated.json()["detail"]
    both = _post(client, token, video=_upload(data, "clip.mp4"), audio=_upload(audio_bytes("wav"), "a.wav"))
    assert both.status_code == 400 and "on its own" in both.json()["detail"]
    assert not Battle.objects.exists()


def test_erasing_a_battle_removes_its_video_with_its_frames_and_sound(
    media_root: Path, django_capture_on_commit_callbacks: Any
) -> None:
    asset = video_asset_create(data=video_bytes("mp4", seconds=1.0, sound=True), frames=4)
    battle = battle_make()
    TurnAttachment.objects.create(turn=battle.turns.get(), asset=asset, frames=4)
    assert len([p for p in media_root.rglob("*") if p.is_file()]) == 6  # original, 4 frames, WAV

    with django_capture_on_commit_callbacks(execute=True):
        erased = battle_erase(battle_id=battle.pk)

    assert erased["images"] == 1
    assert not MediaRendition.objects.exists()
    assert not [p for p in media_root.rglob("*") if p.is_file()]


def _finish(battle_id: str) -> None:
    Response.objects.filter(turn__battle_id=battle_id).update(status=Response.Status.DONE, text="ok")


def test_a_follow_up_video_keeps_its_own_frame_count_and_a_retry_keeps_the_first() -> None:
    for _ in range(2):
        model_make(input_modalities=["text", "video"])
    client, token = voter_client()
    created = _post(client, token, video=_upload(video_bytes("mp4"), "clip.mp4"), frames="2")
    assert created.status_code == 201, created.content
    battle_id = created.json()["id"]
    _finish(battle_id)
    follow_up = client.post(
        f"/api/v1/battles/{battle_id}/turns",
        data={"prompt": "And this one?", "video": _upload(video_bytes("webm"), "b.webm"), "frames": "3"},
        headers={"X-CSRFToken": token},
    )
    assert follow_up.status_code == 201, follow_up.content
    assert [len(turn["video_frames"]) for turn in follow_up.json()["turns"]] == [2, 3]
    _finish(battle_id)
    retried = client.post(f"/api/v1/battles/{battle_id}/retry", headers={"X-CSRFToken": token})
    assert retried.status_code == 201, retried.content
    link = TurnAttachment.objects.get(turn__battle_id=retried.json()["id"])
    assert link.frames == 2


def test_a_follow_up_video_to_a_pair_that_cannot_read_it_is_refused_without_naming_them() -> None:
    for number in range(2):
        model_make(input_modalities=["text", "image"], display_name=f"Secret {number}")
    client, token = voter_client()
    created = _post(client, token)
    battle_id = created.json()["id"]
    _finish(battle_id)
    follow_up = client.post(
        f"/api/v1/battles/{battle_id}/turns",
        data={"prompt": "And this?", "video": _upload(video_bytes("mp4"), "clip.mp4")},
        headers={"X-CSRFToken": token},
    )
    assert follow_up.status_code == 400
    detail = follow_up.json()["detail"]
    assert "cannot read video" in detail and "Secret" not in detail
