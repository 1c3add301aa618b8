"""The child process that lets FFmpeg (through PyAV) parse uploaded video and audio.

FFmpeg's demuxers and decoders read untrusted bytes, so they never run in the web process: arena.video
and arena.audio start `python -m arena.media_decode <command> ...` with a wall-clock timeout, and this
module limits its own memory and CPU time before it imports PyAV. It answers one JSON object on stdout;
a refusal is `{"error": "<a sentence>"}` with exit status 2. It imports nothing of Django.

Commands:
  probe PATH FORMAT MAX_SECONDS           container, duration and streams, demuxed but not decoded
  frames PATH FORMAT COUNT DURATION DIR MAX_SIDE   COUNT frames at uniform times, as DIR/<i>.jpg
  wav PATH FORMAT MAX_SECONDS OUT          the first audio stream as 16 kHz mono 16-bit PCM WAV, with
                                           its waveform's peaks
  remux PATH FORMAT KIND MUXERS OUT        the first video (for KIND video) and audio streams copied packet
                                           for packet into OUT, a fresh container written by the first of
                                           the comma-separated MUXERS that takes their codecs, with no
                                           metadata, chapters, cover pictures or other streams
"""

from __future__ import annotations

import json
import os
import resource
import sys
import wave
from typing import Any

WAV_RATE = 16_000
PEAKS = 160


class Refused(Exception):
    pass


def _limits_set() -> None:
    memory = int(os.environ.get("ARENA_DECODE_MEMORY_BYTES", "0"))
    cpu = int(os.environ.get("ARENA_DECODE_CPU_SECONDS", "0"))
    if memory > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    if cpu > 0:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    # No core dumps of a crashed decoder (they would hold the upload's bytes).
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _open(path: str, container_format: str) -> Any:
    import av

    try:
        # Only the demuxer arena.video/arena.audio chose from the file's magic bytes, never FFmpeg's guess.
        return av.open(path, format=container_format, options={"probesize": "5000000"})
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise Refused(
            f"The file could not be read as a {container_format} container ({_reason(exc)}); "
            "it may be truncated or not a real media file."
        ) from None


def _reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).split(":")[-1].strip() or type(exc).__name__


def _usable(stream: Any) -> bool:
    if stream.type == "video":
        # An MP3's or M4A's cover picture is a "video" stream of one still image.
        return not (stream.disposition & stream.disposition.attached_pic) and stream.codec_context is not None
    return stream.type == "audio" and stream.codec_context is not None


def _seconds(value: Any, time_base: Any) -> float | None:
    if value is None or time_base is None:
        return None
    return float(value * time_base)


def probe(path: str, container_format: str, max_seconds: float) -> dict[str, Any]:
    import av

    with _open(path, container_format) as container:
        streams = []
        for stream in container.streams:
            if not _usable(stream):
                continue
            entry: dict[str, Any] = {
                "index": stream.index,
                "type": stream.type,
                "codec": stream.codec_context.name,
                "duration": _seconds(stream.duration, stream.time_base),
            }
            if stream.type == "video":
                rate = stream.average_rate or stream.guessed_rate
                entry.update(
                    fps=float(rate) if rate else None,
                    width=stream.codec_context.width,
                    height=stream.codec_context.height,
                )
            else:
                entry.update(
                    sample_rate=stream.codec_context.sample_rate, channels=stream.codec_context.channels
                )
            streams.append(entry)
        duration = container.duration / av.time_base if container.duration else None
        known = [s["duration"] for s in streams if s["duration"]]
        if duration is None and known:
            duration = max(known)
        if duration is None and streams:
            # A recording from a browser (MediaRecorder's WebM) says no duration: the packets' times
            # tell it, read without decoding and given up past the limit.
            last = 0.0
            try:
                for packet in container.demux():
                    if packet.pts is not None and packet.time_base is not None:
                        last = max(last, float((packet.pts + (packet.duration or 0)) * packet.time_base))
                        if last > max_seconds + 1:
                            break
            except av.error.FFmpegError as exc:
                raise Refused(f"The file is damaged ({_reason(exc)}); it may be truncated.") from None
            duration = last or None
        return {"format": container.format.name, "duration": duration, "streams": streams}


def frames(
    path: str, container_format: str, count: int, duration: float, out_dir: str, max_side: int
) -> dict:
    import av

    with _open(path, container_format) as container:
        stream = next((s for s in container.streams.video if _usable(s)), None)
        if stream is None:
            raise Refused("The file has no video stream.")
        stream.thread_type = "AUTO"
        start = _seconds(stream.start_time, stream.time_base) or 0.0
        # The middle of each of `count` equal parts: the middle frame when there is one.
        targets = [(i + 0.5) * duration / count for i in range(count)]
        best: list[tuple[float, float, Any] | None] = [None] * count
        decoded = 0
        try:
            for frame in container.decode(stream):
                if frame.pts is None:
                    continue
                at = float(frame.pts * frame.time_base) - start
                decoded += 1
                for i, target in enumerate(targets):
                    distance = abs(at - target)
                    current = best[i]
                    if current is None or distance < current[0]:
                        best[i] = (distance, at, frame)
                if at > duration + 1:
                    break
        except av.error.FFmpegError as exc:
            if not decoded:
                raise Refused(f"The video could not be decoded ({_reason(exc)}).") from None
            # A damaged tail: the frames before it are what the file shows.
        if not decoded:
            raise Refused("The video stream holds no frames that can be decoded.")
        timestamps = []
        size = None
        for i, chosen in enumerate(best):
            assert chosen is not None
            _, at, frame = chosen
            image = frame.to_image()  # pixels only: nothing of the container's metadata
            if max(image.size) > max_side:
                image.thumbnail((max_side, max_side))
            image.convert("RGB").save(os.path.join(out_dir, f"{i}.jpg"), format="JPEG", quality=90)
            timestamps.append(round(at, 4))
            size = image.size
        assert size is not None
        return {"timestamps": timestamps, "width": size[0], "height": size[1], "decoded_frames": decoded}


def wav(path: str, container_format: str, max_seconds: float, out: str) -> dict[str, Any]:
    import av

    with _open(path, container_format) as container:
        stream = next(iter(container.streams.audio), None)
        if stream is None:
            raise Refused("The file has no audio stream.")
        resampler = av.AudioResampler(format="s16", layout="mono", rate=WAV_RATE)
        samples = 0
        limit = int((max_seconds + 1) * WAV_RATE)
        with wave.open(out, "wb") as writer:
            writer.setnchannels(1)
            writer.setsampwidth(2)
            writer.setframerate(WAV_RATE)

            def write(chunks: list[Any]) -> None:
                nonlocal samples
                for chunk in chunks:
                    writer.writeframes(bytes(chunk.planes[0])[: chunk.samples * 2])
                    samples += chunk.samples

            try:
                for frame in container.decode(stream):
                    write(resampler.resample(frame))
                    if samples > limit:
                        raise Refused(f"The audio is longer than {max_seconds:g} seconds.")
            except av.error.FFmpegError as exc:
                if not samples:
                    raise Refused(f"The audio could not be decoded ({_reason(exc)}).") from None
            write(resampler.resample(None))
        if not samples:
            raise Refused("The audio stream holds no sound that can be decoded.")
        return {
            "sample_rate": WAV_RATE,
            "samples": samples,
            "duration": samples / WAV_RATE,
            "peaks": wav_peaks(path=out),
        }


def wav_peaks(*, path: str, count: int = PEAKS) -> list[float]:
    """The loudest |sample| of each of `count` equal slices of a 16-bit mono WAV (fewer for a sound
    shorter than `count` samples), from 0 to 1 to three decimals: the page draws the waveform from them."""
    import numpy as np

    with wave.open(path, "rb") as reader:
        samples = np.frombuffer(reader.readframes(reader.getnframes()), dtype="<i2")
    if not len(samples):
        return []
    loudness = np.abs(samples.astype(np.int32))
    slices = np.array_split(loudness, min(count, len(loudness)))
    return [round(min(1.0, int(part.max()) / 32767), 3) for part in slices]


class _MuxerRefused(Exception):
    """The muxer cannot hold these streams: the next one is tried."""


def remux(path: str, container_format: str, kind: str, muxers: str, out: str) -> dict[str, Any]:
    reasons = []
    for muxer in muxers.split(","):
        try:
            packets = _remux_into(path, container_format, kind, muxer, out)
        except _MuxerRefused as exc:
            reasons.append(str(exc))
            continue
        return {"muxer": muxer, "packets": packets}
    label = "video" if kind == "video" else "audio file"
    raise Refused(
        f"The {label} could not be stored without its metadata ({reasons[-1]}); "
        "please upload it in another format."
    )


def _remux_into(path: str, container_format: str, kind: str, muxer: str, out: str) -> int:
    import av

    with _open(path, container_format) as source:
        # The streams the frames and the WAV are made from (see frames and wav); nothing else of the
        # file: a cover picture, subtitles, a data track (a camera's GPS telemetry) or attachments.
        video = next((s for s in source.streams.video if _usable(s)), None) if kind == "video" else None
        audio = next(iter(source.streams.audio), None)
        chosen = [stream for stream in (video, audio) if stream is not None]
        if not chosen:
            raise Refused(f"The file has no {kind} stream.")
        # Bit-exact: no encoder version, no random segment or stream ids, no creation time, so the same
        # streams make the same bytes (and so one stored asset).
        try:
            with av.open(out, "w", format=muxer, options={"fflags": "+bitexact"}) as target:
                copies = {}
                for stream in chosen:
                    try:
                        # The codec parameters only: the stream's metadata (title, language, handler name,
                        # creation time) is not copied.
                        copies[stream.index] = target.add_stream_from_template(stream, opaque=True)
                    except ValueError:
                        raise _MuxerRefused(f"{muxer} cannot hold {stream.codec_context.name}") from None
                copied = 0
                packets = source.demux(chosen)
                while True:
                    try:
                        packet = next(packets)
                    except StopIteration:
                        break
                    except av.error.FFmpegError as exc:
                        if not copied:
                            raise Refused(
                                f"The file is damaged ({_reason(exc)}); it may be truncated."
                            ) from None
                        break  # a damaged tail: the frames and the WAV were made from what came before it
                    if packet.size == 0:
                        continue  # a demuxer's end-of-stream marker, not data
                    packet.stream = copies[packet.stream.index]
                    target.mux(packet)
                    copied += 1
                if not copied:
                    raise Refused("The file holds no packets to store.")
        except (av.error.FFmpegError, ValueError) as exc:
            # Writing its header, a packet or its trailer: the streams are not what this muxer holds.
            raise _MuxerRefused(f"{muxer}: {_reason(exc)}") from None
        return copied


def main(argv: list[str]) -> int:
    _limits_set()
    command, *args = argv
    try:
        if command == "probe":
            result = probe(args[0], args[1], float(args[2]))
        elif command == "frames":
            result = frames(args[0], args[1], int(args[2]), float(args[3]), args[4], int(args[5]))
        elif command == "wav":
            result = wav(args[0], args[1], float(args[2]), args[3])
        elif command == "remux":
            result = remux(args[0], args[1], args[2], args[3], args[4])
        else:
            raise Refused(f"Unknown command {command!r}.")
    except Refused as exc:
        print(json.dumps({"error": str(exc)}))
        return 2
    except MemoryError:
        print(json.dumps({"error": "The file needs more memory to decode than an upload may use."}))
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
