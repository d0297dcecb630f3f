"""Deterministic sample media: a real H.264 MP4 with moving coloured shapes, scene cuts and a tone track.

Used by the tests, the demo, the benchmarks and users' own DAG tests. Needs PyAV and Pillow only (no numpy).

The known pattern, so measurements have something real to find:

- **Scenes**: the background changes abruptly every :data:`SCENE_SECONDS` (2 s), cycling through three
  palettes (dark blue, light ochre, green): cuts at 2 s, 4 s, 6 s, ... The moving red box, blue disc and
  white progress bar run on across the cuts.
- **Audio** (16 kHz mono AAC), a 6-second cycle repeated: a 220 Hz tone ("voice A") 0-1.5 s, silence
  1.5-2 s, an 880 Hz tone ("voice B") 2-3.5 s, silence 3.5-4 s, 220 Hz again 4-5.5 s, silence 5.5-6 s.
  :data:`AUDIO_PATTERN` holds it.
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
#: One cycle of the tone track: (start s, end s, frequency Hz or None for silence). It repeats every 6 s.
AUDIO_PATTERN: tuple[tuple[float, float, float | None], ...] = (
    (0.0, 1.5, 220.0),
    (1.5, 2.0, None),
    (2.0, 3.5, 880.0),
    (3.5, 4.0, None),
    (4.0, 5.5, 220.0),
    (5.5, 6.0, None),
)
AUDIO_CYCLE_SECONDS = 6.0
TONE_AMPLITUDE = 8000
#: Seconds between scene cuts (the background palette changes).
SCENE_SECONDS = 2.0


def _draw_frame(index: int, fps: float, width: int, height: int) -> Image.Image:
    """Draw one frame: a background whose colour drifts and cuts to another palette every
    :data:`SCENE_SECONDS`, a red box moving right, a blue disc moving down.

    :param index: frame number, from 0.
    :param fps: frames per second of the video.
    :param width: frame width in pixels.
    :param height: frame height in pixels.
    """
    t = index / fps
    shade = int(40 + 30 * (1 + math.sin(t / 2.0)))
    image = Image.new("RGB", (width, height), _background(int(t / SCENE_SECONDS + 1e-9) % 3, shade))
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


def _background(scene: int, shade: int) -> tuple[int, int, int]:
    """Return the background colour of a scene (three palettes, far enough apart to be real cuts).

    :param scene: the palette, 0 to 2.
    :param shade: a slowly drifting level from 40 to 100.
    """
    if scene == 0:
        return (shade // 3, shade // 2, shade)  # dark blue
    if scene == 1:
        return (200 - shade // 2, 170 - shade // 2, 90)  # light ochre
    return (30, 120 + shade // 2, 60)  # green


@functools.cache
def _cycle() -> bytes:
    """Return one cycle of :data:`AUDIO_PATTERN` as signed 16-bit mono PCM (it repeats exactly)."""
    values: list[int] = []
    for start, end, hz in AUDIO_PATTERN:
        first, last = round(start * AUDIO_RATE), round(end * AUDIO_RATE)
        if hz is None:
            values.extend([0] * (last - first))
        else:
            step = 2 * math.pi * hz / AUDIO_RATE
            values.extend(int(TONE_AMPLITUDE * math.sin(step * (n - first))) for n in range(first, last))
    return struct.pack(f"<{len(values)}h", *values)


def _tone_samples(start: int, count: int) -> bytes:
    """Return signed 16-bit mono PCM for samples ``start`` .. ``start + count``.

    :param start: index of the first sample.
    :param count: number of samples.
    """
    cycle = _cycle()
    length = len(cycle) // 2
    out = bytearray()
    n = start
    while n < start + count:
        offset = n % length
        take = min(length - offset, start + count - n)
        out += cycle[2 * offset : 2 * (offset + take)]
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
    """Write a deterministic H.264 MP4 with moving coloured shapes, scene cuts and a tone track.

    The pattern is in the module's docstring.

    :param path: where to write the file (parent folders are created).
    :param seconds: length of the video in seconds.
    :param width: frame width in pixels (rounded down to an even number).
    :param height: frame height in pixels (rounded down to an even number).
    :param fps: frames per second.
    :param audio: add the AAC tone track (two tones and silences, :data:`AUDIO_PATTERN`).
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
