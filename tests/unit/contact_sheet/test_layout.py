"""The planned sheet: grid, timestamps under the tiles, each row's segments under it, bounded size."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_mavi.contact_sheet.layout import Layout, SheetOptions, SheetText, TextLine, plan
from airflow_provider_mavi.contact_sheet.segments import Segment, frame_clock, sample

OPTIONS = SheetOptions()  # 6 columns of 240 px, 12 px gutter, 24 px margin


def planned(measure: Any, frames: int, *, descriptions=(), speech=(), options=OPTIONS, notes=()) -> Layout:
    text = SheetText(title="clip.mp4", notes=notes, descriptions=tuple(descriptions), speech=tuple(speech))
    return plan(
        sample(frames, options.max_tiles), frame_clock(frames, 1.0, None), 180, text, options, measure
    )


def rows_of(layout: Layout) -> list[list[Any]]:
    rows: dict[int, list[Any]] = {}
    for tile in layout.tiles:
        rows.setdefault(tile.y, []).append(tile)
    return [rows[y] for y in sorted(rows)]


def under_row(layout: Layout, row: int, style: str | None = None) -> list[TextLine]:
    """The lines between the bottom of a row's tiles and the top of the next row."""
    rows = rows_of(layout)
    top = rows[row][0].y + rows[row][0].height
    bottom = rows[row + 1][0].y if row + 1 < len(rows) else layout.height
    return [line for line in layout.lines if top < line.y < bottom and (style is None or line.style == style)]


def test_grid_of_fourteen_frames(fixed_width: Any) -> None:
    layout = planned(fixed_width, 14)
    assert layout.width == 2 * 24 + 6 * 240 + 5 * 12 == 1548
    assert [len(row) for row in rows_of(layout)] == [6, 6, 2]
    assert [tile.index for tile in layout.tiles] == list(range(14))
    for row in rows_of(layout):
        assert [tile.x for tile in row] == [24 + column * 252 for column in range(len(row))]
        assert all((tile.width, tile.height) == (240, 180) for tile in row)
    # tiles do not overlap and stay inside the sheet
    for tile in layout.tiles:
        assert tile.x + tile.width <= layout.width - 24
        assert tile.y + tile.height < layout.height


def test_few_frames_make_a_narrower_sheet(fixed_width: Any) -> None:
    assert planned(fixed_width, 3).width == 2 * 24 + 3 * 240 + 2 * 12


def test_each_tile_has_its_time_and_number_just_under_it(fixed_width: Any) -> None:
    layout = planned(fixed_width, 8)
    for tile in layout.tiles:
        below = [
            line for line in layout.lines if tile.x <= line.x < tile.x + tile.width and line.y == tile.y + 184
        ]
        assert {(line.style, line.text) for line in below} == {
            ("time", f"0:{tile.index:02d}"),
            ("index", f"#{tile.index}"),
        }
        number = next(line for line in below if line.style == "index")
        assert number.x + fixed_width.width(number.text, number.size) == pytest.approx(
            tile.x + tile.width, abs=1
        )


def test_each_row_gets_the_descriptions_of_its_time(fixed_width: Any) -> None:
    descriptions = [Segment(0, 4, "first four seconds"), Segment(4, 8, "crosses rows"), Segment(8, 12, "end")]
    layout = planned(fixed_width, 12, descriptions=descriptions)
    first = [line.text for line in under_row(layout, 0) if line.style in ("body", "muted", "time")]
    second = [line.text for line in under_row(layout, 1) if line.style in ("body", "muted", "time")]
    # row 1 is 0-6 s, row 2 is 6-12 s
    assert "first four seconds" in first
    assert "crosses rows" in first
    assert "end" not in first
    assert "(continued from the row above)" in second
    assert "end" in second
    assert "first four seconds" not in second
    assert [line.text for line in under_row(layout, 0, "tag-visual")] == ["Visual"]


def test_speech_rows_are_drawn_with_their_speakers(fixed_width: Any) -> None:
    speech = [Segment(1.2, 3.5, "Hello and welcome.", "Alice"), Segment(7, 9, "Second row.", "Bob")]
    layout = planned(fixed_width, 12, descriptions=[Segment(0, 12, "all of it")], speech=speech)
    assert [line.text for line in under_row(layout, 0, "tag-speech")] == ["Speech"]
    texts = [line.text for line in under_row(layout, 0)]
    assert "Alice: Hello and welcome." in texts
    assert "0:01.2-0:03.5" in texts, "segment times keep their tenths"
    assert "0:00" in texts, "frame times stay whole seconds"
    assert "Bob: Second row." in [line.text for line in under_row(layout, 1)]
    # speech comes after the descriptions of the same row
    visual = next(line for line in under_row(layout, 0) if line.style == "tag-visual")
    spoken = next(line for line in under_row(layout, 0) if line.style == "tag-speech")
    assert visual.y < spoken.y


def test_a_row_without_speech_says_so(fixed_width: Any) -> None:
    layout = planned(fixed_width, 12, speech=[Segment(1, 2, "only in the first row", "A")])
    assert "no speech in this time" in [line.text for line in under_row(layout, 1)]
    assert "Visual" not in [line.text for line in layout.lines], "speech alone: no empty description rows"
    bare = planned(fixed_width, 12)
    assert [line.text for line in under_row(bare, 0) if line.style == "muted"] == ["no descriptions"]


def test_long_descriptions_are_wrapped_inside_the_sheet(fixed_width: Any) -> None:
    long = " ".join(f"word{i}" for i in range(120))
    layout = planned(fixed_width, 6, descriptions=[Segment(0, 6, long)])
    body = [line for line in layout.lines if line.style == "body"]
    assert len(body) > 3
    for line in body:
        assert line.x + fixed_width.width(line.text, line.size) <= layout.width - 24
    assert body[0].x == body[1].x, "wrapped lines line up under the first"
    assert " ".join(line.text for line in body).startswith("word0 word1 word2")


def test_sampled_sheet_says_what_it_shows(fixed_width: Any) -> None:
    layout = planned(fixed_width, 1000)
    assert len(layout.tiles) == 48
    assert [tile.index for tile in layout.tiles[:3]] == [0, 21, 42]
    header = " ".join(line.text for line in layout.lines if line.style == "subtitle")
    assert "Showing 48 of 1000 frames, every 21st (a tile every 21 s)" in header
    assert "frame times: one every 1 s (assumed: the video's length is unknown)" in header
    assert [line.text for line in layout.lines if line.style == "time"][:3] == ["0:00", "0:21", "0:42"]


def test_the_sheet_has_a_bounded_size_whatever_the_input(fixed_width: Any) -> None:
    # a 10-hour video: 36,000 frames, a long description every 4 s and speech every 2 s
    descriptions = [Segment(t, t + 4, "describe " * 80) for t in range(0, 36_000, 4)]
    speech = [Segment(t, t + 2, "talk " * 50, "S1") for t in range(0, 36_000, 2)]
    layout = planned(fixed_width, 36_000, descriptions=descriptions, speech=speech, notes=("note " * 500,))
    assert len(layout.tiles) == 48
    lines_per_row = 2 * OPTIONS.max_lines_per_row
    row = 180 + 40 + lines_per_row * 26 + 24
    assert layout.width <= 1548
    assert layout.height <= 24 + 3 * 37 + 4 * 26 + 8 * row + 24
    assert layout.height < 8000


def test_the_notes_are_in_the_header(fixed_width: Any) -> None:
    layout = planned(fixed_width, 4, notes=("1 of the frames shown could not be read",))
    warnings = [line for line in layout.lines if line.style == "warning"]
    assert [line.text for line in warnings] == ["1 of the frames shown could not be read"]
    assert warnings[0].y < layout.tiles[0].y


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("columns", 0),
        ("columns", 13),
        ("max_tiles", 0),
        ("max_tiles", 10_000),
        ("tile_width", 10),
        ("text_size", 4),
        ("max_lines_per_row", 1),
        ("jpeg_quality", 101),
        ("columns", 2.5),
        ("columns", True),
    ],
)
def test_options_refuse_unbounded_or_unreadable_sizes(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"SheetOptions.{field} must be an integer from"):
        SheetOptions(**{field: value})  # type: ignore[arg-type]
