"""Segments, sampling and frame times: the pure rules under the sheet."""

from __future__ import annotations

import itertools
import math

import pytest

from airflow_provider_mavi.contact_sheet.segments import (
    ContactSheetError,
    Segment,
    clock_text,
    frame_clock,
    natural_key,
    ordinal,
    sample,
    to_segments,
)


@pytest.mark.parametrize(
    ("total", "max_tiles", "stride", "shown", "label"),
    [
        (1, 48, 1, 1, "all 1 frame"),
        (12, 48, 1, 12, "all 12 frames"),
        (48, 48, 1, 48, "all 48 frames"),
        (49, 48, 2, 25, "showing 25 of 49 frames, every 2nd"),
        (100, 48, 3, 34, "showing 34 of 100 frames, every 3rd"),
        (1000, 48, 21, 48, "showing 48 of 1000 frames, every 21st"),
        (3600, 48, 75, 48, "showing 48 of 3600 frames, every 75th"),
    ],
)
def test_sampling_is_even_bounded_and_said(
    total: int, max_tiles: int, stride: int, shown: int, label: str
) -> None:
    sampling = sample(total, max_tiles)
    assert (sampling.stride, sampling.shown, sampling.label()) == (stride, shown, label)
    indices = list(sampling.indices)
    assert indices[0] == 0
    assert {b - a for a, b in itertools.pairwise(indices)} <= {stride}, "a constant step"
    assert total - indices[-1] <= stride, "the samples reach the end of the video"


def test_sampling_never_exceeds_the_bound() -> None:
    for total in range(1, 5001):
        sampling = sample(total, 48)
        assert 1 <= sampling.shown <= 48
        assert sampling.shown >= min(total, 48) // 2, "sampling does not throw away more than half the tiles"


@pytest.mark.parametrize(
    ("number", "text"),
    [
        (1, "1st"),
        (2, "2nd"),
        (3, "3rd"),
        (4, "4th"),
        (11, "11th"),
        (12, "12th"),
        (13, "13th"),
        (21, "21st"),
        (22, "22nd"),
        (101, "101st"),
        (111, "111th"),
        (112, "112th"),
    ],
)
def test_ordinal(number: int, text: str) -> None:
    assert ordinal(number) == text


def test_frame_times_follow_the_interval_when_the_duration_agrees() -> None:
    # the emulator: a 4 s video gives frames at 0, 1, 2, 3 s
    clock = frame_clock(4, 1.0, 4.0)
    assert clock.interval == 1.0
    assert [clock.time_of(i) for i in range(4)] == [0.0, 1.0, 2.0, 3.0]
    assert clock.basis == "one every 1 s"
    assert frame_clock(5, 1.0, 4.5).interval == 1.0  # 0..4 s
    assert frame_clock(60, 0.5, 30.0).interval == 0.5


def test_frame_times_are_assumed_and_said_so_without_a_duration() -> None:
    clock = frame_clock(10, 1.0, None)
    assert clock.interval == 1.0
    assert clock.basis == "one every 1 s (assumed: the video's length is unknown)"


def test_frame_times_are_estimated_when_the_interval_cannot_be_right() -> None:
    # 30 frames of a 60 s video cannot be one per second
    clock = frame_clock(30, 1.0, 60.0)
    assert clock.interval == 2.0
    assert clock.time_of(29) == 58.0
    assert clock.basis.startswith("about one every 2 s (video length / frame count; 30 frames do not fit")


@pytest.mark.parametrize("interval", [0, -1, math.nan, math.inf])
def test_a_bad_interval_is_refused(interval: float) -> None:
    with pytest.raises(ContactSheetError, match="interval_seconds must be a positive number"):
        frame_clock(3, interval, None)


@pytest.mark.parametrize(
    ("seconds", "tenths", "text"),
    [
        (0, False, "0:00"),
        (7, False, "0:07"),
        (75, False, "1:15"),
        (3725, False, "1:02:05"),
        (1.25, True, "0:01.2"),
        (59.96, True, "1:00.0"),
        (12.0, True, "0:12.0"),
    ],
)
def test_clock_text(seconds: float, tenths: bool, text: str) -> None:
    assert clock_text(seconds, tenths=tenths) == text


def test_segments_take_both_spellings_and_are_sorted() -> None:
    segments = to_segments(
        [
            {"start_time": 4.0, "end_time": 8, "text": "  second\n segment ", "speaker": None},
            {"start": 0, "end": 4.0, "text": "first", "speaker": "Alice"},
            Segment(2.0, 3.0, "object"),
        ],
        "description",
    )
    assert segments == [
        Segment(0.0, 4.0, "first", "Alice"),
        Segment(2.0, 3.0, "object"),
        Segment(4.0, 8.0, "second segment"),
    ]
    assert to_segments(None, "speech") == []


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"end": 1, "text": "x"}, "speech segment 0: no 'start' or 'start_time'"),
        ({"start": 0, "text": "x"}, "speech segment 0: no 'end' or 'end_time'"),
        ({"start": "0", "end": 1, "text": "x"}, "'start' must be a finite number of seconds, got '0'"),
        ({"start": True, "end": 1, "text": "x"}, "'start' must be a finite number of seconds, got True"),
        ({"start": 0, "end": math.nan, "text": "x"}, "'end' must be a finite number of seconds"),
        ({"start": 2, "end": 1, "text": "x"}, "needs 0 <= start <= end, got start=2, end=1"),
        ({"start": -1, "end": 1, "text": "x"}, "needs 0 <= start <= end"),
        ({"start": 0, "end": 1, "text": None}, "'text' must be a string, got None"),
        ({"start": 0, "end": 1, "text": "x", "speaker": 3}, "'speaker' must be a string or null, got 3"),
        ("hello", "expected an object with start, end and text, got 'hello'"),
    ],
)
def test_a_malformed_segment_is_named(item: object, message: str) -> None:
    with pytest.raises(ContactSheetError) as caught:
        to_segments([item], "speech")  # type: ignore[list-item]
    assert message in str(caught.value)


def test_segment_overlap() -> None:
    segment = Segment(4.0, 8.0, "x")
    assert segment.overlaps(0, 5)
    assert segment.overlaps(7.9, 20)
    assert not segment.overlaps(0, 4)
    assert not segment.overlaps(8, 12)
    instant = Segment(3.0, 3.0, "x")
    assert instant.overlaps(3, 4)
    assert not instant.overlaps(2, 3)


def test_frame_names_sort_by_their_numbers() -> None:
    names = ["frame_10.jpg", "frame_2.jpg", "frame_1.jpg", "Frame_3.jpg", "frame_0.jpg"]
    assert sorted(names, key=natural_key) == [
        "frame_0.jpg",
        "frame_1.jpg",
        "frame_2.jpg",
        "Frame_3.jpg",
        "frame_10.jpg",
    ]
