"""Text the emulator produces from its measurements, and the token counts reported for it.

The texts say what was measured (brightness, colour shares, change between frames). They are
deterministic for the same input and never pretend to be a model's description or a speech transcript.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_mavi.emulator.media import FrameMeasure

_TOKEN = re.compile(r"\w+|[^\w\s]")
PROMPT = (
    "Emulator measurement request: for each time segment report mean brightness, the three largest colour "
    "shares and the share of pixels that changed between consecutive sampled frames."
)
SUMMARY_MSG = "Summarised by the Mavi emulator from its measurements; no language model was run."
VIDEO_MSG = "Measured by the Mavi emulator (brightness, colour shares, motion); no vision model was run."


def count_tokens(text: str) -> int:
    """Count tokens the way the emulator bills them: words and punctuation marks.

    :param text: the text.
    """
    return len(_TOKEN.findall(text))


def brightness_word(value: float) -> str:
    """Name a brightness level.

    :param value: mean brightness from 0 to 1.
    """
    if value < 0.2:
        return "dark"
    if value < 0.4:
        return "dim"
    if value < 0.7:
        return "medium"
    return "bright"


def motion_word(value: float) -> str:
    """Name an amount of change between frames.

    :param value: share of pixels that changed, from 0 to 1.
    """
    if value < 0.01:
        return "no visible motion"
    if value < 0.1:
        return "little motion"
    if value < 0.3:
        return "moderate motion"
    return "strong motion"


def describe_segment(start: float, end: float, frames: list[FrameMeasure]) -> str:
    """Describe one time segment from the frames measured in it.

    :param start: segment start in seconds.
    :param end: segment end in seconds.
    :param frames: the measured frames of the segment (at least one).
    """
    brightness = sum(f.brightness for f in frames) / len(frames)
    shares: dict[str, float] = {}
    for frame in frames:
        for name, share in frame.colours.items():
            shares[name] = shares.get(name, 0.0) + share / len(frames)
    top = sorted(shares.items(), key=lambda item: (-item[1], item[0]))[:3]
    colours = ", ".join(f"{name} {round(share * 100)}%" for name, share in top)
    motions = [f.motion for f in frames if f.motion is not None]
    if motions:
        motion = sum(motions) / len(motions)
        moved = f"{round(motion * 100, 1)}% of pixels changed between sampled frames ({motion_word(motion)})"
    else:
        moved = "motion not measured (a single frame)"
    return (
        f"Measured {start:.1f}-{end:.1f} s over {len(frames)} frame(s): mean brightness "
        f"{round(brightness * 100)}% ({brightness_word(brightness)}); dominant colours {colours}; {moved}."
    )


def video_segments(
    measures: list[FrameMeasure], segment_seconds: float, duration: float | None
) -> list[dict[str, Any]]:
    """Group frame measurements into fixed-length segments and describe each.

    :param measures: measured frames in time order.
    :param segment_seconds: length of a segment.
    :param duration: the media length, to close the last segment (the last frame time when unknown).
    """
    end_of_media = duration if duration else (measures[-1].time if measures else 0.0)
    buckets: dict[int, list[FrameMeasure]] = {}
    for measure in measures:
        buckets.setdefault(int(measure.time // segment_seconds), []).append(measure)
    segments = []
    for number in sorted(buckets):
        start = number * segment_seconds
        end = min(start + segment_seconds, max(end_of_media, start))
        segments.append(
            {
                "start_time": round(start, 3),
                "end_time": round(end, 3),
                "transcript": describe_segment(start, end, buckets[number]),
            }
        )
    return segments


def prompt_text(measures: list[FrameMeasure]) -> str:
    """Return the measurement input the emulator "reads": billed as prompt tokens.

    :param measures: measured frames.
    """
    lines = [PROMPT]
    for m in measures:
        colours = ",".join(f"{k}={v:.2f}" for k, v in sorted(m.colours.items()))
        motion = "none" if m.motion is None else f"{m.motion:.3f}"
        lines.append(f"t={m.time:.2f} brightness={m.brightness:.3f} colours={colours} motion={motion}")
    return "\n".join(lines)
