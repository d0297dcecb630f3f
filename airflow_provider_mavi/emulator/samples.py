"""Deterministic sample media: a real H.264 MP4 with moving coloured shapes and a tone track.

Used by the tests, the demo, the benchmarks and users' own DAG tests. Needs PyAV and Pillow only (no numpy).
"""

from __future__ import annotations

import functools
import math
import struct
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import av
from PIL import Image, ImageDraw

if TYPE_CHECKING:
    import os

    from av.audio.stream import AudioStream
    from av.container import OutputContainer

AUDIO_RATE = 16000
TONE_HZ = 440.0
#: Every third second of the tone track is silent, so audio measurements have something to find.
SILENT_SECOND_EVERY = 3


def _draw_frame(index: int, fps: float, width: int, height: int) -> Image.Image:
    """Draw one frame: a background whose colour drifts, a red box moving right, a blue disc moving down.

    :param index: frame number, from 0.
    :param fps: frames per second of the video.
    :param width: frame width in pixels.
    :param height: frame height in pixels.
    """
    t = index / fps
    shade = int(40 + 30 * (1 + math.sin(t / 2.0)))
    image = Image.new("RGB", (width, height), (shade // 3, shade // 2, shade))
    draw = ImageDraw.Draw(image)
    box = max(4, min(width, height) // 4)
    x = int((t * width / 4) % max(1, width - box))
    draw.rectangle((x, height // 8, x + box, height // 8 + box), fill=(220, 40, 40))
    radius = max(3, box // 2)
    y = int((t * height / 3) % max(1, height - 2 * radius))
    cx = width - width // 4
    draw.ellipse((cx - radius, y, cx + radius, y + 2 * radius), fill=(40, 90, 230))
    draw.rectangle(
        (0, height - height // 10, int(width * (index % int(max(fps, 1)) + 1) / max(fps, 1)), height),
        fill=(240, 240, 240),
    )
    return image


@functools.cache
def _tone_second() -> bytes:
    """Return one second of the 440 Hz tone as signed 16-bit mono PCM (it repeats exactly every second)."""
    values = [int(8000 * math.sin(2 * math.pi * TONE_HZ * n / AUDIO_RATE)) for n in range(AUDIO_RATE)]
    return struct.pack(f"<{AUDIO_RATE}h", *values)


def _tone_samples(start: int, count: int) -> bytes:
    """Return signed 16-bit mono PCM for samples ``start`` .. ``start + count``.

    :param start: index of the first sample.
    :param count: number of samples.
    """
    tone = _tone_second()
    out = bytearray()
    n = start
    while n < start + count:
        second, offset = divmod(n, AUDIO_RATE)
        take = min(AUDIO_RATE - offset, start + count - n)
        if second % SILENT_SECOND_EVERY == SILENT_SECOND_EVERY - 1:
            out += bytes(2 * take)
        else:
            out += tone[2 * offset : 2 * (offset + take)]
        n += take
    return bytes(out)


def _write_audio(container: OutputContainer, stream: AudioStream, seconds: float) -> None:
    """Encode the tone track into ``stream``.

    :param container: the open output container.
    :param stream: its AAC stream.
    :param seconds: length of the track.
    """
    total = int(seconds * AUDIO_RATE)
    chunk = 1024
    for start in range(0, total, chunk):
        count = min(chunk, total - start)
        frame = av.AudioFrame(format="s16", layout="mono", samples=count)
        frame.planes[0].update(_tone_samples(start, count))
        frame.sample_rate = AUDIO_RATE
        frame.pts = start
        frame.time_base = Fraction(1, AUDIO_RATE)
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)


def make_sample_video(
    path: str | os.PathLike[str],
    seconds: float = 6.0,
    width: int = 320,
    height: int = 240,
    fps: float = 10,
    *,
    audio: bool = True,
) -> Path:
    """Write a deterministic H.264 MP4 with moving coloured shapes (and a 440 Hz tone track).

    :param path: where to write the file (parent folders are created).
    :param seconds: length of the video in seconds.
    :param width: frame width in pixels (rounded down to an even number).
    :param height: frame height in pixels (rounded down to an even number).
    :param fps: frames per second.
    :param audio: add the AAC tone track (silent every third second).
    :return: the path written.
    """
    if seconds <= 0 or width < 16 or height < 16 or fps <= 0:
        raise ValueError("seconds and fps must be positive, width and height at least 16")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    width -= width % 2
    height -= height % 2
    rate = Fraction(fps).limit_denominator(1000)
    with av.open(str(out), mode="w", format="mp4") as container:
        video = container.add_stream("libx264", rate=rate)
        video.width = width
        video.height = height
        video.pix_fmt = "yuv420p"
        video.options = {"preset": "ultrafast", "tune": "zerolatency", "g": str(max(1, int(fps) * 2))}
        audio_stream = container.add_stream("aac", rate=AUDIO_RATE, layout="mono") if audio else None
        frames = max(1, round(seconds * fps))
        for index in range(frames):
            frame = av.VideoFrame.from_image(_draw_frame(index, fps, width, height))
            frame.pts = index
            frame.time_base = 1 / rate
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
        if audio_stream is not None:
            _write_audio(container, audio_stream, frames / fps)
    return out


def make_sample_audio(path: str | os.PathLike[str], seconds: float = 3.0) -> Path:
    """Write a deterministic audio-only M4A (AAC) with the same tone track as :func:`make_sample_video`.

    :param path: where to write the file (parent folders are created).
    :param seconds: length in seconds.
    :return: the path written.
    """
    if seconds <= 0:
        raise ValueError("seconds must be positive")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(out), mode="w", format="mp4") as container:
        _write_audio(container, container.add_stream("aac", rate=AUDIO_RATE, layout="mono"), seconds)
    return out
