"""mavi_video_pipeline end to end: `airflow dags test` against the real emulator and the real bridge."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import webvtt
from PIL import Image

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MAVI_QPS = 1  # the real account's limit
SECONDS = 4.0


def local(path: str) -> Path:
    return Path(path[len("file://") :] if path.startswith("file://") else path)


@pytest.fixture(scope="module")
def pipeline_run(airflow_env: Any, services: Any, make_video: Any, tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("pipeline")
    video = make_video(work / "in" / "clip one.mp4", seconds=SECONDS, width=320, height=240)
    output = work / "out"
    before = services.stats()
    run = airflow_env.dags_test(
        "mavi_video_pipeline",
        # the output as a URL (file://, as s3:// would be), the video as a plain local path
        {"video": str(video), "model": "gemini-2.5-flash", "output": output.as_uri()},
    )
    assert run.succeeded, run.tail()
    return {"run": run, "output": output, "video": video, "before": before, "after": services.stats()}


def test_frames_are_real_jpegs(pipeline_run: dict) -> None:
    summary = pipeline_run["run"].xcom[("summary", -1)]
    assert summary["frames_dir"].startswith(pipeline_run["output"].as_uri())
    frames_dir = local(summary["frames_dir"])
    jpegs = sorted(frames_dir.glob("*.jpg")) + sorted(frames_dir.glob("*.jpeg"))
    # one frame per second by default
    assert len(jpegs) >= int(SECONDS) - 1
    assert summary["frame_count"] == len(jpegs)
    for jpeg in jpegs:
        with Image.open(jpeg) as image:
            image.verify()
        with Image.open(jpeg) as image:
            assert image.format == "JPEG"
            assert image.size == (320, 240)
    assert all(p.suffix.lower() in (".jpg", ".jpeg") for p in frames_dir.iterdir()), "only frames land there"


def test_transcript_json_and_webvtt(pipeline_run: dict) -> None:
    summary = pipeline_run["run"].xcom[("summary", -1)]
    document = json.loads(local(summary["transcript_json"]).read_text())
    segments = document["segments"]
    assert len(segments) == summary["segment_count"] >= 1
    for segment in segments:
        assert segment["end_time"] > segment["start_time"] >= 0
        assert segment["text"].strip()
    captions = webvtt.read(str(local(summary["transcript_vtt"])))
    assert len(captions) == len(segments)
    assert captions[0].text.strip() == segments[0]["text"].strip()


def test_contact_sheet_is_written_next_to_the_frames(pipeline_run: dict) -> None:
    summary = pipeline_run["run"].xcom[("summary", -1)]
    sheet = pipeline_run["run"].xcom[("contact_sheet", -1)]
    assert summary["contact_sheet"] == sheet["path"] == summary["run_dir"] + "/contact_sheet.jpg"
    assert summary["contact_sheet_error"] is None
    path = local(sheet["path"])
    assert path.parent == local(summary["frames_dir"]).parent, "next to the frames folder, not inside it"
    assert path.name not in {p.name for p in local(summary["frames_dir"]).iterdir()}
    # every frame is shown (a 4-second video has fewer than the 48 tiles a sheet holds)
    frames = summary["frame_count"]
    assert (sheet["frames"], sheet["tiles"], sheet["every"], sheet["unreadable"]) == (frames, frames, 1, [])
    # the emulator takes one frame per second and the duration was measured: the times are not estimated
    assert sheet["interval_seconds"] == 1.0
    with Image.open(path) as image:
        image.load()
        assert image.format == "JPEG"
        assert image.size == (sheet["width"], sheet["height"])
    # default options: 6 tiles of 240 px a row, 12 px apart, 24 px margins; one row of 320x240 frames
    # (240x180 tiles) plus the header, the timestamps and at least one line of description
    columns = min(6, frames)
    assert image.width == 2 * 24 + columns * 240 + (columns - 1) * 12
    assert 180 + 100 < image.height < 1200
    assert path.stat().st_size == sheet["bytes"] < 300_000


def test_xcom_shapes(pipeline_run: dict) -> None:
    xcom = pipeline_run["run"].xcom
    asset_id = xcom[("upload", -1)]
    assert isinstance(asset_id, str)
    assert asset_id.startswith("re_")
    frames = xcom[("extract_frames", -1)]
    assert frames["frames_asset_id"].startswith("im_")
    assert len(frames["job_id"]) == 32
    assert frames["frame_count"] == len(frames["frame_asset_ids"])
    transcript = xcom[("transcribe_video", -1)]
    assert transcript["model"] == "gemini-2.5-flash"
    assert transcript["job_id"] != frames["job_id"]
    summary = xcom[("summary", -1)]
    assert summary["frames_job_id"] == frames["job_id"]
    assert summary["transcript_job_id"] == transcript["job_id"]
    # the cost is the sum of the documented prices; frames cost $0.01 per second of video
    cost = summary["cost_usd"]
    assert cost["extract_frames"] == pytest.approx(0.01 * SECONDS, abs=0.011)
    assert cost["download_frames"] == xcom[("download_frames", -1)]["cost_usd"]
    parts = cost["extract_frames"] + cost["transcribe_video"] + cost["download_frames"]
    assert cost["total"] == pytest.approx(parts, abs=1e-6)
    written = json.loads((local(summary["run_dir"]) / "summary.json").read_text())
    assert written == summary


def test_one_job_of_each_kind_was_submitted(pipeline_run: dict) -> None:
    frames = pipeline_run["run"].xcom[("extract_frames", -1)]
    asset_id = pipeline_run["run"].xcom[("upload", -1)]
    jobs = [j for j in pipeline_run["after"]["jobs"] if j not in pipeline_run["before"]["jobs"]]
    assert sorted(j["kind"] for j in jobs) == ["extract_frames", "transcribe_video"]
    assert pipeline_run["after"]["jobs_by_asset"][asset_id] == {"extract_frames": 1, "transcribe_video": 1}
    assert frames["job_id"] in {j["job_id"] for j in jobs}


def test_assets_are_published_with_paths(pipeline_run: dict, airflow_env: Any) -> None:
    summary = pipeline_run["run"].xcom[("summary", -1)]
    events = airflow_env.asset_events(pipeline_run["run"].run_id)
    assert events["mavi_video_frames"] == {
        "path": summary["frames_dir"],
        "frame_count": summary["frame_count"],
    }
    assert events["mavi_video_transcript"]["vtt"] == summary["transcript_vtt"]
    assert events["mavi_video_transcript"]["segment_count"] == summary["segment_count"]


def test_no_secret_in_the_run_output(pipeline_run: dict, services: Any) -> None:
    assert "[secret-redacted-by-test]" not in pipeline_run["run"].output, "a secret was printed"


def test_missing_video_fails_clearly_and_submits_nothing(
    airflow_env: Any, services: Any, tmp_path: Path
) -> None:
    before = services.stats()
    run = airflow_env.dags_test(
        "mavi_video_pipeline", {"video": str(tmp_path / "no-such.mp4"), "output": str(tmp_path / "out")}
    )
    assert run.returncode != 0
    assert run.state == "failed"
    assert "no-such.mp4 does not exist (param 'video')" in run.output
    after = services.stats()
    assert after["jobs"] == before["jobs"]
    assert after["requests"].get("POST /upload", 0) == before["requests"].get("POST /upload", 0)


def test_unsupported_model_is_rejected_before_any_task(
    airflow_env: Any, services: Any, tmp_path: Path
) -> None:
    before = services.stats()
    run = airflow_env.dags_test(
        "mavi_video_pipeline", {"video": str(tmp_path / "x.mp4"), "model": "gpt-4o", "output": str(tmp_path)}
    )
    assert run.returncode != 0
    assert "gpt-4o" in run.output
    assert services.stats()["requests"] == before["requests"]
