"""Callback parsing, prices and output rendering in airflow_provider_mavi.results (pure, no I/O)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import webvtt
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_mavi.exceptions import MaviCallbackError, MaviError
from airflow_provider_mavi.results import (
    TranscriptSegment,
    audio_transcription_cost_usd,
    callback_job_id,
    callback_outcome,
    download_cost_usd,
    frames_cost_usd,
    parse_frames_callback,
    parse_transcript_callback,
    transcript_to_json,
    transcript_to_webvtt,
    video_description_cost_usd,
)

FRAMES = {
    "code": 200,
    "message": "SUCCESS",
    "data": {
        "asset_id": "im_666914042514116608",
        "asset_ch_ids": ["imc_666914042514116608_0", "imc_666914042514116608_1"],
    },
    "task_id": "1e8ae1075e054e8abb58e7598c53cbf1",
}

VIDEO_TRANSCRIPT = {
    "code": 200,
    "message": "SUCCESS",
    "data": {
        "data": {
            "data": [
                {"start_time": 0.0, "end_time": 4.0, "transcript": "a red square moves right"},
                {"start_time": 4, "end_time": 6.5, "transcript": "the frame darkens"},
            ],
            "error_rate": 0.0,
            "usage_metadata": {
                "duration": 12.3,
                "model": "gemini-2.5-flash-lite",
                "output_tokens": 512,
                "prompt_tokens": 9000,
            },
        },
        "msg": "done",
        "success": True,
    },
    "task_id": "ec2449885ba84c4f943a80ff0633158e",
}

AUDIO_TRANSCRIPT = {
    "code": "0000",
    "msg": "SUCCESS",
    "data": {
        "data": {
            "data": [
                {"start_time": 0.0, "end_time": 2.98, "text": "Hello, how are you today?", "speaker": None},
                {"start_time": 3.0, "end_time": 4.5, "text": "Fine.", "speaker": "SPEAKER_01"},
            ],
            "usage_metadata": {
                "duration": 13.1,
                "model": "whisper-1",
                "output_tokens": 0,
                "prompt_tokens": 0,
            },
        },
        "msg": "ok",
        "success": True,
    },
    "task_id": "aa2449885ba84c4f943a80ff0633158e",
}


def _without(payload: dict[str, Any], *path: str) -> dict[str, Any]:
    clone = copy.deepcopy(payload)
    node = clone
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return clone


def _with(payload: dict[str, Any], value: Any, *path: str) -> dict[str, Any]:
    clone = copy.deepcopy(payload)
    node = clone
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return clone


# ------------------------------------------------------------------------------------------ outcome


@pytest.mark.parametrize("code", [200, "200", "0000"])
def test_every_success_code_is_success(code: object) -> None:
    assert callback_outcome(_with(FRAMES, code, "code")) == (True, "SUCCESS")


@pytest.mark.parametrize("code", [400, "400", 500, "0001", "", None, True, [200]])
def test_other_codes_are_failures(code: object) -> None:
    # Mavi's own message is kept verbatim, even when it contradicts the code.
    assert callback_outcome(_with(FRAMES, code, "code")) == (False, "SUCCESS")


def test_message_or_msg_is_read() -> None:
    failure = {"code": 500, "msg": "Video decoding failed", "task_id": "x" * 32, "data": None}
    assert callback_outcome(failure) == (False, "Video decoding failed")
    failure = {"code": 500, "message": "Video decoding failed", "task_id": "x" * 32}
    assert callback_outcome(failure) == (False, "Video decoding failed")


def test_inner_success_false_is_a_failure_with_the_inner_message() -> None:
    payload = _with(VIDEO_TRANSCRIPT, False, "data", "success")
    payload = _with(payload, "model quota exceeded", "data", "msg")
    assert callback_outcome(payload) == (False, "model quota exceeded")


def test_failed_flag_is_a_failure_even_with_a_success_code() -> None:
    assert callback_outcome({**FRAMES, "failed": True})[0] is False
    assert callback_outcome({**FRAMES, "success": False})[0] is False


def test_failure_without_message_says_the_code() -> None:
    assert callback_outcome({"code": 503, "task_id": "j"}) == (False, "no message (code 503)")


@pytest.mark.parametrize("payload", [None, [], "SUCCESS", {"message": "SUCCESS"}])
def test_outcome_of_a_malformed_callback_names_the_field(payload: Any) -> None:
    with pytest.raises(MaviCallbackError, match=r"code|callback body"):
        callback_outcome(payload)


def test_callback_error_is_a_mavi_error() -> None:
    assert issubclass(MaviCallbackError, MaviError)


def test_job_id() -> None:
    assert callback_job_id(FRAMES) == "1e8ae1075e054e8abb58e7598c53cbf1"
    for bad in (None, 5, ""):
        with pytest.raises(MaviCallbackError, match="task_id"):
            callback_job_id(_with(FRAMES, bad, "task_id"))


# ------------------------------------------------------------------------------------------ frames


def test_parse_frames() -> None:
    result = parse_frames_callback(FRAMES)
    assert result.job_id == "1e8ae1075e054e8abb58e7598c53cbf1"
    assert result.frames_asset_id == "im_666914042514116608"
    assert result.frame_asset_ids == ("imc_666914042514116608_0", "imc_666914042514116608_1")
    assert result.frame_count == 2


def test_parse_frames_with_the_oldest_code() -> None:
    assert parse_frames_callback(_with(FRAMES, "0000", "code")).frame_count == 2


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda p: _without(p, "data"), "'data'"),
        (lambda p: _with(p, None, "data"), "'data'"),
        (lambda p: _without(p, "data", "asset_id"), "data.asset_id"),
        (lambda p: _with(p, 12, "data", "asset_id"), "data.asset_id"),
        (lambda p: _without(p, "data", "asset_ch_ids"), "data.asset_ch_ids"),
        (lambda p: _with(p, ["imc_1", None], "data", "asset_ch_ids"), "data.asset_ch_ids"),
        (lambda p: _without(p, "task_id"), "task_id"),
    ],
)
def test_malformed_frames_callbacks_name_the_field(mutate: Any, field: str) -> None:
    payload = mutate(FRAMES)
    before = copy.deepcopy(payload)
    with pytest.raises(MaviCallbackError, match=field.replace(".", r"\.")):
        parse_frames_callback(payload)
    assert payload == before  # parsing never changes what it was given


def test_a_failed_frames_callback_is_not_parsed_as_success() -> None:
    with pytest.raises(MaviCallbackError, match="Mavi reported a failed job: asset too long"):
        parse_frames_callback({"code": 500, "message": "asset too long", "task_id": "j", "data": None})


# ------------------------------------------------------------------------------------------ transcripts


def test_parse_video_transcript() -> None:
    result = parse_transcript_callback(VIDEO_TRANSCRIPT)
    assert result.job_id == "ec2449885ba84c4f943a80ff0633158e"
    assert result.model == "gemini-2.5-flash-lite"
    assert result.segments == (
        TranscriptSegment(0.0, 4.0, "a red square moves right", None),
        TranscriptSegment(4.0, 6.5, "the frame darkens", None),
    )
    assert result.usage.to_dict() == {
        "duration": 12.3,
        "model": "gemini-2.5-flash-lite",
        "prompt_tokens": 9000,
        "output_tokens": 512,
    }
    assert result.error_rate == 0.0
    assert result.segments_as_dicts()[0] == {
        "start_time": 0.0,
        "end_time": 4.0,
        "text": "a red square moves right",
        "speaker": None,
    }


def test_parse_audio_transcript_with_text_and_speakers() -> None:
    result = parse_transcript_callback(AUDIO_TRANSCRIPT)
    assert [s.text for s in result.segments] == ["Hello, how are you today?", "Fine."]
    assert [s.speaker for s in result.segments] == [None, "SPEAKER_01"]
    assert result.usage.duration == 13.1
    assert result.error_rate is None


def test_missing_usage_gives_zero_tokens_and_unknown_duration() -> None:
    result = parse_transcript_callback(_without(VIDEO_TRANSCRIPT, "data", "data", "usage_metadata"))
    assert result.usage.prompt_tokens == 0
    assert result.usage.output_tokens == 0
    assert result.usage.duration is None
    assert result.model is None


def test_empty_transcript_is_valid() -> None:
    assert parse_transcript_callback(_with(VIDEO_TRANSCRIPT, [], "data", "data", "data")).segments == ()


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda p: _with(p, None, "data", "data"), "'data.data'"),
        (lambda p: _without(p, "data", "data", "data"), "data.data.data"),
        (lambda p: _with(p, {"x": 1}, "data", "data", "data"), "data.data.data"),
        (lambda p: _with(p, ["text"], "data", "data", "data"), r"data.data.data\[0\]"),
        (lambda p: _without(p, "data", "data", "data", 1, "start_time"), r"data.data.data\[1\].start_time"),
        (lambda p: _with(p, "4.0", "data", "data", "data", 0, "end_time"), r"data.data.data\[0\].end_time"),
        (lambda p: _with(p, float("nan"), "data", "data", "data", 0, "end_time"), r"\[0\].end_time"),
        (lambda p: _without(p, "data", "data", "data", 0, "transcript"), r"\[0\].transcript"),
        (lambda p: _with(p, 3, "data", "data", "data", 0, "speaker"), r"\[0\].speaker"),
        (lambda p: _with(p, -1, "data", "data", "usage_metadata", "prompt_tokens"), "prompt_tokens"),
        (lambda p: _with(p, 1.5, "data", "data", "usage_metadata", "output_tokens"), "output_tokens"),
        (lambda p: _with(p, "12", "data", "data", "usage_metadata", "duration"), "usage_metadata.duration"),
        (lambda p: _with(p, 5, "data", "data", "usage_metadata", "model"), "usage_metadata.model"),
        (lambda p: _with(p, [], "data", "data", "usage_metadata"), "usage_metadata"),
    ],
)
def test_malformed_transcripts_name_the_field(mutate: Any, field: str) -> None:
    payload = mutate(VIDEO_TRANSCRIPT)
    before = copy.deepcopy(payload)
    with pytest.raises(MaviCallbackError, match=field) as caught:
        parse_transcript_callback(payload)
    assert caught.value.field is not None
    assert payload == before


def test_a_transcript_failed_by_the_inner_flag_raises_with_mavi_message() -> None:
    payload = _with(VIDEO_TRANSCRIPT, False, "data", "success")
    payload = _with(payload, "video too long", "data", "msg")
    with pytest.raises(MaviCallbackError, match="video too long"):
        parse_transcript_callback(payload)


# ------------------------------------------------------------------------------------------ prices


def test_frames_price() -> None:
    assert frames_cost_usd(None) is None
    assert frames_cost_usd(0) == 0.0
    assert frames_cost_usd(6.0) == 0.06
    assert frames_cost_usd(90.5) == 0.905
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="video_seconds"):
            frames_cost_usd(bad)


def test_description_price() -> None:
    assert video_description_cost_usd(0, 0) == 0.0
    assert video_description_cost_usd(1_000_000, 0) == 0.45
    assert video_description_cost_usd(0, 1_000_000) == 3.75
    # 9000 * 0.45e-6 + 512 * 3.75e-6 = 0.00405 + 0.00192
    assert video_description_cost_usd(9000, 512) == 0.00597
    with pytest.raises(ValueError, match="prompt_tokens"):
        video_description_cost_usd(-1, 0)


def test_audio_price() -> None:
    assert audio_transcription_cost_usd(13.1, speaker=False) == 0.0131
    assert audio_transcription_cost_usd(13.1, speaker=True) == 0.0262
    with pytest.raises(ValueError, match="seconds"):
        audio_transcription_cost_usd(-0.5, speaker=False)


def test_download_price() -> None:
    assert download_cost_usd(0) == 0.0
    assert download_cost_usd(1_000_000_000) == 0.12
    assert download_cost_usd(250_000) == 0.00003
    with pytest.raises(ValueError, match="n_bytes"):
        download_cost_usd(-1)


@given(st.floats(min_value=0, max_value=1e6, allow_nan=False))
def test_frames_price_is_linear_and_never_negative(seconds: float) -> None:
    cost = frames_cost_usd(seconds)
    assert cost is not None
    assert cost >= 0
    assert abs(cost - seconds * 0.01) < 1e-6


# ------------------------------------------------------------------------------------------ outputs


def test_webvtt_round_trips_through_webvtt_py() -> None:
    segments = [
        TranscriptSegment(4.0, 6.5, "second <b> & --> cue", "SPEAKER_01"),
        TranscriptSegment(0.0, 4.0, "first line\n\nafter a blank line", None),
        TranscriptSegment(3661.25, 3661.25, "zero length", None),
    ]
    text = transcript_to_webvtt(segments)
    parsed = webvtt.from_string(text)
    assert [c.start for c in parsed.captions] == ["00:00:00.000", "00:00:04.000", "01:01:01.250"]
    assert [c.end for c in parsed.captions] == ["00:00:04.000", "00:00:06.500", "01:01:01.251"]
    assert parsed.captions[0].text == "first line\nafter a blank line"
    assert "&lt;b&gt; &amp; -&gt; cue" in parsed.captions[1].raw_text
    assert parsed.captions[1].raw_text.startswith("<v SPEAKER_01>")
    assert "-->" not in text.split("\n", 3)[3].replace(" --> ", "")


def test_webvtt_of_nothing_is_a_valid_empty_document() -> None:
    assert webvtt.from_string(transcript_to_webvtt([])).captions == []


def test_transcript_json_document() -> None:
    result = parse_transcript_callback(VIDEO_TRANSCRIPT)
    document = json.loads(transcript_to_json(result, cost_usd=0.00597))
    assert document["job_id"] == result.job_id
    assert document["cost_usd"] == 0.00597
    assert document["segments"][1]["text"] == "the frame darkens"
    assert document["usage"]["prompt_tokens"] == 9000
