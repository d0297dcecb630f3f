"""Where everything goes on a contact sheet: tile rectangles and placed lines of text. Pure: no Pillow.

Text is measured through a :class:`~.text.TextMeasure` (the bundled font in production, a fixed-width fake
in tests), so the sheet's size and every position are decided here and only drawn in :mod:`.render`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from airflow_provider_mavi.contact_sheet.segments import clock_text, needs_tenths, seconds_text
from airflow_provider_mavi.contact_sheet.text import (
    ellipsize,
    line_height,
    row_segments,
    segment_lines,
    time_range,
    wrap,
)

if TYPE_CHECKING:
    from airflow_provider_mavi.contact_sheet.segments import FrameClock, Sampling, Segment
    from airflow_provider_mavi.contact_sheet.text import TextMeasure

#: Styles a :class:`TextLine` may have; the renderer gives each its colour.
STYLES = ("title", "subtitle", "warning", "time", "index", "tag-visual", "tag-speech", "body", "muted")


@dataclass(frozen=True)
class SheetOptions:
    """Size limits and looks of a contact sheet. The defaults give sheets at most 1,548 px wide.

    :param columns: tiles per row (fewer when there are fewer frames).
    :param max_tiles: the most frames shown; more frames are sampled evenly.
    :param tile_width: width of a tile in pixels.
    :param tile_max_height: the most height a tile may take (portrait frames are fitted inside).
    :param text_size: font size of the descriptions and of the header, in pixels.
    :param caption_size: font size of the timestamps under the tiles.
    :param title_size: font size of the title.
    :param max_lines_per_row: the most lines of descriptions (and again of speech) under one row; the rest
        is cut with a note pointing at the transcript.
    :param margin: space around the sheet.
    :param gutter: space between tiles.
    :param jpeg_quality: JPEG quality (the sheet is written with full-resolution colour, no subsampling).
    """

    columns: int = 6
    max_tiles: int = 48
    tile_width: int = 240
    tile_max_height: int = 240
    text_size: int = 18
    caption_size: int = 17
    title_size: int = 26
    max_lines_per_row: int = 12
    margin: int = 24
    gutter: int = 12
    jpeg_quality: int = 88

    def __post_init__(self) -> None:
        """Refuse sizes that make an unbounded or unreadable sheet."""
        bounds = {
            "columns": (1, 12),
            "max_tiles": (1, 240),
            "tile_width": (64, 640),
            "tile_max_height": (64, 640),
            "text_size": (10, 48),
            "caption_size": (10, 48),
            "title_size": (10, 72),
            "max_lines_per_row": (2, 40),
            "margin": (0, 200),
            "gutter": (0, 100),
            "jpeg_quality": (30, 100),
        }
        for name, (low, high) in bounds.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(
                    f"SheetOptions.{name} must be an integer from {low} to {high}, got {value!r}"
                )


@dataclass(frozen=True)
class TileBox:
    """Where one frame goes.

    :param index: the frame's position in frame order (Mavi's frame number).
    :param time: the frame's time in seconds.
    :param x: left edge.
    :param y: top edge.
    :param width: width in pixels.
    :param height: height in pixels.
    """

    index: int
    time: float
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class TextLine:
    """One line of text at a place, in a size and a style (one of :data:`STYLES`).

    :param x: left edge.
    :param y: top edge.
    :param text: the text, already cleaned for the font.
    :param size: font size in pixels.
    :param style: the style.
    """

    x: int
    y: int
    text: str
    size: int
    style: str


@dataclass(frozen=True)
class Layout:
    """A planned contact sheet.

    :param width: the sheet's width in pixels.
    :param height: the sheet's height in pixels.
    :param tiles: the tile rectangles, in frame order.
    :param lines: every line of text.
    :param rules: thin separator lines ``(x0, y, x1)`` between rows.
    """

    width: int
    height: int
    tiles: tuple[TileBox, ...]
    lines: tuple[TextLine, ...]
    rules: tuple[tuple[int, int, int], ...] = field(default=())


@dataclass(frozen=True)
class SheetText:
    """What the sheet says besides the frames.

    :param title: the first line (the video's name).
    :param notes: warnings shown under the header (unreadable frames, estimated times).
    :param descriptions: visual description segments, sorted.
    :param speech: speech segments, sorted, or empty.
    """

    title: str
    notes: tuple[str, ...] = ()
    descriptions: tuple[Segment, ...] = ()
    speech: tuple[Segment, ...] = ()


def plan(
    sampling: Sampling,
    clock: FrameClock,
    tile_height: int,
    text: SheetText,
    options: SheetOptions,
    measure: TextMeasure,
) -> Layout:
    """Plan the whole sheet: a header, then per row the tiles, their timestamps and the row's segments.

    A row covers the time from its first tile to the next row's first tile (the last row: to the end), so
    every segment lands under the row or rows whose time it shares.

    :param sampling: which frames are shown.
    :param clock: when each frame was taken.
    :param tile_height: the height of a tile (from the frames' aspect ratio).
    :param text: the title, notes and segments.
    :param options: sizes and limits.
    :param measure: the font measure.
    """
    o = options
    columns = min(o.columns, sampling.shown)
    width = 2 * o.margin + columns * o.tile_width + (columns - 1) * o.gutter
    step = sampling.stride * clock.interval
    everything = text.descriptions + text.speech
    frame_tenths = needs_tenths(*(clock.time_of(i) for i in sampling.indices), step)
    tenths = needs_tenths(*(t for s in everything for t in (s.start, s.end)))
    sheet = _Sheet(o, measure, width)

    sheet.paragraph(text.title or "Contact sheet", o.title_size, "title")
    shown_what = sampling.label().capitalize()
    if sampling.stride > 1:
        shown_what += f" (a tile every {seconds_text(step)})"
    sheet.paragraph(f"{shown_what}; frame times: {clock.basis}.", o.text_size, "subtitle")
    for note in text.notes:
        sheet.paragraph(note, o.text_size, "warning")
    sheet.y += o.gutter

    kinds = [("Visual", "tag-visual", text.descriptions)] if text.descriptions or not text.speech else []
    kinds += [("Speech", "tag-speech", text.speech)] if text.speech else []
    tag_width = max(measure.width(tag, o.text_size) for tag, _, _ in kinds)
    time_width = max((measure.width(time_range(s, tenths), o.text_size) for s in everything), default=0.0)
    time_x = o.margin + math.ceil(tag_width) + o.gutter
    text_x = time_x + math.ceil(time_width) + o.gutter
    text_width = width - o.margin - text_x
    shown: dict[str, set[Segment]] = {tag: set() for tag, _, _ in kinds}
    indices = list(sampling.indices)
    for row_start in range(0, len(indices), columns):
        row = indices[row_start : row_start + columns]
        if row_start:
            sheet.rules.append((o.margin, sheet.y - o.gutter, width - o.margin))
        sheet.tile_row(row, clock, tile_height, frame_tenths)
        last_row = row_start + columns >= len(indices)
        span = (clock.time_of(row[0]), math.inf if last_row else clock.time_of(row[-1]) + step)
        for tag, style, segments in kinds:
            here, skipped = row_segments(
                segments, span, [clock.time_of(i) for i in row], clock.interval, sampled=sampling.stride > 1
            )
            planned = segment_lines(
                here,
                shown[tag],
                skipped=skipped,
                budget=o.max_lines_per_row,
                tenths=tenths,
                width=text_width,
                measure=measure,
                size=o.text_size,
            )
            if not planned:
                if not segments:
                    empty = "no descriptions"
                else:
                    empty = "nothing described in this time" if tag == "Visual" else "no speech in this time"
                planned = [("", empty, "muted")]
            sheet.add(o.margin, tag, o.text_size, style)
            for when, body, body_style in planned:
                if when:
                    sheet.add(time_x, when, o.text_size, "time")
                sheet.add(text_x, body, o.text_size, body_style)
                sheet.y += line_height(o.text_size)
        sheet.y += 2 * o.gutter
    return Layout(
        width=width,
        height=sheet.y - 2 * o.gutter + o.margin,
        tiles=tuple(sheet.tiles),
        lines=tuple(sheet.lines),
        rules=tuple(sheet.rules),
    )


class _Sheet:
    """The layout being built: a cursor ``y`` going down, and what was placed so far."""

    def __init__(self, options: SheetOptions, measure: TextMeasure, width: int) -> None:
        """Start at the top margin.

        :param options: sizes and limits.
        :param measure: the font measure.
        :param width: the sheet's width.
        """
        self.options = options
        self.measure = measure
        self.width = width
        self.y = options.margin
        self.lines: list[TextLine] = []
        self.tiles: list[TileBox] = []
        self.rules: list[tuple[int, int, int]] = []

    def add(self, x: int, text: str, size: int, style: str) -> None:
        """Place one line of text at the cursor's height.

        :param x: its left edge.
        :param text: the text.
        :param size: the font size.
        :param style: its style.
        """
        self.lines.append(TextLine(x, self.y, text, size, style))

    def paragraph(self, text: str, size: int, style: str, max_lines: int = 3) -> None:
        """Place ``text`` wrapped to the sheet's width (cut with an ellipsis after ``max_lines``); move down.

        :param text: the text.
        :param size: the font size.
        :param style: its style.
        :param max_lines: the most lines it may take.
        """
        inner = self.width - 2 * self.options.margin
        lines = wrap(self.measure.clean(text), inner, self.measure, size, max_lines=max_lines)
        if len(lines) > max_lines:
            lines = [*lines[: max_lines - 1], ellipsize(lines[max_lines - 1], inner, self.measure, size)]
        for line in lines:
            self.add(self.options.margin, line, size, style)
            self.y += line_height(size)

    def tile_row(self, row: list[int], clock: FrameClock, tile_height: int, tenths: bool) -> None:
        """Place one row of tiles, each with its time (left) and number (right) under it; move down.

        :param row: the frame indices of the row.
        :param clock: when each frame was taken.
        :param tile_height: the tiles' height.
        :param tenths: show tenths of seconds.
        """
        o = self.options
        caption_y = self.y + tile_height + 4
        for column, index in enumerate(row):
            x = o.margin + column * (o.tile_width + o.gutter)
            self.tiles.append(TileBox(index, clock.time_of(index), x, self.y, o.tile_width, tile_height))
            self.lines.append(
                TextLine(
                    x, caption_y, clock_text(clock.time_of(index), tenths=tenths), o.caption_size, "time"
                )
            )
            label = f"#{index}"
            right = x + o.tile_width - math.ceil(self.measure.width(label, o.caption_size))
            self.lines.append(TextLine(right, caption_y, label, o.caption_size, "index"))
        self.y = caption_y + line_height(o.caption_size) + o.gutter // 2
