"""What the Mavi page and the job page compute from store records (pure: no store, no HTML)."""

from __future__ import annotations

import json

import pytest

from airflow_provider_mavi.bridge.store import SpendRow
from airflow_provider_mavi.bridge.ui import views


def body(value: object) -> bytes:
    return json.dumps(value).encode()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (59.9, "59 s"),
        (60, "1 min"),
        (3599, "59 min"),
        (3600, "1 h 00 min"),
        (7505, "2 h 05 min"),
        (47 * 3600, "47 h 00 min"),
        (50 * 3600, "2 d 2 h"),
        (-90, "1 min"),
    ],
)
def test_durations_read_like_a_person_says_them(seconds: float, text: str) -> None:
    assert views.duration(seconds) == text


def test_deadlines_ahead_overdue_and_missing() -> None:
    assert views.deadline(1000 + 720, 1000) == views.Deadline("in 12 min", False)
    assert views.deadline(1000 - 180, 1000) == views.Deadline("overdue by 3 min", True)
    assert views.deadline(None, 1000) == views.Deadline("none recorded", False)


def test_mavi_says_what_it_sent_without_judging() -> None:
    assert views.mavi_says(body({"code": 200, "message": "SUCCESS", "task_id": "j"})) == "code 200 · SUCCESS"
    assert views.mavi_says(body({"code": "0000", "msg": "ok"})) == "code 0000 · ok"
    inner_failure = {"code": 200, "message": "SUCCESS", "data": {"success": False, "msg": "decode failed"}}
    assert views.mavi_says(body(inner_failure)) == "code 200 · data.success false · decode failed"
    long = views.mavi_says(body({"code": 500, "message": "x" * 500}))
    assert len(long) == views.MESSAGE_CHARS
    assert long.endswith("…")
    assert views.mavi_says(b"[1, 2]") == ""  # not an object: nothing to say


def test_pretty_keeps_the_order_and_non_ascii_and_survives_non_json() -> None:
    assert views.pretty(b'{"b": 1, "a": "\\u00e9"}') == '{\n  "b": 1,\n  "a": "é"\n}'
    assert views.pretty(b"not json \xff") == "not json \ufffd"


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        ({"data": {"asset_id": "im_1", "asset_ch_ids": ["imc_1_0"]}}, "extract_frames"),
        (
            {"data": {"data": {"data": [{"start_time": 0, "end_time": 1, "transcript": "red"}]}}},
            "transcribe_video",
        ),
        ({"data": {"data": {"data": [{"start_time": 0, "end_time": 1, "text": "hi"}]}}}, "transcribe_audio"),
        ({"data": {"data": {"data": [{"start": 0, "end": 1, "speaker": "SPEAKER_00"}]}}}, "diarize"),
        ({"data": {"data": {"data": [{"start": 0, "end": 9}], "exec_time": 1.2}}}, "detect_scenes"),
        ({"data": {"data": {"summary": "a video"}}}, "summarize"),
        ({"data": {"data": {"audio_transcription": []}}}, "recognize_speakers"),
        ({"data": {"splits": [{"asset_id": "re_2"}]}}, "split_video"),
        ({"data": {"asset_id": "re_3", "original_filename": "edit.mp4"}}, "edit_video"),
        ({"data": {"something": "else"}}, None),
        ({"data": {"data": {"data": []}}}, None),
        ({"data": "text"}, None),
        ({"code": 200}, None),
    ],
)
def test_the_kind_of_an_unclaimed_callback_is_read_from_its_documented_shape(
    payload: dict, kind: str | None
) -> None:
    assert views.kind_from_shape(body({"code": 200, "task_id": "j", **payload})) == kind


def test_spend_sums_per_dag_and_per_day_and_never_counts_an_unknown_price() -> None:
    rows = [
        SpendRow("2026-11-30", "video", jobs=3, priced=2, cost_usd=0.25),
        SpendRow("2026-11-30", None, jobs=1, priced=0, cost_usd=0.0),
        SpendRow("2026-11-29", "video", jobs=2, priced=2, cost_usd=0.5),
        SpendRow("2026-11-29", "audio", jobs=1, priced=1, cost_usd=0.01),
    ]
    assert views.spend_by_dag(rows) == [
        views.SpendTotal("video", 5, 4, 0.75),
        views.SpendTotal("audio", 1, 1, 0.01),
        views.SpendTotal(views.NO_DAG, 1, 0, 0.0),
    ]
    by_day = views.spend_by_day(rows)
    assert [(t.label, t.jobs, t.unpriced) for t in by_day] == [("2026-11-30", 4, 2), ("2026-11-29", 3, 0)]
    assert by_day[1].cost_usd == pytest.approx(0.51)
    assert views.usd(None) == "unknown"
    assert views.usd(1234.5) == "$1,234.5000"
