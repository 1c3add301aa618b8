"""Audio uploads, and the sound models hear: 16 kHz mono 16-bit PCM WAV.

An audio file (WAV, MP3, M4A, OGG, FLAC, WebM) is probed before anything is decoded, then decoded in
a child process with limits (arena.media_av, arena.media_decode). The WAV is derived once per asset
and reused; a video's sound is derived the same way (arena.video).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings

from arena import media_av
from arena.media_decode import WAV_RATE
from arena.models import MediaAsset, MediaRendition
from core.errors import NotFound

__all__ = ["WAV_RATE", "audio_asset_create", "audio_wav_get"]


def audio_wav_build(*, path: str, demuxer: str, max_seconds: float, out: Path) -> dict[str, Any]:
    """Decode the first audio stream of the file at `path` into out/audio.wav; its meta."""
    return media_av.decode_run(command="wav", args=[path, demuxer, repr(max_seconds), str(out / "audio.wav")])


def audio_asset_create(*, data: bytes) -> MediaAsset:
    """Check an uploaded audio file (its container, size, length and an audio stream that decodes),
    store it as uploaded, and derive its 16 kHz mono WAV."""
    with media_av.upload_file(data) as path, media_av.build_dir() as out:
        probe = media_av.media_probe(
            data=data,
            path=path,
            kind="audio",
            max_seconds=settings.ARENA_MAX_AUDIO_SECONDS,
        )
        # Decoded before it is stored: a file that only looks like audio is refused, not kept.
        meta = audio_wav_build(
            path=path, demuxer=probe.container.demuxer, max_seconds=settings.ARENA_MAX_AUDIO_SECONDS, out=out
        )
        asset = media_av.original_store(
            data=data, kind=MediaAsset.Kind.AUDIO, mime_type=probe.container.mime_type, probe=probe
        )
        media_av.rendition_save(
            asset=asset, kind=MediaRendition.Kind.WAV, frame_count=0, meta=meta, built=out
        )
    return asset


def audio_wav_get(*, asset: MediaAsset) -> bytes:
    """The 16 kHz mono PCM WAV of an audio asset, or of a video's sound; NotFound for a video
    without sound."""
    rendition = MediaRendition.objects.filter(asset=asset, kind=MediaRendition.Kind.WAV).first()
    if rendition is None and asset.kind == MediaAsset.Kind.AUDIO:
        with media_av.build_dir() as out:
            source = media_av.original_path(asset=asset)
            meta = audio_wav_build(
                path=str(source),
                demuxer=media_av.DEMUXERS[asset.mime_type],
                max_seconds=settings.ARENA_MAX_AUDIO_SECONDS,
                out=out,
            )
            rendition = media_av.rendition_save(asset=asset, kind="wav", frame_count=0, meta=meta, built=out)
    if rendition is None:
        raise NotFound("This video has no sound.")
    try:
        return (media_av.rendition_path(asset=asset, kind="wav") / "audio.wav").read_bytes()
    except FileNotFoundError:
        raise NotFound("There is no such file: it was erased.") from None
