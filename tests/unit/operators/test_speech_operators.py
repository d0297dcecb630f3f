"""Whisper, diarization, speaker recognition and summary operators without a server.

Requests go over HTTP to the paid Mavi of conftest.py (the real hook builds them); callbacks are mavi-api.md's
documented examples (tests/unit/mavi_examples.py); the bridge is the in-memory ``fake_bridge``.
"""

from __future__ import annotations

import copy
import html
import json
from typing import Any

import pytest
import webvtt

from airflow_provider_mavi.compat import TaskDeferred
from airflow_provider_mavi.contact_sheet import read_transcript_segments
from airflow_provider_mavi.exceptions import MaviCallbackError, MaviOperatorError, MaviServerError
from airflow_provider_mavi.operators.mavi import (
    MaviRecognizeSpeakersOperator,
    MaviSpeakerDiarizationOperator,
    MaviSummarizeVideoOperator,
    MaviTranscribeAudioOperator,
)

from .. import mavi_examples as ex


def deferred(op: Any, context: dict[str, Any]) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as caught:
        op.execute(context)
    return caught.value


def finish(op: Any, run: Any, task_id: str, payload: dict[str, Any]) -> Any:
    """Run the task to its deferral, then complete it with ``payload`` as the callback of its job."""
    job_id = deferred(op, run.context(task_id)).trigger.job_id
    body = {**copy.deepcopy(payload), "task_id": job_id}
    return op.execute_complete(
        run.context(task_id), {"status": "success", "job_id": job_id, "payload": body}, job_id=job_id
    )


# ------------------------------------------------------------------------------------------ Whisper


@pytest.mark.parametrize("speaker", [False, True])
def test_transcribe_audio_submits_the_documented_body(
    wire: Any, paid_mavi: Any, run: Any, speaker: bool
) -> None:
    op = wire(MaviTranscribeAudioOperator(task_id="speech", asset_id="re_1", speaker=speaker))
    trigger = deferred(op, run.context("speech")).trigger
    assert paid_mavi.paths() == ["/transcriptions/async-generate-audio"]
    assert paid_mavi.bodies("/transcriptions/async-generate-audio") == [
        {"asset_id": "re_1", "model": "whisper-1", "speaker": speaker}
    ]
    assert trigger.job_id == paid_mavi.job_ids[0] == run.xcom("speech", "job_id")


def test_transcribe_audio_result_from_the_documented_callback(wire: Any, run: Any) -> None:
    op = wire(MaviTranscribeAudioOperator(task_id="speech", asset_id="re_1"))
    result = finish(op, run, "speech", ex.AUDIO_CALLBACK)
    assert result == {
        "job_id": result["job_id"],
        "model": "whisper-1",
        "segments": [{"start": 0.0, "end": 2.98, "text": "Hello, how are you today?", "speaker": None}],
        "duration_seconds": 13.1,
        "speaker_labels": False,
        "cost_usd": 0.0131,
        "cost_note": None,
        "text": "Hello, how are you today?",
    }
    assert run.xcom("speech", "mavi_cost_usd") == 0.0131
    json.dumps(result)


def test_speaker_labels_double_the_price_as_asked_not_as_guessed(wire: Any, run: Any) -> None:
    op = wire(MaviTranscribeAudioOperator(task_id="speech", asset_id="re_1", speaker=True))
    result = finish(op, run, "speech", ex.AUDIO_CALLBACK)  # the example's segment has speaker null
    assert result["speaker_labels"] is True
    assert result["cost_usd"] == 0.0262


def test_a_callback_without_duration_is_priced_by_the_given_one(wire: Any, run: Any) -> None:
    payload = copy.deepcopy(ex.AUDIO_CALLBACK)
    del payload["data"]["data"]["usage_metadata"]
    media = {"asset_id": "re_1", "duration_seconds": 20.0}
    op = wire(MaviTranscribeAudioOperator(task_id="speech", asset_id="re_1", media_duration_seconds=media))
    assert finish(op, run, "speech", payload)["cost_usd"] == 0.02
    unpriced = wire(MaviTranscribeAudioOperator(task_id="other", asset_id="re_1"))
    result = finish(unpriced, run, "other", payload)
    assert (result["cost_usd"], result["cost_note"]) == (
        None,
        "the callback reports no usage_metadata.duration",
    )


def test_mavis_reported_duration_wins_over_the_given_one(wire: Any, run: Any) -> None:
    op = wire(MaviTranscribeAudioOperator(task_id="speech", asset_id="re_1", media_duration_seconds=99))
    assert finish(op, run, "speech", ex.AUDIO_CALLBACK)["cost_usd"] == 0.0131


def test_unknown_price_is_said_once_in_the_log(
    wire: Any, paid_mavi: Any, run: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    paid_mavi.answers["/transcriptions/sync-generate-audio"] = (200, ex.AUDIO_SYNC_ANSWER)
    op = wire(MaviTranscribeAudioOperator(task_id="speech", asset_id="re_1", sync=True), bridge=False)
    assert op.execute(run.context("speech"))["cost_usd"] is None
    lines = [line for line in capsys.readouterr().out.splitlines() if "cost_usd is null" in line]
    assert len(lines) == 1
    assert (
        "cost_usd is null: the sync answer reports no duration: price it with .with_duration(seconds) "
        "(pass media_duration_seconds, e.g. the upload's XCom 'media', to price it)"
    ) in lines[0]


@pytest.mark.parametrize(
    ("speaker", "answer", "cost"),
    [(False, ex.AUDIO_SYNC_ANSWER, 0.01), (True, ex.AUDIO_SYNC_SPEAKER_ANSWER, 0.02)],
)
def test_sync_transcription_needs_no_bridge_and_does_not_defer(
    wire: Any, paid_mavi: Any, run: Any, speaker: bool, answer: Any, cost: float
) -> None:
    paid_mavi.answers["/transcriptions/sync-generate-audio"] = (200, answer)
    op = MaviTranscribeAudioOperator(
        task_id="speech", asset_id="re_1", speaker=speaker, sync=True, media_duration_seconds="10"
    )
    result = wire(op, bridge=False).execute(run.context("speech"))  # the connection has no bridge
    assert paid_mavi.sent == [
        (
            "POST",
            "/transcriptions/sync-generate-audio",
            {"asset_id": "re_1", "model": "whisper-1", "speaker": speaker},
        )
    ]
    assert result["job_id"] is None
    assert [s["text"] for s in result["segments"]] == [
        "Hello, how are you today?",
        "I'm doing well, thank you.",
    ]
    assert result["segments"][1]["start"] == 2.98
    assert result["cost_usd"] == cost
    assert run.xcom("speech", "job_id") is None


def test_a_malformed_sync_answer_is_a_clear_error(wire: Any, paid_mavi: Any, run: Any) -> None:
    paid_mavi.answers["/transcriptions/sync-generate-audio"] = (
        200,
        {"code": 200, "msg": "success", "data": {"model": "whisper-1", "items": [{"text": "hi"}]}},
    )
    op = wire(MaviTranscribeAudioOperator(task_id="speech", asset_id="re_1", sync=True), bridge=False)
    with pytest.raises(MaviServerError, match=r"data\.items\[0\]\.start_time"):
        op.execute(run.context("speech"))
    assert len(paid_mavi.sent) == 1  # a paid call whose answer is unreadable is not sent again


def test_transcript_files_json_webvtt_srt(wire: Any, run: Any, tmp_path: Any) -> None:
    payload = copy.deepcopy(ex.AUDIO_CALLBACK)
    payload["data"]["data"]["data"] = [
        {"start_time": 0.0, "end_time": 1.5, "text": "[speech 1.5 s] a < b & c", "speaker": "SPEAKER_00"},
        {"start_time": 2.0, "end_time": 3.5, "text": "[speech 1.5 s]", "speaker": "SPEAKER_01"},
    ]
    out = tmp_path / "speech"
    op = wire(
        MaviTranscribeAudioOperator(task_id="speech", asset_id="re_1", speaker=True, output_path=str(out))
    )
    result = finish(op, run, "speech", payload)
    job_id = result["job_id"]
    assert {k: result[k] for k in ("segment_count", "json_path", "vtt_path", "srt_path")} == {
        "segment_count": 2,
        "json_path": f"{out}/{job_id}.json",
        "vtt_path": f"{out}/{job_id}.vtt",
        "srt_path": f"{out}/{job_id}.srt",
    }
    assert "segments" not in result
    assert "text" not in result
    document = json.loads((out / f"{job_id}.json").read_text())
    assert document["segments"][0] == {
        "start": 0.0, "end": 1.5, "text": "[speech 1.5 s] a < b & c", "speaker": "SPEAKER_00"
    }  # fmt: skip
    assert document["cost_usd"] == result["cost_usd"] == 0.0262
    assert [s.speaker for s in read_transcript_segments(str(out / f"{job_id}.json"))] == [
        "SPEAKER_00",
        "SPEAKER_01",
    ]
    captions = webvtt.read(str(out / f"{job_id}.vtt")).captions
    assert [(c.start, c.end, html.unescape(c.text), c.voice) for c in captions] == [
        ("00:00:00.000", "00:00:01.500", "[speech 1.5 s] a < b & c", "SPEAKER_00"),
        ("00:00:02.000", "00:00:03.500", "[speech 1.5 s]", "SPEAKER_01"),
    ]
    assert (out / f"{job_id}.srt").read_text() == (
        "1\n00:00:00,000 --> 00:00:01,500\n[speech 1.5 s] a < b & c\n\n"
        "2\n00:00:02,000 --> 00:00:03,500\n[speech 1.5 s]\n"
    )
    srt = webvtt.from_srt(str(out / f"{job_id}.srt")).captions
    assert [c.text for c in srt] == ["[speech 1.5 s] a < b & c", "[speech 1.5 s]"]  # SubRip: text only


def test_sync_files_are_named_by_the_asset(wire: Any, paid_mavi: Any, run: Any, tmp_path: Any) -> None:
    paid_mavi.answers["/transcriptions/sync-generate-audio"] = (200, ex.AUDIO_SYNC_ANSWER)
    op = MaviTranscribeAudioOperator(task_id="speech", asset_id="re_7", sync=True, output_path=str(tmp_path))
    result = wire(op, bridge=False).execute(run.context("speech"))
    assert result["json_path"] == f"{tmp_path}/re_7.json"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["re_7.json", "re_7.srt", "re_7.vtt"]


def test_a_failure_or_malformed_callback_fails_and_writes_nothing(
    wire: Any, run: Any, kit: Any, tmp_path: Any
) -> None:
    op = wire(MaviTranscribeAudioOperator(task_id="speech", asset_id="re_1", output_path=str(tmp_path / "o")))
    payload = copy.deepcopy(ex.AUDIO_CALLBACK)
    payload["data"]["data"]["data"][0]["end_time"] = "late"
    with pytest.raises(MaviCallbackError, match=r"data\.data\.data\[0\]\.end_time"):
        finish(op, run, "speech", payload)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"speaker": "False"}, "speaker must be True or False"),
        ({"sync": 1}, "sync must be True or False"),
    ],
)
def test_bad_flags_fail_when_the_dag_is_parsed(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        MaviTranscribeAudioOperator(task_id="speech", asset_id="re_1", **kwargs)


@pytest.mark.parametrize("bad", ["ten", -1, float("inf"), True, {"duration_seconds": "x"}])
def test_an_unreadable_media_duration_is_refused_before_paying(
    wire: Any, paid_mavi: Any, run: Any, bad: Any
) -> None:
    op = wire(MaviTranscribeAudioOperator(task_id="speech", asset_id="re_1", media_duration_seconds=bad))
    with pytest.raises(MaviOperatorError, match="media_duration_seconds"):
        op.execute(run.context("speech"))
    assert paid_mavi.sent == []


def test_a_retry_with_other_speaker_flag_does_not_re_attach(
    wire: Any, paid_mavi: Any, run: Any, fake_bridge: Any
) -> None:
    first = deferred(wire(MaviTranscribeAudioOperator(task_id="s", asset_id="re_1")), run.context("s"))
    again = deferred(wire(MaviTranscribeAudioOperator(task_id="s", asset_id="re_1")), run.context("s"))
    other = deferred(
        wire(MaviTranscribeAudioOperator(task_id="s", asset_id="re_1", speaker=True)), run.context("s")
    )
    assert again.trigger.job_id == first.trigger.job_id
    assert other.trigger.job_id != first.trigger.job_id
    assert len(paid_mavi.job_ids) == 2
    keys = {job["key"] for job in fake_bridge.jobs.values()}
    assert len(keys) == 2
    assert all(k.startswith("mavi_unit/manual__unit/s/-1|transcribe_audio:re_1:") for k in keys)


# ------------------------------------------------------------------------------------------ diarization


def test_diarization_async_result(wire: Any, paid_mavi: Any, run: Any) -> None:
    op = wire(MaviSpeakerDiarizationOperator(task_id="who", asset_id="re_1"))
    result = finish(op, run, "who", ex.SPEAKER_CALLBACK)
    assert paid_mavi.sent[0][1:] == ("/transcriptions/async-generate-speaker", {"asset_id": "re_1"})
    assert result["segments"] == [
        {"start": 0.03, "end": 0.13, "speaker": "SPEAKER_01"},
        {"start": 0.13, "end": 13.40, "speaker": "SPEAKER_00"},
    ]
    assert result["speakers"] == ["SPEAKER_01", "SPEAKER_00"]
    assert (result["model"], result["duration_seconds"], result["cost_usd"]) == ("pyannote", 13.4, 0.0134)


def test_diarization_sync_priced_by_the_given_duration(wire: Any, paid_mavi: Any, run: Any) -> None:
    paid_mavi.answers["/transcriptions/sync-generate-speaker"] = (200, ex.SPEAKER_SYNC_ANSWER)
    op = MaviSpeakerDiarizationOperator(
        task_id="who", asset_id="re_1", sync=True, media_duration_seconds=13.4
    )
    result = wire(op, bridge=False).execute(run.context("who"))
    assert paid_mavi.paths() == ["/transcriptions/sync-generate-speaker"]
    assert (result["job_id"], result["speakers"], result["cost_usd"]) == (
        None,
        ["SPEAKER_01", "SPEAKER_00"],
        0.0134,
    )


# ------------------------------------------------------------------------------------------ recognition


def test_recognize_speakers_result_and_price(wire: Any, paid_mavi: Any, run: Any) -> None:
    op = wire(MaviRecognizeSpeakersOperator(task_id="names", asset_id="re_1", media_duration_seconds=90))
    result = finish(op, run, "names", ex.MULTI_SPEAKER_CALLBACK)
    assert paid_mavi.paths() == ["/transcriptions/async-generate-multi-speaker"]
    assert result["segments"] == [{"start": 0.0, "end": 4.2, "text": "<text>", "speaker": "<name>"}]
    assert result["faces"] == [
        {"face_id": "<id>", "name": "<name>", "protocol": "gs", "bucket": "<bucket>", "blob": "<path>"}
    ]
    assert result["usage"] == [{"duration": 12.3}]
    assert (result["processing_seconds"], result["media_seconds"], result["cost_usd"]) == (12.3, 90.0, 0.15)
    assert result["speakers"] == ["<name>"]


def test_recognize_speakers_without_the_media_duration_is_unpriced(wire: Any, run: Any) -> None:
    result = finish(
        wire(MaviRecognizeSpeakersOperator(task_id="n", asset_id="re_1")), run, "n", ex.MULTI_SPEAKER_CALLBACK
    )
    assert result["cost_usd"] is None
    assert "processing time, not the media's duration" in result["cost_note"]


def test_recognize_speakers_has_no_sync_mode() -> None:
    with pytest.raises(TypeError):
        MaviRecognizeSpeakersOperator(task_id="n", asset_id="re_1", sync=True)  # type: ignore[call-arg]


# ------------------------------------------------------------------------------------------ summary


def test_summary_result_and_its_unknown_price(
    wire: Any, paid_mavi: Any, run: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    result = finish(
        wire(MaviSummarizeVideoOperator(task_id="sum", asset_id="re_1")), run, "sum", ex.SUMMARY_CALLBACK
    )
    assert paid_mavi.sent[0][1:] == ("/transcriptions/async-summary", {"asset_id": "re_1"})
    assert result["summary"] == "<summary text>"
    assert result["usage"] == {
        "duration_seconds": 8.1,
        "model": "gemini-2.5-flash",
        "prompt_tokens": 5200,
        "output_tokens": 240,
    }
    assert result["cost_usd"] is None
    said = [line for line in capsys.readouterr().out.splitlines() if "cost_usd is null" in line]
    assert len(said) == 1
    assert (
        "cost_usd is null: Mavi publishes no price for this call (not documented, mavi-api.md §12.4)"
        in said[0]
    )
    assert run.xcom("sum", "mavi_cost_usd") is None


def test_summary_fingerprint_is_kind_and_asset(wire: Any, run: Any, fake_bridge: Any) -> None:
    deferred(wire(MaviSummarizeVideoOperator(task_id="sum", asset_id="re_9")), run.context("sum"))
    assert [job["key"] for job in fake_bridge.jobs.values()] == [
        "mavi_unit/manual__unit/sum/-1|summarize:re_9"
    ]


# ------------------------------------------------------------------------------------------ sync answers kept


def test_a_sync_answer_is_kept_so_a_retry_pays_nothing(
    wire: Any, paid_mavi: Any, run: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    paid_mavi.answers["/transcriptions/sync-generate-audio"] = (200, ex.AUDIO_SYNC_SPEAKER_ANSWER)
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the folder should be")

    def attempt(output: Any) -> Any:
        op = MaviTranscribeAudioOperator(
            task_id="speech", asset_id="re_1", speaker=True, sync=True, output_path=str(output)
        )
        return wire(op, bridge=False).execute(run.context("speech"))

    with pytest.raises(OSError):
        attempt(blocked)  # paid, then the output fails
    assert len(paid_mavi.sent) == 1
    first = attempt(tmp_path / "out")  # the retry writes the kept answer: nothing paid
    assert len(paid_mavi.sent) == 1
    assert "Re-using the Mavi answer an earlier try kept" in capsys.readouterr().out
    assert first["segment_count"] == 2
    again = attempt(tmp_path / "out")  # its result too, while its files are there
    assert again == first
    assert "Re-using the result of an earlier try" in capsys.readouterr().out
    assert len(paid_mavi.sent) == 1


def test_a_sync_call_for_another_request_or_without_a_store_pays_again(
    wire: Any, paid_mavi: Any, run: Any
) -> None:
    paid_mavi.answers["/transcriptions/sync-generate-speaker"] = (200, ex.SPEAKER_SYNC_ANSWER)
    paid_mavi.answers["/transcriptions/sync-generate-audio"] = (200, ex.AUDIO_SYNC_ANSWER)

    def call(cls: Any, context: dict[str, Any], **kwargs: Any) -> Any:
        return wire(cls(task_id="t", asset_id="re_1", sync=True, **kwargs), bridge=False).execute(context)

    call(MaviSpeakerDiarizationOperator, run.context("t"))
    call(MaviSpeakerDiarizationOperator, run.context("t"))
    assert len(paid_mavi.sent) == 1
    call(MaviSpeakerDiarizationOperator, run.context("t", state_store=False))  # Airflow < 3.3
    assert len(paid_mavi.sent) == 2
    call(MaviTranscribeAudioOperator, run.context("t"))  # another request for the same task
    call(MaviTranscribeAudioOperator, run.context("t"), speaker=True)
    assert [path for _, path, _ in paid_mavi.sent][2:] == ["/transcriptions/sync-generate-audio"] * 2


def test_a_lost_sync_answer_is_noted_for_the_next_try(
    wire: Any, paid_mavi: Any, run: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    paid_mavi.first = [(502, {"code": 502, "msg": "Bad Gateway"})]
    paid_mavi.answers["/transcriptions/sync-generate-audio"] = (200, ex.AUDIO_SYNC_ANSWER)
    op = wire(MaviTranscribeAudioOperator(task_id="s", asset_id="re_1", sync=True), bridge=False)
    with pytest.raises(MaviServerError) as caught:
        op.execute(run.context("s"))
    assert caught.value.outcome_unknown is True
    assert len(paid_mavi.sent) == 1  # a 5xx on a paid call is never re-sent by the hook
    assert "may have been billed although its answer was lost" in capsys.readouterr().out
    op.execute(run.context("s"))
    assert "An earlier try's transcribe_audio call" in capsys.readouterr().out
    assert len(paid_mavi.sent) == 2
