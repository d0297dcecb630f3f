"""Multi-speaker recognition, summary, scene detection, split and edit callbacks: the documented shapes, their
quirks (usage_metadata an array, usage not usage_metadata, inclusive frame numbers, no data.data level),
unknown prices said as such, and malformed payloads named by field."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_mavi.exceptions import MaviCallbackError
from airflow_provider_mavi.results import (
    Scene,
    parse_edit_callback,
    parse_multi_speaker_callback,
    parse_scenes_callback,
    parse_split_callback,
    parse_summary_callback,
)

from .. import mavi_examples as ex
from .conftest import changed, dropped

# ------------------------------------------------------------------------------------ speaker recognition


def test_multi_speaker_callback() -> None:
    result = parse_multi_speaker_callback(ex.MULTI_SPEAKER_CALLBACK)
    assert [(s.start, s.end, s.speaker, s.text) for s in result.segments] == [(0.0, 4.2, "<name>", "<text>")]
    (face,) = result.faces
    assert (face.face_id, face.name, face.protocol, face.bucket, face.blob) == (
        "<id>",
        "<name>",
        "gs",
        "<bucket>",
        "<path>",
    )
    assert result.usage == ({"duration": 12.3},)  # an ARRAY, one entry per model
    assert result.processing_seconds == 12.3
    assert result.speakers == ("<name>",)


def test_multi_speaker_price_needs_the_media_duration_never_the_processing_time() -> None:
    result = parse_multi_speaker_callback(ex.MULTI_SPEAKER_CALLBACK)
    assert result.cost_usd is None
    assert "processing time, not the media's duration" in (result.cost_note or "")
    assert (
        parse_multi_speaker_callback(ex.MULTI_SPEAKER_CALLBACK, media_seconds=90).cost_usd == 0.15
    )  # $0.1/min
    assert result.with_duration(60).cost_usd == 0.1


def test_multi_speaker_usage_as_an_object_or_absent_is_read() -> None:
    as_object = changed(ex.MULTI_SPEAKER_CALLBACK, {"duration": 2.0}, "data", "data", "usage_metadata")
    assert parse_multi_speaker_callback(as_object).usage == ({"duration": 2.0},)
    assert (
        parse_multi_speaker_callback(dropped(as_object, "data", "data", "usage_metadata")).processing_seconds
        is None
    )


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda p: dropped(p, "data", "data", "audio_transcription"), "data.data.audio_transcription"),
        (
            lambda p: dropped(p, "data", "data", "audio_transcription", 0, "end_time"),
            r"audio_transcription\[0\].end_time",
        ),
        (lambda p: changed(p, {"name": "x"}, "data", "data", "faces", 0), r"data.data.faces\[0\].face_id"),
        (lambda p: changed(p, "faces", "data", "data", "faces"), "data.data.faces"),
        (lambda p: changed(p, ["x"], "data", "data", "usage_metadata"), r"usage_metadata\[0\]"),
        (
            lambda p: changed(p, [{"duration": "1s"}], "data", "data", "usage_metadata"),
            r"usage_metadata\[0\].duration",
        ),
    ],
)
def test_a_malformed_multi_speaker_callback_names_the_field(mutate: Any, field: str) -> None:
    with pytest.raises(MaviCallbackError, match=field):
        parse_multi_speaker_callback(mutate(ex.MULTI_SPEAKER_CALLBACK))


# ------------------------------------------------------------------------------------------ summary


def test_summary_callback_reads_usage_not_usage_metadata() -> None:
    result = parse_summary_callback(ex.SUMMARY_CALLBACK)
    assert result.summary == "<summary text>"
    usage = result.usage
    assert (usage.duration_seconds, usage.model, usage.prompt_tokens, usage.output_tokens) == (
        8.1,
        "gemini-2.5-flash",
        5200,
        240,
    )
    # No published price: None, and the reason says so (never a guess).
    assert result.cost_usd is None
    assert result.cost_note == "Mavi publishes no price for this call (not documented, mavi-api.md §12.4)"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda p: dropped(p, "data", "data", "summary"), "data.data.summary"),
        (lambda p: changed(p, "", "data", "data", "summary"), "data.data.summary"),
        (lambda p: changed(p, 5, "data", "data", "usage"), "data.data.usage"),
        (lambda p: changed(p, -1, "data", "data", "usage", "prompt_tokens"), "data.data.usage.prompt_tokens"),
        (
            lambda p: changed(p, 2.5, "data", "data", "usage", "output_tokens"),
            "data.data.usage.output_tokens",
        ),
    ],
)
def test_a_malformed_summary_callback_names_the_field(mutate: Any, field: str) -> None:
    with pytest.raises(MaviCallbackError, match=field):
        parse_summary_callback(mutate(ex.SUMMARY_CALLBACK))


# ------------------------------------------------------------------------------------------ scenes


def test_scenes_are_inclusive_frame_numbers_without_seconds_by_default() -> None:
    result = parse_scenes_callback(ex.SCENES_CALLBACK)
    assert result.scenes == (Scene(0, 143), Scene(144, 401))
    assert [s.frame_count for s in result.scenes] == [144, 258]
    assert (result.exec_time_seconds, result.fps) == (3.2, None)
    assert result.to_dict()["scenes"][0] == {
        "start_frame": 0,
        "end_frame": 143,
        "start_seconds": None,
        "end_seconds": None,
    }
    assert result.cost_usd is None
    assert "§12.5" in (result.cost_note or "")


def test_seconds_only_with_a_given_fps_and_the_last_frame_counted_whole() -> None:
    result = parse_scenes_callback(ex.SCENES_CALLBACK, fps=24)
    assert result.fps == 24.0
    first, second = result.scenes
    assert (first.start_seconds, first.end_seconds) == (0.0, 6.0)  # frames 0..143 at 24 fps = 6 s
    assert second.start_seconds == first.end_seconds  # scenes meet, no gap and no overlap
    assert parse_scenes_callback(ex.SCENES_CALLBACK).with_fps(24) == result


@pytest.mark.parametrize("fps", [0, -25, float("inf"), float("nan"), "25", True])
def test_a_bad_fps_is_refused(fps: Any) -> None:
    with pytest.raises(ValueError, match="fps must be a finite number > 0"):
        parse_scenes_callback(ex.SCENES_CALLBACK, fps=fps)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda p: changed(p, 1.5, "data", "data", "data", 0, "end"), r"data.data.data\[0\].end"),
        (lambda p: changed(p, -1, "data", "data", "data", 0, "start"), r"data.data.data\[0\].start"),
        (lambda p: dropped(p, "data", "data", "data", 1, "end"), r"data.data.data\[1\].end' is missing"),
        (
            lambda p: changed(p, 100, "data", "data", "data", 1, "end"),
            r"\[1\].end' \(100\) is before the start frame",
        ),
        (lambda p: changed(p, "3.2", "data", "data", "exec_time"), "data.data.exec_time"),
        (lambda p: dropped(p, "data", "data", "data"), "data.data.data"),
    ],
)
def test_a_malformed_scenes_callback_names_the_field(mutate: Any, field: str) -> None:
    with pytest.raises(MaviCallbackError, match=field):
        parse_scenes_callback(mutate(ex.SCENES_CALLBACK))


def test_whole_floats_are_frame_numbers() -> None:
    result = parse_scenes_callback(changed(ex.SCENES_CALLBACK, 143.0, "data", "data", "data", 0, "end"))
    assert result.scenes[0].end_frame == 143


# ------------------------------------------------------------------------------------------ split, edit


def test_split_callback_has_no_inner_data_level() -> None:
    result = parse_split_callback(ex.SPLIT_CALLBACK)
    (segment,) = result.segments
    assert result.asset_ids == ("re_660736410386149377",)
    assert (segment.file_size, segment.extension, segment.upload_status, segment.ready) == (
        10485760,
        "mp4",
        "SUCCESS",
        True,
    )
    assert segment.create_time == "1766989317192"
    assert result.to_dict()["asset_ids"] == ["re_660736410386149377"]
    assert result.cost_usd is None
    assert "storage" in (result.cost_note or "")


def _split(*names: str) -> dict[str, Any]:
    splits = [
        {"asset_id": f"re_{i}", "original_filename": name, "file_size": 1} for i, name in enumerate(names)
    ]
    return changed(ex.SPLIT_CALLBACK, splits, "data", "splits")


def test_split_segments_come_in_their_index_order() -> None:
    shuffled = _split("segment_video_9_2", "segment_video_9_0", "segment_video_9_1")
    assert parse_split_callback(shuffled).asset_ids == ("re_1", "re_2", "re_0")
    # Without an index in every name, Mavi's order is kept.
    assert parse_split_callback(_split("b", "segment_video_9_0")).asset_ids == ("re_0", "re_1")


def test_a_file_size_sent_as_a_string_of_digits_is_read() -> None:
    as_string = changed(ex.SPLIT_CALLBACK, "10485760", "data", "splits", 0, "file_size")
    assert parse_split_callback(as_string).segments[0].file_size == 10485760


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda p: dropped(p, "data", "splits"), "data.splits"),
        (lambda p: changed(p, [], "data", "splits"), "data.splits' is empty"),
        (lambda p: dropped(p, "data", "splits", 0, "asset_id"), r"data.splits\[0\].asset_id"),
        (lambda p: changed(p, "10 MB", "data", "splits", 0, "file_size"), r"data.splits\[0\].file_size"),
        (lambda p: changed(p, 5, "data", "splits", 0, "upload_status"), r"data.splits\[0\].upload_status"),
    ],
)
def test_a_malformed_split_callback_names_the_field(mutate: Any, field: str) -> None:
    with pytest.raises(MaviCallbackError, match=field):
        parse_split_callback(mutate(ex.SPLIT_CALLBACK))


def test_edit_callback_is_one_asset_record() -> None:
    result = parse_edit_callback(ex.EDIT_CALLBACK)
    assert result.asset_id == "re_660736410386149378"
    assert (result.asset.original_filename, result.asset.file_size) == ("final_video", 52428800)
    assert result.to_dict()["asset_id"] == "re_660736410386149378"
    with pytest.raises(MaviCallbackError, match=r"data\.asset_id"):
        parse_edit_callback(dropped(ex.EDIT_CALLBACK, "data", "asset_id"))
