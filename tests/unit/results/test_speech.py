"""Whisper (sync answer, async callback) and pyannote (sync, async) results: segments in seconds under one
naming (start/end), the documented price, and clear errors naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_mavi.exceptions import MaviCallbackError
from airflow_provider_mavi.results import (
    FieldError,
    SpeechSegment,
    parse_audio_answer,
    parse_audio_callback,
    parse_speaker_answer,
    parse_speaker_callback,
)

from .. import mavi_examples as ex
from .conftest import changed, dropped

# ------------------------------------------------------------------------------------------ Whisper


def test_sync_whisper_answer() -> None:
    result = parse_audio_answer(ex.AUDIO_SYNC_ANSWER["data"])
    assert result.job_id is None
    assert result.model == "whisper-1"
    assert result.segments == (
        SpeechSegment(0.0, 2.98, "Hello, how are you today?", None),
        SpeechSegment(2.98, 6.78, "I'm doing well, thank you.", None),
    )
    assert result.text == "Hello, how are you today? I'm doing well, thank you."
    assert result.speaker_labels is False
    # The sync answer has no duration: no price, and the reason says how to get one.
    assert result.cost_usd is None
    assert "no duration" in (result.cost_note or "")
    assert result.to_dict()["segments"][1] == {
        "start": 2.98,
        "end": 6.78,
        "text": "I'm doing well, thank you.",
        "speaker": None,
    }


def test_sync_whisper_with_speakers_is_priced_double_once_the_duration_is_known() -> None:
    result = parse_audio_answer(ex.AUDIO_SYNC_SPEAKER_ANSWER["data"])
    assert [s.speaker for s in result.segments] == ["SPEAKER_00", "SPEAKER_01"]
    assert result.speaker_labels is True
    priced = result.with_duration(10)
    assert (priced.cost_usd, priced.cost_note, priced.duration_seconds) == (0.02, None, 10)
    assert parse_audio_answer(ex.AUDIO_SYNC_ANSWER["data"]).with_duration(10).cost_usd == 0.01


def test_async_whisper_callback_is_priced_from_its_duration() -> None:
    result = parse_audio_callback(ex.AUDIO_CALLBACK)
    assert result.job_id == "ec2449885ba84c4f943a80ff0633158e"
    assert result.segments == (SpeechSegment(0.0, 2.98, "Hello, how are you today?", None),)
    assert (result.duration_seconds, result.model) == (13.1, "whisper-1")
    assert (result.cost_usd, result.cost_note) == (0.0131, None)  # $0.001/s, no speaker labels


def test_the_callers_speaker_flag_decides_the_price() -> None:
    assert parse_audio_callback(ex.AUDIO_CALLBACK, speaker=True).cost_usd == 0.0262
    labelled = changed(ex.AUDIO_CALLBACK, "SPEAKER_00", "data", "data", "data", 0, "speaker")
    assert parse_audio_callback(labelled).cost_usd == 0.0262  # labels present: speaker was asked for


def test_no_segments_and_no_flag_leave_the_price_unknown_with_the_reason() -> None:
    silent = changed(ex.AUDIO_CALLBACK, [], "data", "data", "data")
    result = parse_audio_callback(silent)
    assert result.segments == ()
    assert result.cost_usd is None
    assert "pass speaker=" in (result.cost_note or "")
    assert parse_audio_callback(silent, speaker=False).cost_usd == 0.0131


def test_a_callback_without_duration_has_no_price() -> None:
    result = parse_audio_callback(dropped(ex.AUDIO_CALLBACK, "data", "data", "usage_metadata"))
    assert (result.cost_usd, result.cost_note) == (None, "the callback reports no usage_metadata.duration")


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda p: dropped(p, "data", "data"), "data.data"),
        (lambda p: dropped(p, "data", "data", "data"), "data.data.data"),
        (lambda p: changed(p, {"x": 1}, "data", "data", "data"), "data.data.data"),
        (lambda p: changed(p, "x", "data", "data", "data", 0), r"data.data.data\[0\]"),
        (lambda p: dropped(p, "data", "data", "data", 0, "start_time"), r"data.data.data\[0\].start_time"),
        (lambda p: changed(p, "0.0", "data", "data", "data", 0, "end_time"), r"data.data.data\[0\].end_time"),
        (lambda p: changed(p, float("nan"), "data", "data", "data", 0, "end_time"), r"\[0\].end_time"),
        (lambda p: dropped(p, "data", "data", "data", 0, "text"), r"data.data.data\[0\].text"),
        (lambda p: changed(p, 3, "data", "data", "data", 0, "speaker"), r"data.data.data\[0\].speaker"),
        (lambda p: changed(p, [1], "data", "data", "usage_metadata"), "data.data.usage_metadata"),
        (
            lambda p: changed(p, "13 s", "data", "data", "usage_metadata", "duration"),
            "usage_metadata.duration",
        ),
    ],
)
def test_a_malformed_whisper_callback_names_the_field(mutate: Any, field: str) -> None:
    with pytest.raises(MaviCallbackError, match=field) as info:
        parse_audio_callback(mutate(ex.AUDIO_CALLBACK))
    assert info.value.field is not None
    assert info.value.field.startswith("data")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (None, "'data'"),
        ({"model": "whisper-1"}, "data.items"),
        ({"items": [{"text": "a", "start_time": 0}]}, r"data.items\[0\].end_time"),
        ({"items": [{"start_time": 0, "end_time": 1}]}, r"data.items\[0\].text"),
        ({"model": 1, "items": []}, "data.model"),
    ],
)
def test_a_malformed_sync_whisper_answer_names_the_field(data: Any, field: str) -> None:
    with pytest.raises(FieldError, match=field):
        parse_audio_answer(data)


# ------------------------------------------------------------------------------------------ pyannote


def test_sync_diarization_answer() -> None:
    result = parse_speaker_answer(ex.SPEAKER_SYNC_ANSWER["data"])
    assert result.model == "pyannote"
    assert [(t.start, t.end, t.speaker) for t in result.segments] == [
        (0.03, 0.13, "SPEAKER_01"),
        (0.13, 13.40, "SPEAKER_00"),
    ]
    assert result.speakers == ("SPEAKER_01", "SPEAKER_00")  # in order of first appearance
    assert result.cost_usd is None
    assert result.with_duration(13.4).cost_usd == 0.0134  # $0.001/s


def test_async_diarization_callback_uses_start_and_end_and_is_priced() -> None:
    result = parse_speaker_callback(ex.SPEAKER_CALLBACK)
    assert result.job_id == "ec2449885ba84c4f943a80ff0633158e"
    assert result.segments[1].start == 0.13
    assert result.segments[1].end == 13.40
    assert (result.duration_seconds, result.cost_usd) == (13.4, 0.0134)
    assert result.to_dict()["speakers"] == ["SPEAKER_01", "SPEAKER_00"]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        # Whisper's key names are not pyannote's: start_time instead of start is malformed here.
        (
            lambda p: changed(p, [{"start_time": 0, "end_time": 1, "speaker": "S"}], "data", "data", "data"),
            "start",
        ),
        (lambda p: dropped(p, "data", "data", "data", 1, "speaker"), r"data.data.data\[1\].speaker"),
        (lambda p: changed(p, None, "data", "data", "data", 0, "speaker"), r"data.data.data\[0\].speaker"),
        (lambda p: dropped(p, "data", "data", "data"), "data.data.data"),
    ],
)
def test_a_malformed_diarization_callback_names_the_field(mutate: Any, field: str) -> None:
    with pytest.raises(MaviCallbackError, match=field):
        parse_speaker_callback(mutate(ex.SPEAKER_CALLBACK))


def test_a_malformed_sync_diarization_answer_names_the_field() -> None:
    with pytest.raises(FieldError, match=r"data.items\[0\].end"):
        parse_speaker_answer({"items": [{"start": 0, "speaker": "S"}]})
    with pytest.raises(ValueError, match="media_seconds must be a finite number >= 0"):
        parse_speaker_answer(ex.SPEAKER_SYNC_ANSWER["data"]).with_duration(-1)
