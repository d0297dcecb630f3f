"""Scene cuts by frame difference, and one decoding pass that measures everything a job needs from a video.

A cut is where the mean absolute difference between consecutive frames (RGB, scaled to
:data:`THUMBNAIL` by libswscale, 0 to 1 of full scale) is above :data:`CUT_THRESHOLD`, at least
:data:`MIN_SCENE_SECONDS` after the previous cut. Frames are counted from 0 in presentation order, and a
scene is an inclusive range of frame numbers, as ``/video/clip`` reports them.

:func:`scan_video` blocks (decoding): the app runs it in its worker pool, never on the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import av
from PIL import Image, ImageChops, ImageStat

from airflow_provider_mavi.emulator.media import FrameMeasure, Measurer, MediaError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

THUMBNAIL = (64, 36)
CUT_THRESHOLD = 0.12
MIN_SCENE_SECONDS = 0.5
#: Size of the small RGB copy kept of every sampled frame (for embeddings).
SAMPLE_SIZE = (32, 32)


@dataclass
class VideoScan:
    """What one pass over a video measured."""

    fps: float
    frame_count: int
    width: int
    height: int
    duration: float
    cuts: list[int] = field(default_factory=list)
    measures: list[FrameMeasure] = field(default_factory=list)
    thumbnails: list[Image.Image] = field(default_factory=list)

    @property
    def scenes(self) -> list[tuple[int, int]]:
        """Scenes as inclusive ``(first frame, last frame)`` ranges."""
        return scenes_from_cuts(self.cuts, self.frame_count)

    def seconds(self, frame: int) -> float:
        """Return the time of a frame number, from the measured frame rate.

        :param frame: the frame number.
        """
        return round(frame / self.fps, 3) if self.fps else 0.0


def difference(previous: Image.Image, current: Image.Image) -> float:
    """Return the mean absolute difference of two same-size RGB images, from 0 to 1.

    :param previous: the earlier frame.
    :param current: the later frame.
    """
    means = ImageStat.Stat(ImageChops.difference(previous, current)).mean
    return sum(means) / (len(means) * 255)


def detect_cuts(scores: Sequence[float], fps: float) -> list[int]:
    """Return the frames that start a new scene.

    :param scores: ``scores[i]`` is the difference between frame ``i - 1`` and frame ``i`` (``scores[0]``
        is ignored).
    :param fps: frames per second, for the minimum scene length.
    """
    gap = max(1, round(MIN_SCENE_SECONDS * fps))
    cuts: list[int] = []
    for index in range(1, len(scores)):
        if scores[index] > CUT_THRESHOLD and index - (cuts[-1] if cuts else 0) >= gap:
            cuts.append(index)
    return cuts


def scenes_from_cuts(cuts: Sequence[int], frame_count: int) -> list[tuple[int, int]]:
    """Turn cut frames into inclusive frame ranges covering the whole video.

    :param cuts: frames that start a scene, ascending.
    :param frame_count: how many frames the video has.
    """
    if frame_count <= 0:
        return []
    starts = [0, *[c for c in cuts if 0 < c < frame_count]]
    return [
        (start, (starts[i + 1] if i + 1 < len(starts) else frame_count) - 1) for i, start in enumerate(starts)
    ]


def scan_video(path: Path, interval: float) -> VideoScan:
    """Decode every frame once: detect cuts, and measure one frame per ``interval`` seconds.

    :param path: the video file.
    :param interval: seconds between measured frames.
    :raises MediaError: when the video cannot be decoded.
    """
    measurer = Measurer()
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise MediaError("no video track")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            rate = stream.average_rate or stream.guessed_rate
            scan = VideoScan(
                fps=float(rate) if rate else 0.0,
                frame_count=0,
                width=stream.codec_context.width,
                height=stream.codec_context.height,
                duration=0.0,
            )
            start = (
                float(stream.start_time * stream.time_base) if stream.start_time and stream.time_base else 0.0
            )
            scores: list[float] = []
            previous: Image.Image | None = None
            next_time = 0.0
            last_time = 0.0
            for frame in container.decode(stream):
                small = frame.to_image(width=THUMBNAIL[0], height=THUMBNAIL[1])
                scores.append(difference(previous, small) if previous is not None else 0.0)
                previous = small
                scan.frame_count += 1
                at = (frame.time - start) if frame.time is not None else scan.frame_count / (scan.fps or 1)
                last_time = max(last_time, at)
                if at + 1e-6 >= next_time:
                    image = frame.to_image()
                    scan.measures.append(measurer.measure(round(next_time, 3), image))
                    scan.thumbnails.append(
                        image.resize(SAMPLE_SIZE, Image.Resampling.BILINEAR, reducing_gap=2.0)
                    )
                    while next_time <= at + 1e-6:
                        next_time += interval
    except MediaError:
        raise
    except (av.FFmpegError, IndexError, ValueError) as exc:
        raise MediaError(type(exc).__name__) from exc
    if scan.frame_count == 0:
        raise MediaError("no video frame could be decoded")
    if not scan.fps:
        scan.fps = scan.frame_count / max(last_time, 1e-3)
    scan.duration = round(max(last_time + 1 / scan.fps, 0.0), 3)
    scan.cuts = detect_cuts(scores, scan.fps)
    return scan
