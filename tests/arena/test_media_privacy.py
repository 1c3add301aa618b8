"""What a video or audio upload tells its viewers beyond its pictures and sound: nothing. The original is
served remuxed without its container and stream metadata (arena.media_av.original_remux), and every
frame derived of a video is screened as an uploaded image is (arena.media.image_screen)."""

from __future__ import annotations

import io
import struct
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from django.test import Client
from PIL import Image, ImageFilter

from arena.media import image_asset_create, image_ban, media_asset_read
from arena.media_av import Container, container_sniff
from arena.models import Battle, MediaAsset, MediaRendition
from arena.video import video_asset_create, video_rendition_get
from core.errors import NotAllowed
from tests.arena.av_media import _tone_encode, audio_bytes, video_bytes
from tests.factories import model_make, voter_client

pytestmark = pytest.mark.django_db

SECRETS = ("Secret holiday clip", "Jane Doe", "call me on 555 0199", "Private album")
CONTAINER_TAGS = {
    "title": SECRETS[0],
    "artist": SECRETS[1],
    "comment": SECRETS[2],
    "album": SECRETS[3],
    "location": "+48.8584+002.2945/",
    "creation_time": "2021-07-14T09:30:00Z",
}
STREAM_TAGS = {"title": "Jane Doe's phone camera", "handler_name": "Jane Doe's phone", "language": "fra"}
# What a fresh container may still say: the muxer's own identification (no version: bit-exact) and the
# format's fixed fields.
HARMLESS = {"major_brand", "minor_version", "compatible_brands", "encoder", "ENCODER", "language"}
HARMLESS |= {"handler_name", "vendor_id", "DURATION"}

_FORMATS = {  # (demuxer, muxer) of each test file's format
    "mp4": ("mov", "mp4"),
    "mov": ("mov", "mov"),
    "webm": ("matroska", "webm"),
    "m4a": ("mov", "ipod"),
}

CLASSIFIER_CALLS: list[tuple[int, int]] = []


def count_frames(image: Image.Image) -> str | None:
    CLASSIFIER_CALLS.append(image.size)
    return None


def refuse_everything(image: Image.Image) -> str | None:
    return "it shows something this site does not accept."


def broken_classifier(image: Image.Image) -> str | None:
    raise ConnectionError("the classifier service is down")


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    CLASSIFIER_CALLS.clear()
    return tmp_path


def _tagged(data: bytes, fmt: str, tags: dict[str, str], stream_tags: dict[str, str]) -> bytes:
    """`data` with `tags` on its container and `stream_tags` on each stream, as a phone or a tagger
    writes them (the streams copied as they are)."""
    demuxer, muxer = _FORMATS[fmt]
    out = io.BytesIO()
    with av.open(io.BytesIO(data), "r", format=demuxer) as source, av.open(out, "w", format=muxer) as target:
        target.metadata.update(tags)
        copies = {}
        for stream in source.streams:
            copy = target.add_stream_from_template(stream, opaque=True)
            copy.metadata.update(stream_tags)
            copies[stream.index] = copy
        for packet in source.demux():
            if packet.size:
                packet.stream = copies[packet.stream.index]
                target.mux(packet)
    return out.getvalue()


def _id3_frame(frame_id: str, body: bytes) -> bytes:
    return frame_id.encode() + struct.pack(">I", len(body)) + b"\0\0" + body


def _tagged_mp3(*, title: str = SECRETS[0]) -> bytes:
    """An MP3 as a tagger leaves it: an ID3v2.3 tag with title, artist, comment, album and a cover
    photo (APIC) before the MPEG frames."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp3", options={"id3v2_version": "0", "write_xing": "0"}) as container:
        stream: Any = container.add_stream("libmp3lame", rate=44100)
        stream.layout = "mono"
        _tone_encode(container, stream, seconds=1.0, rate=44100, channels=1)
    cover = io.BytesIO()
    Image.new("RGB", (32, 32), "blue").save(cover, format="JPEG")
    frames = b"".join(
        [
            _id3_frame("TIT2", b"\0" + title.encode()),
            _id3_frame("TPE1", b"\0" + SECRETS[1].encode()),
            _id3_frame("COMM", b"\0eng\0" + SECRETS[2].encode()),
            _id3_frame("TALB", b"\0" + SECRETS[3].encode()),
            _id3_frame("APIC", b"\0image/jpeg\0\x03Jane at home\0" + cover.getvalue()),
        ]
    )
    size = len(frames)
    syncsafe = bytes([(size >> 21) & 0x7F, (size >> 14) & 0x7F, (size >> 7) & 0x7F, size & 0x7F])
    return b"ID3\x03\x00\x00" + syncsafe + frames + out.getvalue()


def _metadata(data: bytes, demuxer: str) -> tuple[dict[str, str], list[dict[str, str]], int]:
    """Container tags, each stream's tags and the number of streams, as FFmpeg reads them."""
    with av.open(io.BytesIO(data), "r", format=demuxer) as container:
        return (
            dict(container.metadata),
            [dict(stream.metadata) for stream in container.streams],
            len(container.streams),
        )


def _decoded(data: bytes, demuxer: str, kind: str) -> tuple[int, float]:
    """How many video frames (or audio samples) the file decodes to, and its duration in seconds."""
    with av.open(io.BytesIO(data), "r", format=demuxer) as container:
        if kind == "video":
            count = sum(1 for _ in container.decode(container.streams.video[0]))
        else:
            count = sum(frame.samples for frame in container.decode(container.streams.audio[0]))
        return count, float(container.duration or 0) / av.time_base


def _assert_no_metadata(data: bytes, demuxer: str) -> None:
    tags, stream_tags, _ = _metadata(data, demuxer)
    for found in (tags, *stream_tags):
        assert set(found) <= HARMLESS, found
        assert not {"title", "comment", "artist", "location", "creation_time"} & {k.lower() for k in found}
        values = " ".join(found.values())
        assert "Jane" not in values and "48.8584" not in values, found
        if "encoder" in {k.lower() for k in found}:
            assert next(v for k, v in found.items() if k.lower() == "encoder") == "Lavf"
    for secret in SECRETS:
        assert secret.encode() not in data


def _post(client: Client, token: str, **files: Any) -> Any:
    return client.post(
        "/api/v1/battles", data={"prompt": "What is this?", **files}, headers={"X-CSRFToken": token}
    )


def _upload(data: bytes, name: str) -> io.BytesIO:
    file = io.BytesIO(data)
    file.name = name
    return file


def _served(client: Client, battle_id: str, key: str) -> bytes:
    turn = client.get(f"/api/v1/battles/{battle_id}").json()["turns"][0]
    response = client.get(turn[key])
    assert response.status_code == 200
    return response.content


def _stored_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


# ---- Originals without metadata ----


@pytest.mark.parametrize("fmt", ["mp4", "mov", "webm"])
def test_a_videos_original_is_served_without_its_container_or_stream_metadata(fmt: str) -> None:
    for _ in range(2):
        model_make(input_modalities=["text", "video"])
    upload = _tagged(video_bytes(fmt, seconds=2.0, sound=True), fmt, CONTAINER_TAGS, STREAM_TAGS)
    demuxer = _FORMATS[fmt][0]
    tags, _, _ = _metadata(upload, demuxer)
    assert SECRETS[0] in tags.values(), "the upload carries the tags"
    client, token = voter_client()

    response = _post(client, token, video=_upload(upload, f"clip.{fmt}"))

    assert response.status_code == 201, response.content
    served = _served(client, response.json()["id"], "video_url")
    _assert_no_metadata(served, demuxer)
    frames, duration = _decoded(served, demuxer, "video")
    assert (frames, duration) == pytest.approx(_decoded(upload, demuxer, "video"), abs=0.05)
    assert frames == 48
    assert _metadata(served, demuxer)[2] == 2, "its picture and its sound"
    expected = {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm"}[fmt]
    assert MediaAsset.objects.get(kind="video").mime_type == expected


def test_an_mp3s_id3_tags_and_cover_photo_are_not_served() -> None:
    for _ in range(2):
        model_make(input_modalities=["text", "audio"])
    upload = _tagged_mp3()
    tags, _, streams = _metadata(upload, "mp3")
    assert tags["title"] == SECRETS[0] and streams == 2, "the upload carries its tags and its cover"
    client, token = voter_client()

    response = _post(client, token, audio=_upload(upload, "song.mp3"))

    assert response.status_code == 201, response.content
    served = _served(client, response.json()["id"], "audio_url")
    _assert_no_metadata(served, "mp3")
    assert b"JFIF" not in served and _metadata(served, "mp3")[2] == 1, "no cover photo"
    samples, duration = _decoded(served, "mp3", "audio")
    uploaded_samples, uploaded_duration = _decoded(upload, "mp3", "audio")
    # The fresh Xing header states the encoder's delay, which a decoder then skips: within one frame.
    assert samples == pytest.approx(uploaded_samples, abs=1152)
    assert duration == pytest.approx(uploaded_duration, abs=0.05)
    assert MediaAsset.objects.get(kind="audio").mime_type == "audio/mpeg"


def test_an_m4as_itunes_tags_are_not_served() -> None:
    for _ in range(2):
        model_make(input_modalities=["text", "audio"])
    upload = _tagged(audio_bytes("m4a"), "m4a", CONTAINER_TAGS, STREAM_TAGS)
    assert _metadata(upload, "mov")[0]["artist"] == SECRETS[1]
    client, token = voter_client()

    response = _post(client, token, audio=_upload(upload, "voice.m4a"))

    assert response.status_code == 201, response.content
    served = _served(client, response.json()["id"], "audio_url")
    _assert_no_metadata(served, "mov")
    assert _decoded(served, "mov", "audio") == pytest.approx(_decoded(upload, "mov", "audio"), rel=0.01)
    assert MediaAsset.objects.get(kind="audio").mime_type == "audio/mp4"


def test_the_same_clip_uploaded_twice_or_with_other_tags_is_stored_once(media_root: Path) -> None:
    clip = video_bytes("mp4", seconds=1.0)
    first = video_asset_create(data=_tagged(clip, "mp4", CONTAINER_TAGS, STREAM_TAGS))
    again = video_asset_create(data=_tagged(clip, "mp4", CONTAINER_TAGS, STREAM_TAGS))
    retagged = video_asset_create(data=_tagged(clip, "mp4", {"title": "Another title"}, {}))

    assert first.pk == again.pk == retagged.pk
    assert len(list(media_root.rglob("*.mp4"))) == 1


def test_a_matroska_video_whose_codec_webm_cannot_hold_is_kept_as_matroska() -> None:
    out = io.BytesIO()
    with av.open(out, "w", format="matroska") as container:
        container.metadata["title"] = SECRETS[0]
        stream: Any = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(24):
            pixels = np.full((48, 64, 3), i * 10, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)

    asset = video_asset_create(data=out.getvalue())

    assert asset.mime_type == "video/webm"
    stored = media_asset_read(asset=asset)
    assert stored.startswith(b"\x1a\x45\xdf\xa3") and b"webm" not in stored[:64], "Matroska, not WebM"
    _assert_no_metadata(stored, "matroska")
    assert _decoded(stored, "matroska", "video")[0] == 24


def test_a_file_that_cannot_be_remuxed_is_refused_with_a_sentence_not_stored_raw(media_root: Path) -> None:
    for _ in range(2):
        model_make(input_modalities=["text", "audio"])
    out = io.BytesIO()
    with av.open(out, "w", format="mp2") as container:  # MPEG layer II: it decodes, no MP3 muxer holds it
        stream: Any = container.add_stream("mp2", rate=44100)
        stream.layout = "mono"
        _tone_encode(container, stream, seconds=1.0, rate=44100, channels=1)
    client, token = voter_client()

    response = _post(client, token, audio=_upload(out.getvalue(), "old.mp3"))

    assert response.status_code == 400
    assert "could not be stored without its metadata" in response.json()["detail"]
    assert not Battle.objects.exists() and not MediaAsset.objects.exists()
    assert _stored_files(media_root) == []


# ---- Video frames screened as images ----


def _picture(seed: int, *, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A photo-like picture (smooth shapes from seeded noise): a flat colour's perceptual hash says
    little, so the tests ban pictures with structure."""
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (size[1] // 16, size[0] // 16, 3), dtype=np.uint8)
    return Image.fromarray(noise).resize(size, Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(4))


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _video_of(*pictures: Image.Image, seconds: float = 2.0, fps: int = 12) -> bytes:
    """An MP4 showing each picture in turn for an equal part of `seconds`."""
    count = round(seconds * fps)
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream: Any = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = pictures[0].size
        stream.pix_fmt = "yuv420p"
        for i in range(count):
            picture = pictures[i * len(pictures) // count]
            for packet in stream.encode(av.VideoFrame.from_image(picture)):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


def _ban(picture: Image.Image) -> None:
    image_ban(asset_or_sha256=image_asset_create(data=_png(picture)), reason="Reported: personal data")


def _videos_stored(root: Path) -> list[Path]:
    return [p for p in _stored_files(root) if "videos" in p.parts or "renditions" in p.parts]


def test_a_video_showing_a_banned_image_is_refused_like_the_image_and_nothing_is_stored(
    media_root: Path,
) -> None:
    for _ in range(2):
        model_make(input_modalities=["text", "video"])
    banned = _picture(1)
    _ban(banned)
    client, token = voter_client()

    refused = _post(client, token, video=_upload(_video_of(banned), "clip.mp4"))
    # Shown only in the last quarter: frames sampled there hold it.
    late = _post(
        client, token, video=_upload(_video_of(_picture(2), _picture(3), _picture(4), banned), "b.mp4")
    )

    for response in (refused, late):
        assert response.status_code == 403, response.content
        assert response.json()["detail"] == (
            "This video cannot be used here: one of its frames matches an image the moderators removed."
        )
    assert not Battle.objects.exists()
    assert not MediaAsset.objects.filter(kind="video").exists() and _videos_stored(media_root) == []

    other = _post(client, token, video=_upload(_video_of(_picture(5)), "c.mp4"))
    assert other.status_code == 201, other.content


def test_frames_derived_later_are_screened_against_images_banned_since() -> None:
    picture = _picture(6)
    asset = video_asset_create(data=_video_of(picture), frames=2)
    _ban(picture)

    with pytest.raises(NotAllowed, match="one of its frames matches an image the moderators removed"):
        video_rendition_get(asset=asset, count=5)

    assert not MediaRendition.objects.filter(asset=asset, kind="frames", frame_count=5).exists()


def test_the_image_classifier_sees_every_frame_and_its_reason_refuses_the_video(settings: Any) -> None:
    settings.ARENA_IMAGE_CLASSIFIER = "tests.arena.test_media_privacy.count_frames"
    asset = video_asset_create(data=_video_of(_picture(7)), frames=4)
    assert CLASSIFIER_CALLS == [(320, 240)] * 4
    video_rendition_get(asset=asset, count=3)
    assert len(CLASSIFIER_CALLS) == 7, "and the frames of a count derived later"

    for _ in range(2):
        model_make(input_modalities=["text", "video"])
    settings.ARENA_IMAGE_CLASSIFIER = "tests.arena.test_media_privacy.refuse_everything"
    client, token = voter_client()
    response = _post(client, token, video=_upload(_video_of(_picture(8)), "clip.mp4"))
    assert response.status_code == 403
    assert response.json()["detail"] == (
        "This video cannot be used here: it shows something this site does not accept."
    )

    settings.ARENA_IMAGE_CLASSIFIER = "tests.arena.test_media_privacy.broken_classifier"
    settings.ARENA_IMAGE_CLASSIFIER_FAIL_CLOSED = True
    closed = _post(client, token, video=_upload(_video_of(_picture(9)), "clip.mp4"))
    assert closed.status_code == 503 and "Videos cannot be checked right now" in closed.json()["detail"]
    assert not Battle.objects.exists()


def test_an_mp4_whose_codec_only_a_mov_holds_is_kept_as_a_mov() -> None:
    out = io.BytesIO()
    with av.open(out, "w", format="mov") as container:
        stream: Any = container.add_stream("prores_ks", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv422p10le"
        for i in range(12):
            pixels = np.full((48, 64, 3), i * 20, np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    # ProRes in a file that calls itself an MP4 (its brand), as some cameras' exports do.
    data = out.getvalue().replace(b"ftypqt  ", b"ftypisom", 1)
    assert container_sniff(data=data, kind="video") == Container("mov", "video/mp4")

    asset = video_asset_create(data=data)

    assert asset.mime_type == "video/quicktime"
    stored = media_asset_read(asset=asset)
    assert stored[4:12] == b"ftypqt  "
    assert _decoded(stored, "mov", "video")[0] == 12
