"""What video and audio uploads share: recognising the container, running FFmpeg in its own process
with limits (arena.media_decode), storing the original and the derivatives models read.

The original is stored remuxed: its picture and sound streams copied packet for packet (not
re-encoded) into a fresh container of the same format with no metadata (no title, artist, comment,
creation time or GPS location, no cover picture, chapters or data tracks), once per content hash of
those bytes (arena.media.media_path), and served only under its attachments' random names to those
who may see the battle (arena.visibility). What models read is re-encoded from decoded pixels and
samples: `MediaRendition` rows, their files under MEDIA_ROOT/renditions/<sha256>/.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from arena.media import media_path
from arena.models import MediaAsset, MediaRendition
from core.errors import InvalidInput, NotFound, PayloadTooLarge, UnsupportedMedia

_PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Container:
    demuxer: str  # FFmpeg's name for the only demuxer allowed to read the file
    mime_type: str


def container_sniff(*, data: bytes, kind: str) -> Container | None:
    """The container the file's first bytes announce, if it is one accepted for `kind` ("video" or
    "audio"); None otherwise. FFmpeg is then told to use that demuxer alone, never to guess."""
    head = data[:16]
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return Container("matroska", f"{kind}/webm")
    if head[4:8] == b"ftyp" or head[4:8] in (b"moov", b"mdat", b"wide", b"free"):
        brand = head[8:12]
        if kind == "audio":
            return Container("mov", "audio/mp4")
        return Container(
            "mov", "video/quicktime" if brand == b"qt  " or head[4:8] != b"ftyp" else "video/mp4"
        )
    if kind == "video":
        return None
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return Container("wav", "audio/wav")
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return Container("mp3", "audio/mpeg")
    if head.startswith(b"OggS"):
        return Container("ogg", "audio/ogg")
    if head.startswith(b"fLaC"):
        return Container("flac", "audio/flac")
    return None


def decode_run(*, command: str, args: list[str]) -> dict[str, Any]:
    """Run one arena.media_decode command in a child process under the decode limits; its answer, or
    InvalidInput with the child's sentence (or with why it was stopped)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(_PROJECT_ROOT),
        "ARENA_DECODE_MEMORY_BYTES": str(settings.ARENA_MEDIA_DECODE_MEMORY_MB * 1024 * 1024),
        "ARENA_DECODE_CPU_SECONDS": str(max(1, int(settings.ARENA_MEDIA_DECODE_TIMEOUT_S))),
    }
    try:
        done = subprocess.run(
            [sys.executable, "-m", "arena.media_decode", command, *args],
            capture_output=True,
            timeout=settings.ARENA_MEDIA_DECODE_TIMEOUT_S,
            env=env,
            cwd=_PROJECT_ROOT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise InvalidInput(
            "The file took too long to decode; please upload a shorter or smaller one."
        ) from None
    try:
        answer = json.loads(done.stdout.decode() or "null")
    except ValueError:
        answer = None
    if isinstance(answer, dict) and "error" in answer:
        raise InvalidInput(str(answer["error"]))
    if done.returncode != 0 or not isinstance(answer, dict):
        # Killed at its CPU or memory limit, or crashed inside FFmpeg: the file is what was wrong.
        raise InvalidInput(
            "The file took too long or too much memory to decode, or is damaged; "
            "please upload a shorter or smaller one."
        )
    return answer


@contextmanager
def upload_file(data: bytes) -> Iterator[str]:
    """The upload in a private temporary file, for the child to read."""
    with tempfile.NamedTemporaryFile(prefix="upload-", suffix=".bin") as handle:
        handle.write(data)
        handle.flush()
        yield handle.name


@dataclass(frozen=True)
class Probe:
    container: Container
    duration: float
    streams: list[dict[str, Any]]

    def stream(self, kind: str) -> dict[str, Any] | None:
        return next((s for s in self.streams if s["type"] == kind), None)


def media_size_check(*, size: int | None, kind: str) -> None:
    """Refuse a video or audio file over its size limit (ARENA_MAX_VIDEO_BYTES, ARENA_MAX_AUDIO_BYTES)."""
    label = "video" if kind == "video" else "audio file"
    limit = settings.ARENA_MAX_VIDEO_BYTES if kind == "video" else settings.ARENA_MAX_AUDIO_BYTES
    if size is not None and size > limit:
        raise PayloadTooLarge(
            f"The {label} is {size / 1_000_000:.3g} MB; the limit is {limit / 1_000_000:.3g} MB."
        )


def media_probe(*, data: bytes, path: str, kind: str, max_seconds: float) -> Probe:
    """Size, container, duration and streams, checked before anything is decoded."""
    label = "video" if kind == "video" else "audio file"
    if not data:
        raise InvalidInput(f"The uploaded {label} is empty.")
    media_size_check(size=len(data), kind=kind)
    container = container_sniff(data=data, kind=kind)
    if container is None:
        formats = (
            "an MP4, WebM or MOV video" if kind == "video" else "a WAV, MP3, M4A, OGG, FLAC or WebM file"
        )
        raise UnsupportedMedia(
            f"That file is not {'a video' if kind == 'video' else 'audio'} we can read. "
            f"Please upload {formats}."
        )
    answer = decode_run(command="probe", args=[path, container.demuxer, str(max_seconds)])
    streams = [s for s in answer["streams"] if s["type"] in ("video", "audio")]
    if not any(s["type"] == kind for s in streams):
        raise InvalidInput(
            f"The file has no {kind} stream; please upload a {label} with "
            f"{'pictures' if kind == 'video' else 'sound'}."
        )
    duration = answer.get("duration")
    if not duration or duration <= 0:
        raise InvalidInput(f"The {label}'s length cannot be read; it may be truncated or damaged.")
    # Half a second of slack: an encoder's padding makes a recording of the limit's length a little longer.
    if duration > max_seconds + 0.5:
        raise InvalidInput(
            f"The {label} is {_length(duration)} long; the limit is {_length(max_seconds)}. "
            "Please upload a shorter one."
        )
    return Probe(container=container, duration=float(duration), streams=streams)


def _length(seconds: float) -> str:
    if seconds >= 3600:
        value, unit = seconds / 3600, "hour"
    elif seconds >= 120:
        value, unit = seconds / 60, "minute"
    else:
        value, unit = seconds, "second"
    shown = f"{round(value, 1):g}"
    return f"{shown} {unit}" if shown == "1" else f"{shown} {unit}s"


def rendition_dir(*, asset: MediaAsset) -> Path:
    return Path(settings.MEDIA_ROOT) / "renditions" / asset.sha256[:2] / asset.sha256


def rendition_files(*, asset: MediaAsset) -> list[Path]:
    """Every derivative file of an asset (for arena.retention to delete with it)."""
    root = rendition_dir(asset=asset)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


# The muxers that may write a remuxed original, tried in order: the format's own, then a wider one of
# the same family for codecs it does not take (H.264 in a Matroska file, PCM in an MP4).
MUXERS = {
    "video/mp4": ("mp4", "mov"),
    "video/quicktime": ("mov",),
    "video/webm": ("webm", "matroska"),
    "audio/mp4": ("ipod", "mp4", "mov"),
    "audio/webm": ("webm", "matroska"),
    "audio/wav": ("wav",),
    "audio/mpeg": ("mp3",),
    "audio/ogg": ("ogg",),
    "audio/flac": ("flac",),
}


def original_remux(*, path: str, kind: str, probe: Probe) -> tuple[bytes, str]:
    """The upload at `path` remuxed without its metadata (see the module's docstring), and its MIME
    type: the upload's, or QuickTime's for an MP4 whose codecs only a MOV holds. A file that cannot be
    remuxed is refused with a sentence rather than kept as it came."""
    mime_type = probe.container.mime_type
    with build_dir() as folder:
        out = folder / "original"  # the muxer is named: no extension is read
        answer = decode_run(
            command="remux",
            args=[path, probe.container.demuxer, kind, ",".join(MUXERS[mime_type]), str(out)],
        )
        data = out.read_bytes()
    if mime_type == "video/mp4" and answer["muxer"] == "mov":
        mime_type = "video/quicktime"
    return data, mime_type


def original_store(*, data: bytes, kind: str, mime_type: str, probe: Probe) -> MediaAsset:
    """The remuxed original (original_remux), once per content hash."""
    sha256 = hashlib.sha256(data).hexdigest()
    path = media_path(sha256=sha256, mime_type=mime_type)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
    video = probe.stream("video") if kind == "video" else None
    try:
        with transaction.atomic():
            asset, _ = MediaAsset.objects.get_or_create(
                sha256=sha256,
                defaults={
                    "kind": kind,
                    "mime_type": mime_type,
                    "size_bytes": len(data),
                    "width": video["width"] if video else None,
                    "height": video["height"] if video else None,
                    "duration_s": probe.duration,
                },
            )
    except IntegrityError:
        asset = MediaAsset.objects.get(sha256=sha256)
    return asset


DEMUXERS = {
    "video/mp4": "mov",
    "video/quicktime": "mov",
    "video/webm": "matroska",
    "audio/mp4": "mov",
    "audio/webm": "matroska",
    "audio/wav": "wav",
    "audio/mpeg": "mp3",
    "audio/ogg": "ogg",
    "audio/flac": "flac",
}


def rendition_path(*, asset: MediaAsset, kind: str, frame_count: int = 0) -> Path:
    return rendition_dir(asset=asset) / (f"frames-{frame_count}" if kind == "frames" else "wav")


@contextmanager
def build_dir() -> Iterator[Path]:
    """A private folder for the child to write a derivative into."""
    with tempfile.TemporaryDirectory(prefix="rendition-") as folder:
        yield Path(folder)


def rendition_save(
    *, asset: MediaAsset, kind: str, frame_count: int, meta: dict[str, Any], built: Path
) -> MediaRendition:
    """Copy a freshly built derivative into place and record it; one made meanwhile by a concurrent
    request is kept instead (they are the same frames)."""
    existing = MediaRendition.objects.filter(asset=asset, kind=kind, frame_count=frame_count).first()
    if existing is not None:
        return existing
    target = rendition_path(asset=asset, kind=kind, frame_count=frame_count)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
    for file in built.iterdir():
        shutil.copyfile(file, staging / file.name)
    try:
        staging.replace(target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)  # a concurrent request placed the same files first
    try:
        with transaction.atomic():
            rendition, _ = MediaRendition.objects.get_or_create(
                asset=asset, kind=kind, frame_count=frame_count, defaults={"meta": meta}
            )
    except IntegrityError:
        rendition = MediaRendition.objects.get(asset=asset, kind=kind, frame_count=frame_count)
    return rendition


def original_path(*, asset: MediaAsset) -> Path:
    path = media_path(sha256=asset.sha256, mime_type=asset.mime_type)
    if not path.exists():
        raise NotFound("There is no such file: it was erased.")
    return path
