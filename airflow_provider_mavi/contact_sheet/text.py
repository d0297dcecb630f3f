"""Text under the tiles: wrapping to a pixel width, and choosing and cutting the segments of a row. Pure.

Text is measured through a :class:`TextMeasure` (the bundled font in production, a fixed-width fake in
tests), so the layout is decided without drawing anything.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Protocol

from airflow_provider_mavi.contact_sheet.segments import clock_text

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow_provider_mavi.contact_sheet.segments import Segment


class TextMeasure(Protocol):
    """Measures text in the sheet's font, and maps text to what the font can draw."""

    def width(self, text: str, size: int) -> float:
        """The advance width of ``text`` in pixels at ``size``.

        :param text: one line of text.
        :param size: the font size in pixels.
        """

    def clean(self, text: str) -> str:
        """``text`` with every character the font lacks replaced (see :func:`.fonts.drawable`).

        :param text: any text.
        """


def wrap(text: str, max_width: float, measure: TextMeasure, size: int, *, max_lines: int = 0) -> list[str]:
    """Break ``text`` into lines no wider than ``max_width`` pixels, between words where it can.

    A word wider than a line is cut between characters.

    :param text: the text (runs of whitespace count as one space).
    :param max_width: the widest a line may be, in pixels.
    :param measure: the font measure.
    :param size: the font size.
    :param max_lines: stop after this many lines plus one (enough to tell that it was cut); 0: no limit.
    """
    lines: list[str] = []
    current = ""
    for word in text.split():
        if max_lines and len(lines) > max_lines:
            break
        candidate = f"{current} {word}" if current else word
        if measure.width(candidate, size) <= max_width:
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word
        while len(current) > 1 and measure.width(current, size) > max_width:
            cut = _longest_fit(current, max_width, measure, size)
            lines.append(current[:cut])
            current = current[cut:]
    if current:
        lines.append(current)
    return lines[: max_lines + 1] if max_lines else lines


def _longest_fit(word: str, max_width: float, measure: TextMeasure, size: int) -> int:
    """The most leading characters of ``word`` that fit (at least one), by bisection.

    :param word: a word wider than a line.
    :param max_width: the widest a line may be.
    :param measure: the font measure.
    :param size: the font size.
    """
    low, high = 1, len(word)
    while low < high:
        middle = (low + high + 1) // 2
        if measure.width(word[:middle], size) <= max_width:
            low = middle
        else:
            high = middle - 1
    return low


def ellipsize(line: str, max_width: float, measure: TextMeasure, size: int) -> str:
    """End ``line`` with an ellipsis, shortened so that it still fits.

    :param line: one line of text.
    :param max_width: the widest the line may be.
    :param measure: the font measure.
    :param size: the font size.
    """
    text = line.rstrip()
    while text and measure.width(text + " …", size) > max_width:
        text = text[:-1].rstrip()
    return f"{text} …" if text else "…"


def line_height(size: int) -> int:
    """Distance between two lines of text of ``size`` pixels.

    :param size: the font size.
    """
    return math.ceil(size * 1.4)


def segment_lines(
    here: Sequence[Segment],
    shown: set[Segment],
    *,
    skipped: int = 0,
    budget: int,
    tenths: bool,
    width: float,
    measure: TextMeasure,
    size: int,
) -> list[tuple[str, str, str]]:
    """Lines ``(time range, text, style)`` for the segments chosen for one row.

    A segment already shown in full under an earlier row gets one "continued" line. At most ``budget``
    lines: a segment that does not fit is cut with an ellipsis, and a last line counts what was left out
    (with the ``skipped`` segments, which share the row's time but were not chosen).
    Segments shown in full are added to ``shown``.

    :param here: the chosen segments of one kind, sorted by start.
    :param shown: segments already shown in full (updated).
    :param skipped: how many more segments share the row's time (between sampled frames).
    :param budget: the most lines (at least 2).
    :param tenths: show tenths of seconds in times.
    :param width: the width of the text column in pixels.
    :param measure: the font measure.
    :param size: the font size.
    """
    out: list[tuple[str, str, str]] = []
    for position, segment in enumerate(here):
        when = time_range(segment, tenths)
        rest = len(here) - position - 1
        reserve = 1 if rest or skipped else 0
        left = budget - len(out)
        continued = segment in shown
        if continued:
            entry = [(when, "(continued from the row above)", "muted")]
        else:
            text = measure.clean(f"{segment.speaker}: {segment.text}" if segment.speaker else segment.text)
            wrapped = wrap(text, width, measure, size, max_lines=budget) or ["(no text)"]
            entry = [(when if i == 0 else "", line, "body") for i, line in enumerate(wrapped)]
        if len(entry) + reserve <= left:
            out.extend(entry)
            shown.add(segment)
            continue
        keep = left - 1  # one line stays for the note
        if continued or keep < 1:
            out.append(("", left_out(rest + 1 + skipped, cut=False), "muted"))
            return out
        first, last = entry[: keep - 1], entry[keep - 1]
        out.extend([*first, (last[0], ellipsize(last[1], width, measure, size), "body")])
        out.append(("", left_out(rest + skipped, cut=True), "muted"))
        return out
    if skipped:
        out.append(("", left_out(skipped, cut=False), "muted"))
    return out


def time_range(segment: Segment, tenths: bool) -> str:
    """``"0:04-0:08"``: a segment's start and end as shown on the sheet.

    :param segment: the segment.
    :param tenths: show tenths of seconds.
    """
    return f"{clock_text(segment.start, tenths=tenths)}-{clock_text(segment.end, tenths=tenths)}"


def left_out(more: int, *, cut: bool) -> str:
    """The note under a row's text that says what is not on the sheet.

    :param more: how many more segments share the row's time.
    :param cut: the last segment shown was cut short.
    """
    segments = f"{more} more segment{'s' if more != 1 else ''} of this row's time"
    if not cut:
        return f"+ {segments}: see the transcript"
    if not more:
        return "the rest of it is in the transcript"
    return f"the rest of it, and {segments}, are in the transcript"


def row_segments(
    segments: Sequence[Segment],
    span: tuple[float, float],
    times: Sequence[float],
    interval: float,
    *,
    sampled: bool,
) -> tuple[list[Segment], int]:
    """Choose the segments to show under a row, and count those left out.

    Every frame shown: the segments sharing the row's span. Sampled frames: only the segments at the
    frames shown (sharing ``[t, t + interval)`` of one of them), so the text describes the pictures above
    it; the others of the span are counted.

    :param segments: the segments of one kind, sorted.
    :param span: the row's time span ``[start, end)``.
    :param times: the times of the row's frames.
    :param interval: seconds between two extracted frames.
    :param sampled: whether frames were sampled.
    """
    in_span = [s for s in segments if s.overlaps(*span)]
    if not sampled:
        return in_span, 0
    chosen = [s for s in in_span if any(s.overlaps(t, t + interval) for t in times)]
    return chosen, len(in_span) - len(chosen)
