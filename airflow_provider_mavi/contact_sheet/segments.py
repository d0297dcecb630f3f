"""Timed text for the contact sheet: segments, frame times and sampling. Pure: no I/O, no Pillow."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


class ContactSheetError(ValueError):
    """A contact sheet cannot be made from what was given; nothing was written."""


@dataclass(frozen=True)
class Segment:
    """One timed piece of text: a visual description, or speech with its speaker.

    :param start: start time in seconds from the start of the video.
    :param end: end time in seconds (not before ``start``).
    :param text: the text.
    :param speaker: who speaks, for speech; ``None`` for descriptions.
    """

    start: float
    end: float
    text: str
    speaker: str | None = None

    def overlaps(self, start: float, end: float) -> bool:
        """Tell whether the segment shares some time with ``[start, end)`` (an instant segment counts too).

        :param start: start of the span in seconds.
        :param end: end of the span in seconds.
        """
        if self.end <= self.start:
            return start <= self.start < end
        return self.start < end and self.end > start


def _number(item: Mapping[str, Any], names: tuple[str, ...], where: str) -> float:
    """The first of ``names`` present in ``item``, checked to be a finite number.

    :param item: one segment.
    :param names: the accepted spellings of the field.
    :param where: which segment, for the error message.
    """
    for name in names:
        if name in item:
            value = item[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ContactSheetError(
                    f"{where}: {name!r} must be a finite number of seconds, got {value!r}"
                )
            return float(value)
    raise ContactSheetError(f"{where}: no {' or '.join(repr(n) for n in names)}")


def to_segments(items: Iterable[Mapping[str, Any] | Segment] | None, kind: str) -> list[Segment]:
    """Check timed segments and return them sorted by start time.

    Takes ``{start, end, text, speaker}`` dicts, or the ``{start_time, end_time, text, speaker}`` segments of
    a transcript JSON written by :class:`MaviTranscribeVideoOperator`, or :class:`Segment` objects.

    :param items: the segments, or ``None`` for none.
    :param kind: what they are (``"description"``, ``"speech"``), for error messages.
    :raises ContactSheetError: naming the first malformed segment.
    """
    segments: list[Segment] = []
    for position, item in enumerate(items or ()):
        where = f"{kind} segment {position}"
        if isinstance(item, Segment):
            mapping: Mapping[str, Any] = {
                "start": item.start,
                "end": item.end,
                "text": item.text,
                "speaker": item.speaker,
            }
        elif isinstance(item, Mapping):
            mapping = item
        else:
            raise ContactSheetError(f"{where}: expected an object with start, end and text, got {item!r}")
        start = _number(mapping, ("start", "start_time"), where)
        end = _number(mapping, ("end", "end_time"), where)
        if start < 0 or end < start:
            raise ContactSheetError(f"{where}: needs 0 <= start <= end, got start={start:g}, end={end:g}")
        text = mapping.get("text")
        if not isinstance(text, str):
            raise ContactSheetError(f"{where}: 'text' must be a string, got {text!r}")
        speaker = mapping.get("speaker")
        if speaker is not None and not isinstance(speaker, str):
            raise ContactSheetError(f"{where}: 'speaker' must be a string or null, got {speaker!r}")
        segments.append(Segment(start, end, " ".join(text.split()), speaker or None))
    return sorted(segments, key=lambda s: (s.start, s.end))


@dataclass(frozen=True)
class Sampling:
    """Which frames get a tile: every ``stride``-th frame from the first.

    :param total: the number of frames there are.
    :param stride: one tile every ``stride`` frames.
    """

    total: int
    stride: int

    @property
    def indices(self) -> range:
        """Positions (in frame order) of the frames shown."""
        return range(0, self.total, self.stride)

    @property
    def shown(self) -> int:
        """How many frames are shown."""
        return len(self.indices)

    def label(self) -> str:
        """Say what is shown: ``"all 12 frames"`` or ``"showing 48 of 1000 frames, every 21st"``."""
        if self.stride == 1:
            return f"all {self.total} frame{'s' if self.total != 1 else ''}"
        return f"showing {self.shown} of {self.total} frames, every {ordinal(self.stride)}"


def sample(total: int, max_tiles: int) -> Sampling:
    """Choose an even sampling with at most ``max_tiles`` tiles: a constant stride, starting at frame 0.

    A constant stride keeps the time between tiles constant, so "every 21st" on the sheet is exact.

    :param total: the number of frames.
    :param max_tiles: the most tiles the sheet may have.
    """
    if total < 1 or max_tiles < 1:
        raise ValueError("total and max_tiles must be at least 1")
    return Sampling(total=total, stride=math.ceil(total / max_tiles))


def ordinal(number: int) -> str:
    """English ordinal: 1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, 112th.

    :param number: a positive integer.
    """
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


@dataclass(frozen=True)
class FrameClock:
    """When each frame was taken: frame ``i`` at ``i * interval`` seconds.

    :param interval: seconds between two extracted frames.
    :param basis: how the interval was found, shown on the sheet.
    """

    interval: float
    basis: str

    def time_of(self, index: int) -> float:
        """The time of frame ``index`` in seconds.

        :param index: the frame's position in frame order, from 0.
        """
        return index * self.interval


def frame_clock(count: int, interval: float, duration: float | None) -> FrameClock:
    """Decide the time between frames, and say how it was decided.

    Mavi takes frames "at regular intervals" without saying which (``mavi-api.md`` §3.1); the emulator
    takes one per second. ``interval`` is that assumption. When the video's duration is known, it is
    checked: ``count`` frames at ``interval`` seconds should span the video (give or take one frame). If they
    do not, the interval is estimated as ``duration / count`` and the sheet says so.

    :param count: the number of frames extracted.
    :param interval: the assumed seconds between frames.
    :param duration: the video's duration in seconds, or ``None`` when unknown.
    """
    if not (math.isfinite(interval) and interval > 0):
        raise ContactSheetError(f"interval_seconds must be a positive number, got {interval!r}")
    spec = f"one every {seconds_text(interval)}"
    if duration is None or not math.isfinite(duration) or duration <= 0:
        return FrameClock(interval, f"{spec} (assumed: the video's length is unknown)")
    expected = math.ceil(duration / interval - 1e-6)
    if abs(count - expected) <= 1:
        return FrameClock(interval, spec)
    estimated = duration / count
    return FrameClock(
        estimated,
        f"about one every {seconds_text(estimated)} (video length / frame count; "
        f"{count} frames do not fit one every {seconds_text(interval)} in {seconds_text(duration)})",
    )


def seconds_text(seconds: float) -> str:
    """``"1 s"``, ``"2.5 s"``, ``"0.33 s"``: a duration in seconds, without float noise.

    :param seconds: the duration.
    """
    return f"{round(seconds, 2):g} s"


def clock_text(seconds: float, *, tenths: bool = False) -> str:
    """A time in the video as ``m:ss`` or ``h:mm:ss``, with tenths of a second when asked.

    :param seconds: seconds from the start (not negative).
    :param tenths: show one decimal (for intervals that are not whole seconds).
    """
    if tenths:
        whole, tenth = divmod(round(seconds * 10), 10)
    else:
        whole, tenth = round(seconds), 0
    hours, rest = divmod(int(whole), 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    return f"{text}.{tenth}" if tenths else text


def needs_tenths(*values: float) -> bool:
    """Tell whether some time is not a whole second (then every time on the sheet gets tenths).

    :param values: times in seconds.
    """
    return any(abs(v - round(v)) > 0.05 for v in values)


_NATURAL = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key comparing the numbers inside names as numbers: ``frame_2`` before ``frame_10``.

    :param name: a file name.
    """
    return tuple((0, int(part)) if part.isdigit() else (1, part.lower()) for part in _NATURAL.split(name))
