"""Wrapping to a pixel width, and choosing and cutting the segments shown under a row."""

from __future__ import annotations

from typing import Any

from airflow_provider_mavi.contact_sheet.segments import Segment
from airflow_provider_mavi.contact_sheet.text import ellipsize, left_out, row_segments, segment_lines, wrap


def test_wrap_keeps_every_word_in_order_and_within_the_width(fixed_width: Any) -> None:
    text = "a red circle moves left across a dark blue background while the brightness rises"
    lines = wrap(text, 200, fixed_width, 20)
    assert len(lines) > 1
    assert all(fixed_width.width(line, 20) <= 200 for line in lines)
    assert " ".join(lines) == text
    assert wrap("  many   spaces\tand\nnewlines ", 1000, fixed_width, 20) == ["many spaces and newlines"]
    assert wrap("", 100, fixed_width, 20) == []


def test_wrap_cuts_a_word_longer_than_a_line(fixed_width: Any) -> None:
    word = "x" * 45
    lines = wrap(f"see {word} here", 200, fixed_width, 20)  # 20 characters a line
    assert lines == ["see", "x" * 20, "x" * 20, "x" * 5 + " here"]


def test_wrap_stops_early_when_told_how_many_lines_are_needed(fixed_width: Any) -> None:
    lines = wrap("word " * 10_000, 200, fixed_width, 20, max_lines=3)
    assert len(lines) == 4, "one line more than needed, to tell that the text was cut"


def test_ellipsize_fits(fixed_width: Any) -> None:
    assert ellipsize("abcdefghij", 100, fixed_width, 20) == "abcdefgh …"
    assert fixed_width.width(ellipsize("abcdefghij", 100, fixed_width, 20), 20) <= 100
    assert ellipsize("short", 200, fixed_width, 20) == "short …"


def lines_of(measure: Any, segments: list[Segment], **kwargs: object) -> list[tuple[str, str, str]]:
    options = {"budget": 8, "tenths": False, "width": 200.0, "measure": measure, "size": 20} | kwargs
    shown = options.pop("shown", set())
    return segment_lines(segments, shown, **options)  # type: ignore[arg-type]


def test_each_segment_gets_its_time_on_its_first_line(fixed_width: Any) -> None:
    segments = [Segment(0, 4, "a short one"), Segment(4, 8, "a segment long enough to need two lines here")]
    lines = lines_of(fixed_width, segments)
    assert lines == [
        ("0:00-0:04", "a short one", "body"),
        ("0:04-0:08", "a segment long", "body"),
        ("", "enough to need two", "body"),
        ("", "lines here", "body"),
    ]


def test_speech_lines_name_the_speaker(fixed_width: Any) -> None:
    lines = lines_of(fixed_width, [Segment(1.5, 3, "Hello there.", "Alice")], tenths=True)
    assert lines == [("0:01.5-0:03.0", "Alice: Hello there.", "body")]


def test_a_segment_shown_under_an_earlier_row_is_only_marked_continued(fixed_width: Any) -> None:
    segment = Segment(4, 8, "long enough text")
    shown: set[Segment] = set()
    assert lines_of(fixed_width, [segment], shown=shown) == [("0:04-0:08", "long enough text", "body")]
    assert shown == {segment}
    assert lines_of(fixed_width, [segment], shown=shown) == [
        ("0:04-0:08", "(continued from the row above)", "muted")
    ]


def test_the_budget_cuts_a_segment_and_says_what_is_left_out(fixed_width: Any) -> None:
    long = Segment(0, 4, " ".join(["word"] * 40))  # 4 words a line: 10 lines
    after = [Segment(4, 8, "next"), Segment(8, 12, "last")]
    shown: set[Segment] = set()
    lines = lines_of(fixed_width, [long, *after], budget=5, shown=shown)
    assert len(lines) == 5
    assert lines[0][0] == "0:00-0:04"
    assert lines[3][1].endswith(" …")
    assert lines[4] == (
        "",
        "the rest of it, and 2 more segments of this row's time, are in the transcript",
        "muted",
    )
    assert shown == set(), "a cut segment is shown again in full under the next row"


def test_a_segment_that_does_not_fit_at_all_is_counted(fixed_width: Any) -> None:
    segments = [Segment(0, 4, "one two three four"), Segment(4, 8, "five"), Segment(8, 9, "six")]
    lines = lines_of(fixed_width, segments, budget=2, width=100.0)  # 10 characters a line
    assert lines == [
        ("0:00-0:04", "one two …", "body"),
        ("", "the rest of it, and 2 more segments of this row's time, are in the transcript", "muted"),
    ]
    lines = lines_of(fixed_width, [Segment(0, 4, "fits"), *segments[1:]], budget=2)
    assert lines == [
        ("0:00-0:04", "fits", "body"),
        ("", "+ 2 more segments of this row's time: see the transcript", "muted"),
    ]


def test_skipped_segments_are_counted_in_a_last_line(fixed_width: Any) -> None:
    lines = lines_of(fixed_width, [Segment(0, 4, "shown")], skipped=27)
    assert lines == [
        ("0:00-0:04", "shown", "body"),
        ("", "+ 27 more segments of this row's time: see the transcript", "muted"),
    ]
    assert left_out(1, cut=False) == "+ 1 more segment of this row's time: see the transcript"
    assert left_out(0, cut=True) == "the rest of it is in the transcript"


def test_row_segments_every_frame_shown_takes_the_whole_span() -> None:
    segments = [Segment(0, 4, "a"), Segment(4, 8, "b"), Segment(8, 12, "c")]
    here, skipped = row_segments(segments, (0.0, 6.0), [0, 1, 2, 3, 4, 5], 1.0, sampled=False)
    assert (here, skipped) == (segments[:2], 0)


def test_row_segments_of_sampled_frames_are_those_at_the_frames() -> None:
    segments = [Segment(t, t + 4, f"at {t}") for t in range(0, 126, 4)]
    # tiles every 21 s: 0, 21, 42, 63, 84, 105; the row spans 0-126 s
    here, skipped = row_segments(segments, (0.0, 126.0), [0, 21, 42, 63, 84, 105], 1.0, sampled=True)
    assert [s.start for s in here] == [0, 20, 40, 60, 84, 104]
    assert skipped == len(segments) - 6
