"""Video uploads and the frames models see of them.

A video is probed (container, duration, streams) before anything is decoded, then decoded in a child
process with limits (arena.media_av, arena.media_decode). Models read `frame_count` frames sampled
uniformly (the middle of each of as many equal parts: the middle frame when 1), re-encoded as JPEG,
with their timestamps, the source fps and duration; a video's sound is kept as a 16 kHz WAV too, for
models that take both (arena.audio.audio_wav_get). Every frame derived is screened as an uploaded image
is (banned images, perceptually, and the classifier: arena.media.image_screen); the original is stored
remuxed without its metadata (arena.media_av.original_remux).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from PIL import Image

from arena import media_av
from arena.audio import audio_wav_build
from arena.media import image_screen
from arena.models import MediaAsset, MediaRendition
from core.errors import InvalidInput, NotFound

FRAMES_MIN = 1
FRAMES_MAX = 32
FRAMES_DEFAULT = 8


@dataclass(frozen=True)
class VideoFrames:
    frames: list[bytes]  # JPEG, in time order
    timestamps: list[float]  # seconds from the start, one per frame
    fps: float | None
    duration: float


def video_frames_check(*, count: int | str | None) -> int:
    """The voter's frame count as a number in range, or InvalidInput with a sentence; blank is 8."""
    if count is None or (isinstance(count, str) and not count.strip()):
        return FRAMES_DEFAULT
    try:
        value = int(count)
    except (TypeError, ValueError):
        raise InvalidInput(
            f"The frame count must be a whole number from {FRAMES_MIN} to {FRAMES_MAX}."
        ) from None
    if not FRAMES_MIN <= value <= FRAMES_MAX:
        raise InvalidInput(
            f"The frame count must be from {FRAMES_MIN} to {FRAMES_MAX} (it was {value}); 8 is the default."
        )
    return value


def _frames_build(
    *, path: str, demuxer: str, count: int, duration: float, fps: float | None, out: Path
) -> dict[str, Any]:
    answer = media_av.decode_run(
        command="frames",
        args=[path, demuxer, str(count), repr(duration), str(out), str(settings.ARENA_IMAGE_MAX_SIDE)],
    )
    # What a model sees of a video is these pictures: a banned image in them refuses the video as the
    # image itself would be (a frame's JPEG is never byte-identical to it; its perceptual hash is close).
    for index in range(count):
        with Image.open(out / f"{index}.jpg") as frame:
            frame.load()
            image_screen(image=frame, what="video")
    return {
        "timestamps": answer["timestamps"],
        "fps": fps,
        "duration": duration,
        "width": answer["width"],
        "height": answer["height"],
    }


def video_asset_create(*, data: bytes, frames: int = FRAMES_DEFAULT) -> MediaAsset:
    """Check an uploaded video (MP4, WebM or MOV within the size and length limits, with a video stream
    that decodes, no frame of it banned or refused), store it remuxed without its metadata, and derive
    its `frames` frames and its sound (if any)."""
    count = video_frames_check(count=frames)
    with (
        media_av.upload_file(data) as path,
        media_av.build_dir() as frames_out,
        media_av.build_dir() as wav_out,
    ):
        probe = media_av.media_probe(
            data=data,
            path=path,
            kind="video",
            max_seconds=settings.ARENA_MAX_VIDEO_SECONDS,
        )
        demuxer = probe.container.demuxer
        fps = (probe.stream("video") or {}).get("fps")
        # Decoded before it is stored: a file that only looks like a video is refused, not kept.
        meta = _frames_build(
            path=path, demuxer=demuxer, count=count, duration=probe.duration, fps=fps, out=frames_out
        )
        wav_meta = None
        if probe.stream("audio") is not None:
            # Pictures whose sound will not decode are still a video, shown without it.
            with contextlib.suppress(InvalidInput):
                wav_meta = audio_wav_build(
                    path=path, demuxer=demuxer, max_seconds=probe.duration + 1, out=wav_out
                )
        stored, mime_type = media_av.original_remux(path=path, kind="video", probe=probe)
        asset = media_av.original_store(
            data=stored, kind=MediaAsset.Kind.VIDEO, mime_type=mime_type, probe=probe
        )
        media_av.rendition_save(asset=asset, kind="frames", frame_count=count, meta=meta, built=frames_out)
        if wav_meta is not None:
            media_av.rendition_save(asset=asset, kind="wav", frame_count=0, meta=wav_meta, built=wav_out)
    return asset


def video_rendition_get(*, asset: MediaAsset, count: int) -> MediaRendition:
    """The `count` frames of a stored video, derived from its original the first time they are asked for."""
    if asset.kind != MediaAsset.Kind.VIDEO:
        raise InvalidInput("Only a video has frames.")
    count = video_frames_check(count=count)
    rendition = MediaRendition.objects.filter(asset=asset, kind="frames", frame_count=count).first()
    if rendition is not None:
        return rendition
    # The fps of an earlier rendition (the probe that found it was not stored on the asset).
    known = MediaRendition.objects.filter(asset=asset, kind="frames").first()
    fps = known.meta.get("fps") if known is not None else None
    with media_av.build_dir() as out:
        source = media_av.original_path(asset=asset)
        meta = _frames_build(
            path=str(source),
            demuxer=media_av.DEMUXERS[asset.mime_type],
            count=count,
            duration=float(asset.duration_s or 0.0),
            fps=fps,
            out=out,
        )
        return media_av.rendition_save(asset=asset, kind="frames", frame_count=count, meta=meta, built=out)


def video_frames_get(*, asset: MediaAsset, count: int) -> VideoFrames:
    """What a model sees of a video: `count` JPEG frames at uniform times, with their timestamps,
    the source fps and the duration (the same for both sides of a battle: derived once)."""
    rendition = video_rendition_get(asset=asset, count=count)
    folder = media_av.rendition_path(asset=asset, kind="frames", frame_count=rendition.frame_count)
    try:
        frames = [(folder / f"{i}.jpg").read_bytes() for i in range(rendition.frame_count)]
    except FileNotFoundError:
        raise NotFound("There is no such video: it was erased.") from None
    meta = rendition.meta
    return VideoFrames(
        frames=frames,
        timestamps=list(meta["timestamps"]),
        fps=meta.get("fps"),
        duration=float(meta["duration"]),
    )


def video_frame_read(*, asset: MediaAsset, count: int, index: int) -> bytes:
    """One JPEG of a video's `count` frames (for the page's frame strip)."""
    rendition = video_rendition_get(asset=asset, count=count)
    if not 0 <= index < rendition.frame_count:
        raise NotFound("There is no such frame.")
    path = media_av.rendition_path(asset=asset, kind="frames", frame_count=count) / f"{index}.jpg"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise NotFound("There is no such frame: it was erased.") from None
