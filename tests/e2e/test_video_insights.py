"""mavi_video_insights end to end: `airflow dags test` against the real emulator and the real bridge.

The 6-second sample (a scene cut every 2 s, a tone in each 2 s stretch) is split into 2-second segments;
each segment is downloaded and decoded here, its transcript files parsed, and the emulator's own stats must
show exactly one paid job of each kind per segment.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import av
import pytest
import webvtt
from PIL import Image

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MAVI_QPS = 1  # the real account's limit, per endpoint
SECONDS = 6.0
SEGMENT_SECONDS = 2
VLM = "nova:us.amazon.nova-lite-v1:0"


def local(path: str) -> Path:
    return Path(path[len("file://") :] if path.startswith("file://") else path)


@pytest.fixture(scope="module")
def insights(airflow_env: Any, services: Any, make_video: Any, tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("insights")
    video = make_video(work / "in" / "talk one.mp4", seconds=SECONDS, width=320, height=240)
    output = work / "out"
    before = services.stats()
    run = airflow_env.dags_test(
        "mavi_video_insights",
        {"video": str(video), "output": output.as_uri(), "segment_seconds": SEGMENT_SECONDS},
    )
    assert run.succeeded, run.tail(120)
    report = run.xcom[("report", -1)]
    document = json.loads(local(report["report_json"]).read_text())
    return {"run": run, "report": report, "document": document, "before": before, "after": services.stats()}


def test_the_split_segments_download_and_decode(insights: dict) -> None:
    run, document = insights["run"], insights["document"]
    segments = run.xcom[("split", -1)]
    assert isinstance(segments, list)
    assert len(segments) == 3
    assert [s["asset_id"] for s in document["segments"]] == segments
    total = 0.0
    for index, segment in enumerate(document["segments"]):
        with av.open(str(local(segment["file"]))) as container:
            stream = container.streams.video[0]
            frames = sum(1 for _ in container.decode(stream))
            assert (stream.codec_context.width, stream.codec_context.height) == (320, 240)
            assert container.streams.audio, "the segment keeps its sound"
        assert frames == pytest.approx(segment["duration_seconds"] * 10, abs=1)  # 10 fps
        assert segment["fps"] == 10.0
        assert segment["start_seconds"] == pytest.approx(total)
        total += segment["duration_seconds"]
        assert run.xcom[("download_segment", index)]["paths"] == [segment["file"]]
    assert total == pytest.approx(SECONDS, abs=0.3)


def test_every_transcript_file_parses(insights: dict) -> None:
    for segment in insights["document"]["segments"]:
        speech = segment["speech"]
        transcript = json.loads(local(speech["json_path"]).read_text())
        assert transcript["job_id"] == speech["job_id"]
        assert transcript["speaker_labels"] is True
        turns = transcript["segments"]
        assert len(turns) == 1, turns  # one tone per 2 s segment
        assert turns[0]["speaker"] == "SPEAKER_00"
        assert turns[0]["text"].startswith("[speech ")
        vtt = webvtt.read(str(local(speech["vtt_path"]))).captions
        assert [(c.voice, html.unescape(c.text)) for c in vtt] == [("SPEAKER_00", turns[0]["text"])]
        srt = webvtt.from_srt(str(local(speech["srt_path"]))).captions
        assert [c.text for c in srt] == [turns[0]["text"]]
        assert speech["turns"][0]["video_start"] == pytest.approx(
            segment["start_seconds"] + turns[0]["start"]
        )


def test_the_report_has_every_part(insights: dict) -> None:
    document, report = insights["document"], insights["report"]
    assert "6.0 s video" in document["summary"]["text"]
    assert document["duration_seconds"] == pytest.approx(SECONDS, abs=0.2)
    assert document["vlm_model"] == VLM
    for segment in document["segments"]:
        scenes = segment["scenes"]["scenes"]
        assert len(scenes) == 1  # the sample cuts every 2 s: one scene per segment
        assert scenes[0]["start_frame"] == 0
        assert scenes[0]["video_start"] == pytest.approx(segment["start_seconds"])
        assert set(segment["answer"]) == {"summary", "colours", "motion", "mood"}
        assert segment["answer"]["mood"] == "not measured by the emulator"
        assert segment["answer_model"] == VLM
    costs = document["cost_usd"]
    assert costs["unknown"] == ["detect_scenes", "split_video", "summarize"]
    assert costs["parts"]["transcribe_audio"] == pytest.approx(0.002 * SECONDS, abs=0.001)
    assert costs["parts"]["extract_frames"] == pytest.approx(0.01 * SECONDS, abs=0.002)
    assert costs["parts"]["vlm_chat"] > 0
    assert report["cost_usd"] == costs
    markdown = local(report["report_md"]).read_text()
    assert markdown.startswith("# Video insights: talk one.mp4")
    for segment in document["segments"]:
        assert f"## Segment {segment['index']}: " in markdown
        assert segment["answer"]["summary"].split()[0] in markdown
    assert "![Contact sheet](contact_sheet.jpg)" in markdown
    assert "| **total** | unknown (known: $" in markdown
    sheet = local(report["contact_sheet"])
    assert sheet.parent == local(report["report_md"]).parent
    with Image.open(sheet) as image:
        image.load()
        assert image.format == "JPEG"


def test_exactly_one_paid_job_per_kind_per_segment(insights: dict) -> None:
    run, after = insights["run"], insights["after"]
    jobs = [j for j in after["jobs"] if j not in insights["before"]["jobs"]]
    video = run.xcom[("upload", -1)]
    segments = run.xcom[("split", -1)]
    assert after["jobs_by_asset"][video] == {"split_video": 1, "summarize": 1, "extract_frames": 1}
    for segment in segments:
        assert after["jobs_by_asset"][segment] == {"transcribe_audio": 1, "detect_scenes": 1}
    assert sorted(j["kind"] for j in jobs).count("vlm_chat") == len(segments)  # sent inline: no asset id
    assert len(jobs) == 3 + 3 * len(segments)


def test_no_secret_in_the_run_output(insights: dict) -> None:
    assert "[secret-redacted-by-test]" not in insights["run"].output, "a secret was printed"
