"""Real media work with PyAV and Pillow: probe, sample frames, write JPEGs, measure what the frames show.

Every function here blocks (decoding, encoding, file I/O): the app runs them in its worker pool, never on the
event loop. Memory stays bounded: frames are decoded one at a time and written straight to disk.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import av
from PIL import Image, ImageChops

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

#: Named reference colours; every measured pixel is counted under the nearest one.
PALETTE: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("black", (0, 0, 0)),
    ("dark grey", (70, 70, 70)),
    ("grey", (128, 128, 128)),
    ("light grey", (190, 190, 190)),
    ("white", (250, 250, 250)),
    ("red", (210, 40, 40)),
    ("dark red", (110, 20, 20)),
    ("orange", (240, 140, 30)),
    ("yellow", (235, 220, 50)),
    ("brown", (120, 80, 40)),
    ("green", (50, 170, 60)),
    ("dark green", (20, 80, 30)),
    ("cyan", (50, 200, 210)),
    ("blue", (40, 90, 230)),
    ("dark blue", (20, 30, 90)),
    ("purple", (130, 50, 170)),
    ("pink", (240, 130, 180)),
)
THUMBNAIL = (64, 64)
MOTION_THRESHOLD = 24


class MediaError(Exception):
    """The file cannot be decoded as media."""


@dataclass(frozen=True)
class MediaInfo:
    """What a probe found in a file."""

    duration: float | None
    has_video: bool
    has_audio: bool
    width: int | None
    height: int | None


@dataclass(frozen=True)
class FrameMeasure:
    """Measurements of one sampled frame."""

    time: float
    brightness: float
    colours: dict[str, float]
    motion: float | None


@dataclass(frozen=True)
class FrameFile:
    """A JPEG written for one sampled frame."""

    index: int
    path: Path
    size: int
    crc32: int
    width: int
    height: int
    measure: FrameMeasure


def probe(path: Path) -> MediaInfo:
    """Open ``path`` with PyAV and decode its first frame, to prove it is media this emulator can use.

    :param path: the stored upload.
    :raises MediaError: when the file is not decodable media.
    """
    try:
        with av.open(str(path)) as container:
            video = container.streams.video[0] if container.streams.video else None
            audio = container.streams.audio[0] if container.streams.audio else None
            if video is None and audio is None:
                raise MediaError("no audio or video stream")
            decoded = next(iter(container.decode(video if video is not None else audio)), None)
            if decoded is None:
                raise MediaError("no frame could be decoded")
            duration = _duration(container)
            return MediaInfo(
                duration=duration,
                has_video=video is not None,
                has_audio=audio is not None,
                width=video.codec_context.width if video is not None else None,
                height=video.codec_context.height if video is not None else None,
            )
    except MediaError:
        raise
    except (av.FFmpegError, StopIteration, ValueError, OSError, IndexError) as exc:
        raise MediaError(type(exc).__name__) from exc


def _duration(container: av.container.InputContainer) -> float | None:
    """Return the container's duration in seconds, from the container or its longest stream.

    :param container: an open input container.
    """
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    lengths = [
        float(stream.duration * stream.time_base)
        for stream in container.streams
        if stream.duration is not None and stream.time_base is not None
    ]
    return max(lengths) if lengths else None


def sample_frames(path: Path, interval: float) -> Iterator[tuple[float, Image.Image]]:
    """Decode the video; yield ``(time, image)`` for the first frame at or after each ``interval`` step.

    :param path: the video file.
    :param interval: seconds between sampled frames.
    """
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        start = float(stream.start_time * stream.time_base) if stream.start_time and stream.time_base else 0.0
        next_time = 0.0
        for frame in container.decode(stream):
            if frame.time is None:
                continue
            at = frame.time - start
            if at + 1e-6 < next_time:
                continue
            yield round(next_time, 3), frame.to_image()
            while next_time <= at + 1e-6:
                next_time += interval


class Measurer:
    """Measures frames one after another (motion needs the previous one)."""

    def __init__(self) -> None:
        """Build the reference palette."""
        flat: list[int] = []
        for _, rgb in PALETTE:
            flat.extend(rgb)
        flat.extend(PALETTE[0][1] * (256 - len(PALETTE)))
        self._palette = Image.new("P", (1, 1))
        self._palette.putpalette(flat)
        self._previous: Image.Image | None = None

    def measure(self, time: float, image: Image.Image) -> FrameMeasure:
        """Measure brightness, colour shares and the change since the previous frame.

        :param time: the frame's time in seconds.
        :param image: the decoded frame.
        """
        small = image.convert("RGB").resize(THUMBNAIL, Image.Resampling.BILINEAR, reducing_gap=2.0)
        grey = small.convert("L")
        pixels = THUMBNAIL[0] * THUMBNAIL[1]
        brightness = sum(i * n for i, n in enumerate(grey.histogram())) / (255 * pixels)
        quantised = small.quantize(palette=self._palette, dither=Image.Dither.NONE)
        colours: dict[str, float] = {}
        for count, index in quantised.getcolors(len(PALETTE)) or []:
            name = PALETTE[index if isinstance(index, int) else 0][0]
            colours[name] = colours.get(name, 0.0) + count / pixels
        motion = None
        if self._previous is not None:
            changed = ImageChops.difference(grey, self._previous).point(
                lambda v: 255 if v > MOTION_THRESHOLD else 0
            )
            motion = changed.histogram()[255] / pixels
        self._previous = grey
        return FrameMeasure(time=time, brightness=round(brightness, 4), colours=colours, motion=motion)


def extract_frames(path: Path, out_dir: Path, interval: float, quality: int = 85) -> list[FrameFile]:
    """Write one JPEG per ``interval`` seconds at the video's own resolution, and measure each frame.

    :param path: the video file.
    :param out_dir: folder for the JPEGs (created).
    :param interval: seconds between frames.
    :param quality: JPEG quality.
    :raises MediaError: when the video cannot be decoded.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    measurer = Measurer()
    frames: list[FrameFile] = []
    try:
        for index, (time, image) in enumerate(sample_frames(path, interval)):
            target = out_dir / f"frame_{index:05d}.jpg"
            image.save(target, format="JPEG", quality=quality)
            frames.append(
                FrameFile(
                    index=index,
                    path=target,
                    size=target.stat().st_size,
                    crc32=_crc32(target),
                    width=image.width,
                    height=image.height,
                    measure=measurer.measure(time, image),
                )
            )
    except (av.FFmpegError, IndexError, ValueError) as exc:
        raise MediaError(type(exc).__name__) from exc
    if not frames:
        raise MediaError("no video frame could be decoded")
    return frames


def measure_frames(path: Path, interval: float) -> list[FrameMeasure]:
    """Measure one frame per ``interval`` seconds without writing anything.

    :param path: the video file.
    :param interval: seconds between measured frames.
    :raises MediaError: when the video cannot be decoded.
    """
    measurer = Measurer()
    try:
        measures = [measurer.measure(time, image) for time, image in sample_frames(path, interval)]
    except (av.FFmpegError, IndexError, ValueError) as exc:
        raise MediaError(type(exc).__name__) from exc
    if not measures:
        raise MediaError("no video frame could be decoded")
    return measures


def _crc32(path: Path) -> int:
    """Return the CRC-32 of a file, read in chunks.

    :param path: the file.
    """
    crc = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 16):
            crc = zlib.crc32(chunk, crc)
    return crc
