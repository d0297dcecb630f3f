"""MaviSpeechToTextOperator against the emulator, with a connection that has no bridge."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import webvtt

from airflow_provider_mavi.exceptions import MaviRateLimitError, MaviServerError
from airflow_provider_mavi.hooks.mavi import MaviHook
from airflow_provider_mavi.operators.mavi import MaviOperatorError, MaviSpeechToTextOperator

STT = "POST /transcriptions/speech-to-text"


def paid(server: Any) -> list[dict[str, Any]]:
    """The paid speech-to-text calls the emulator recorded."""
    return [job for job in server.stats()["jobs"] if job["kind"] == "speech_to_text"]


def test_the_connection_has_no_bridge(sync_emulator: Any) -> None:
    assert MaviHook().get_settings().bridge_url is None


def test_elevenlabs_writes_json_webvtt_and_srt(
    sync_emulator: Any, ready_video: str, tmp_path: Path, run: Any
) -> None:
    op = MaviSpeechToTextOperator(
        task_id="stt",
        asset_id=ready_video,
        output_path=str(tmp_path / "out"),
        audio_duration_seconds={"duration_seconds": 6.0},  # the upload's `media` XCom
        diarize=True,
    )
    result = op.execute(run.context("stt"))
    stem = tmp_path / "out" / f"{ready_video}.elevenlabs"
    assert result["json_path"] == f"{stem}.json"
    assert result["vtt_path"] == f"{stem}.vtt"
    assert result["srt_path"] == f"{stem}.srt"
    assert "segments" not in result
    assert "words" not in result
    document = json.loads(Path(result["json_path"]).read_text())
    # The sample's tone track: 0-1.5 s, 2-3.5 s, 4-5.5 s; the emulator stands in one word per turn.
    assert [(s["start"], s["end"]) for s in document["segments"]] == [(0.0, 1.5), (2.0, 3.5), (4.0, 5.5)]
    assert result["segment_count"] == 3
    assert result["text"] == document["text"]
    captions = webvtt.read(result["vtt_path"]).captions
    assert [(c.start, c.end, c.voice) for c in captions] == [
        ("00:00:00.000", "00:00:01.500", "speaker_0"),
        ("00:00:02.000", "00:00:03.500", "speaker_1"),
        ("00:00:04.000", "00:00:05.500", "speaker_0"),
    ]
    srt = webvtt.from_srt(result["srt_path"]).captions
    assert [(c.start, c.text) for c in srt] == [
        ("00:00:00.000", "[speech]"),
        ("00:00:02.000", "[speech]"),
        ("00:00:04.000", "[speech]"),
    ]
    # ElevenLabs reports no duration: priced from the one given, as the emulator billed it.
    assert result["cost_usd"] == pytest.approx(6.0 * 0.39 / 3600)
    assert result["cost_usd"] == pytest.approx(sync_emulator.stats()["spend_usd"])
    assert run.xcom("stt", "mavi_cost_usd") == result["cost_usd"]
    assert len(paid(sync_emulator)) == 1


def test_assemblyai_words_are_seconds_and_priced_from_the_answer(
    sync_emulator: Any, ready_video: str, run: Any
) -> None:
    op = MaviSpeechToTextOperator(
        task_id="stt", asset_id=ready_video, provider="assemblyai", speaker_labels=True
    )
    result = op.execute(run.context("stt"))
    assert result["provider"] == "assemblyai"
    assert result["transcript_id"]
    assert [(w["start"], w["end"], w["speaker"]) for w in result["words"]] == [
        (0.0, 1.5, "A"),
        (2.0, 3.5, "B"),
        (4.0, 5.5, "A"),
    ]
    assert result["segments"][1] == {"start": 2.0, "end": 3.5, "text": "[speech]", "speaker": "B"}
    assert result["audio_duration_seconds"] == pytest.approx(6.0)
    assert result["cost_usd"] == pytest.approx(sync_emulator.stats()["spend_usd"])


def test_without_a_duration_elevenlabs_is_unpriced(sync_emulator: Any, ready_video: str, run: Any) -> None:
    result = MaviSpeechToTextOperator(task_id="stt", asset_id=ready_video).execute(run.context("stt"))
    assert result["cost_usd"] is None
    assert "no audio duration" in result["cost_note"]
    assert run.xcom("stt", "mavi_cost_usd") is None


def test_a_url_source_is_never_written_anywhere(
    sync_emulator: Any, file_server: Any, tmp_path: Path, run: Any
) -> None:
    url = f"{file_server.url}/video.mp4?X-Amz-Signature=secret-token-123"
    op = MaviSpeechToTextOperator(task_id="stt", url=url, output_path=str(tmp_path / "out"))
    result = op.execute(run.context("stt"))
    assert Path(result["json_path"]).name.startswith("url-")
    written = "".join(p.read_text() for p in (tmp_path / "out").iterdir())
    assert "secret-token-123" not in written
    assert "secret-token-123" not in json.dumps(result)
    assert "secret-token-123" not in json.dumps(run.stores[("stt", -1)].values)
    # One speaker (no diarize) and pauses of 0.5 s: the three turns make one segment.
    assert result["segment_count"] == 1
    assert result["text"] == "[speech] [speech] [speech]"


def test_the_ambiguous_400_of_an_unknown_asset(sync_emulator: Any, tmp_path: Path, run: Any) -> None:
    op = MaviSpeechToTextOperator(task_id="stt", asset_id="re_0000", output_path=str(tmp_path / "out"))
    with pytest.raises(MaviRateLimitError, match="exceeded the limit") as caught:
        op.execute(run.context("stt"))
    assert caught.value.ambiguous
    assert sync_emulator.stats()["requests"][STT] == 3  # limit_attempts: Mavi certainly did nothing
    assert paid(sync_emulator) == []
    assert run.xcom("stt", "mavi_cost_usd") is None


def test_a_5xx_after_the_request_is_not_repeated_and_the_retry_says_so(
    sync_emulator: Any, ready_video: str, run: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    sync_emulator.set_faults({"server_error": {"next": 1, "after": True, "endpoints": [STT]}})
    op = MaviSpeechToTextOperator(task_id="stt", asset_id=ready_video)
    with pytest.raises(MaviServerError, match="NOT resubmitted") as caught:
        op.execute(run.context("stt"))
    assert caught.value.outcome_unknown
    assert sync_emulator.stats()["requests"][STT] == 1
    assert len(paid(sync_emulator)) == 1  # Mavi did the work (and billed it); the answer was lost
    assert "may have been billed although its answer was lost" in capsys.readouterr().out
    # The task's retry asks again, and its log says that the earlier call may have been billed.
    result = MaviSpeechToTextOperator(task_id="stt", asset_id=ready_video).execute(run.context("stt"))
    assert result["text"] == "[speech] [speech] [speech]"
    assert "ended with its outcome unknown and may have been billed; asking again" in capsys.readouterr().out
    assert len(paid(sync_emulator)) == 2


def test_a_retry_after_the_output_failed_pays_nothing(
    sync_emulator: Any, ready_video: str, tmp_path: Path, run: Any
) -> None:
    out = tmp_path / "out"
    blocker = out / f"{ready_video}.elevenlabs.json"
    blocker.mkdir(parents=True)  # a directory where the JSON file goes: the write fails after the answer
    op = MaviSpeechToTextOperator(task_id="stt", asset_id=ready_video, output_path=str(out))
    with pytest.raises(IsADirectoryError):
        op.execute(run.context("stt"))
    assert len(paid(sync_emulator)) == 1
    blocker.rmdir()
    result = MaviSpeechToTextOperator(task_id="stt", asset_id=ready_video, output_path=str(out)).execute(
        run.context("stt")
    )
    assert len(paid(sync_emulator)) == 1  # the answer kept in the task state store was written
    assert json.loads(Path(result["json_path"]).read_text())["segments"]
    # Once more (e.g. the XCom push failed after execute): the kept result, nothing written or paid.
    again = MaviSpeechToTextOperator(task_id="stt", asset_id=ready_video, output_path=str(out)).execute(
        run.context("stt")
    )
    assert again == result
    assert len(paid(sync_emulator)) == 1


def test_another_request_in_a_retry_pays_for_its_own_answer(
    sync_emulator: Any, ready_video: str, run: Any
) -> None:
    MaviSpeechToTextOperator(task_id="stt", asset_id=ready_video).execute(run.context("stt"))
    MaviSpeechToTextOperator(task_id="stt", asset_id=ready_video, provider="assemblyai").execute(
        run.context("stt")
    )
    assert len(paid(sync_emulator)) == 2


def test_a_bad_output_location_fails_before_paying(
    sync_emulator: Any, ready_video: str, tmp_path: Path, run: Any
) -> None:
    (tmp_path / "file").write_text("not a directory")
    op = MaviSpeechToTextOperator(
        task_id="stt", asset_id=ready_video, output_path=str(tmp_path / "file" / "x")
    )
    with pytest.raises(OSError):
        op.execute(run.context("stt"))
    assert sync_emulator.stats()["requests"].get(STT, 0) == 0


def test_an_option_of_the_wrong_provider_is_refused_before_sending(
    sync_emulator: Any, ready_video: str, run: Any
) -> None:
    op = MaviSpeechToTextOperator(
        task_id="stt", asset_id=ready_video, provider="{{ 'assemblyai' }}", diarize=True
    )
    op.render_template_fields({})
    with pytest.raises(MaviOperatorError, match=r"diarize.*Nothing was sent to Mavi"):
        op.execute(run.context("stt"))
    assert sync_emulator.stats()["requests"].get(STT, 0) == 0
