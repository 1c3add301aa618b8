"""Audio uploads, and the sound models hear: 16 kHz mono 16-bit PCM WAV.

An audio file (WAV, MP3, M4A, OGG, FLAC, WebM) is probed before anything is decoded, then decoded in
a child process with limits (arena.media_av, arena.media_decode), and stored remuxed without its
metadata (ID3, iTunes or Vorbis tags, cover pictures: arena.media_av.original_remux). The WAV is derived
once per asset and reused, with its waveform's peaks for the page; a video's sound is derived the same
way (arena.video).
"""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

from django.conf import settings

from arena import media_av
from arena.media_decode import WAV_RATE, wav_peaks
from arena.models import MediaAsset, MediaRendition
from core.errors import NotFound

__all__ = ["WAV_RATE", "audio_asset_create", "audio_peaks_get", "audio_wav_get"]


def audio_wav_build(*, path: str, demuxer: str, max_seconds: float, out: Path) -> dict[str, Any]:
    """Decode the first audio stream of the file at `path` into out/audio.wav; its meta (with "peaks")."""
    return media_av.decode_run(command="wav", args=[path, demuxer, repr(max_seconds), str(out / "audio.wav")])


def audio_asset_create(*, data: bytes) -> MediaAsset:
    """Check an uploaded audio file (its container, size, length and an audio stream that decodes),
    store it remuxed without its metadata, and derive its 16 kHz mono WAV."""
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
        stored, mime_type = media_av.original_remux(path=path, kind="audio", probe=probe)
        asset = media_av.original_store(
            data=stored, kind=MediaAsset.Kind.AUDIO, mime_type=mime_type, probe=probe
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


def audio_peaks_get(*, asset: MediaAsset) -> list[float]:
    """The waveform of an audio file or of a video's sound for the page: the loudest sample of each of
    160 equal slices, 0 to 1 (arena.media_decode.wav_peaks); empty when there is no sound (or its WAV
    was erased). A WAV derived before peaks were kept gets them now, from its file."""
    rendition = MediaRendition.objects.filter(asset=asset, kind=MediaRendition.Kind.WAV).first()
    if rendition is None:
        return []
    peaks = rendition.meta.get("peaks")
    if peaks is None:
        try:
            peaks = wav_peaks(path=str(media_av.rendition_path(asset=asset, kind="wav") / "audio.wav"))
        except (OSError, EOFError, wave.Error):
            return []
        MediaRendition.objects.filter(pk=rendition.pk).update(meta={**rendition.meta, "peaks": peaks})
    return [float(peak) for peak in peaks]
