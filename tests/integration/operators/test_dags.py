"""The operators in real DAG runs: `airflow dags test`, the emulator doing real media work, the real bridge.

Each test checks what a user sees: task states, XCom shapes, clear errors, and the emulator's count of
paid jobs (submit once).
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import webvtt

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def extract_jobs(emulator: Any) -> list[dict[str, Any]]:
    return [job for job in emulator.stats()["jobs"] if job["kind"] == "extract_frames"]


def test_pipeline_with_duplicate_and_delayed_callbacks(
    airflow: Any, emulator: Any, bridge: Any, connection: str, sample_video: Path, tmp_path: Path
) -> None:
    emulator.set_faults(
        {
            "duplicate_callback": {"probability": 1, "copies": 3},
            "callback_delay": {"probability": 1, "seconds": 2},
        }
    )
    out = tmp_path / "out"
    run = airflow.dags_test("mavi_ops_pipeline", {"video": str(sample_video), "out": str(out)}, connection)
    assert run.state == "success", run.tail()
    assert {task: state for task, (state, _) in run.tasks.items()} == {
        "upload": "success",
        "extract": "success",
        "transcribe": "success",
        "download": "success",
    }
    x = run.xcoms

    asset_id = x[("upload", "return_value")]
    assert re.fullmatch(r"re_\d+", asset_id)
    media = x[("upload", "media")]
    assert media["asset_id"] == asset_id
    assert media["size_bytes"] == sample_video.stat().st_size
    assert media["duration_seconds"] == pytest.approx(6.0, abs=0.2)

    frames = x[("extract", "return_value")]
    assert set(frames) == {"job_id", "frames_asset_id", "frame_asset_ids", "frame_count", "cost_usd"}
    assert x[("extract", "job_id")] == frames["job_id"]
    assert frames["frame_count"] == len(frames["frame_asset_ids"]) >= 5
    assert frames["cost_usd"] == pytest.approx(media["duration_seconds"] * 0.01, abs=1e-6)
    assert x[("extract", "mavi_cost_usd")] == frames["cost_usd"]

    described = x[("transcribe", "return_value")]
    assert set(described) == {
        "job_id",
        "model",
        "usage",
        "cost_usd",
        "segment_count",
        "json_path",
        "vtt_path",
    }
    assert described["model"] == "gemini-2.5-flash-lite"
    document = json.loads(Path(described["json_path"]).read_text())
    assert len(document["segments"]) == described["segment_count"] > 0
    assert len(webvtt.read(described["vtt_path"]).captions) == described["segment_count"]
    assert described["cost_usd"] == round(
        described["usage"]["prompt_tokens"] * 0.45e-6 + described["usage"]["output_tokens"] * 3.75e-6, 6
    )

    downloaded = x[("download", "return_value")]
    assert downloaded["asset_id"] == frames["frames_asset_id"]
    assert len(downloaded["paths"]) == frames["frame_count"]
    for entry in downloaded["files"]:
        data = Path(entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
        assert data[:2] == b"\xff\xd8"
    assert sorted(p.name for p in (out / "frames").iterdir()) == sorted(
        Path(p).name for p in downloaded["paths"]
    )

    stats = emulator.stats()
    kinds = [job["kind"] for job in stats["jobs"]]
    assert kinds.count("extract_frames") == 1
    assert kinds.count("transcribe_video") == 1
    assert stats["callbacks"]["delivered"] >= 6  # 3 copies of each callback reached the bridge
    assert "of this DAG run so far" in run.output
    assert bridge.token not in run.output
    assert emulator.api_key not in run.output


def test_failure_callback_fails_the_task_with_mavi_message(
    airflow: Any, emulator: Any, connection: str, sample_video: Path
) -> None:
    emulator.set_faults({"failure_callback": {"probability": 1, "msg": "Frame decoder crashed at 00:02"}})
    run = airflow.dags_test("mavi_ops_extract", {"video": str(sample_video)}, connection)
    assert run.state == "failed", run.tail()
    assert run.tasks["extract"][0] == "failed"
    assert "Frame decoder crashed at 00:02" in run.output
    assert "MaviJobFailedError" in run.output
    # The retry saw the failed job and paid for a new one (which failed too): never more than that.
    assert len(extract_jobs(emulator)) == 2


def test_dropped_callback_ends_in_the_timeout_error(
    airflow: Any, emulator: Any, bridge: Any, connection: str, sample_video: Path
) -> None:
    emulator.set_faults({"drop_callback": {"probability": 1}})
    run = airflow.dags_test("mavi_ops_extract_short", {"video": str(sample_video)}, connection)
    assert run.state == "failed", run.tail()
    jobs = extract_jobs(emulator)
    assert jobs, run.tail()
    first = jobs[0]["job_id"]
    assert f"mavi-bridge show {first}" in run.output
    assert f"reached the bridge at {bridge.url}" in run.output
    assert bridge.token not in run.output
    assert "MaviJobTimeoutError" in run.output


@pytest.mark.parametrize("hide_state_store", [False, True], ids=["task-state-store", "bridge-record"])
def test_a_task_retried_after_its_submit_pays_once(
    airflow: Any, emulator: Any, connection: str, sample_video: Path, hide_state_store: bool
) -> None:
    emulator.set_faults({"callback_delay": {"probability": 1, "seconds": 3}})
    conf = {"video": str(sample_video), "lose_first_try": True, "hide_state_store": hide_state_store}
    run = airflow.dags_test("mavi_ops_extract", conf, connection)
    assert run.state == "success", run.tail()
    state, tries = run.tasks["extract"]
    assert (state, tries) == ("success", 2), run.tail()
    assert "worker lost after the submit" in run.output
    assert "Re-attaching to Mavi job" in run.output or "already delivered; using it" in run.output
    jobs = extract_jobs(emulator)
    assert len(jobs) == 1, jobs
    assert run.xcoms[("extract", "return_value")]["job_id"] == jobs[0]["job_id"]


def mapped_results(airflow: Any, dag_id: str, task_id: str) -> dict[int, Any]:
    """The ``return_value`` of every mapped instance of a task in the DAG's last run, by map index."""
    with sqlite3.connect(airflow.home / "airflow.db") as db:
        (run_id,) = db.execute(
            "SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (dag_id,)
        ).fetchone()
        rows = db.execute(
            "SELECT map_index, value FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = ? "
            "AND key = 'return_value'",
            (dag_id, run_id, task_id),
        ).fetchall()
    return {index: json.loads(value) for index, value in rows}


def test_split_output_expands_into_one_paid_job_per_segment_after_a_retry(
    airflow: Any, emulator: Any, connection: str, sample_video: Path
) -> None:
    emulator.set_faults({"callback_delay": {"probability": 1, "seconds": 2}})
    conf = {"video": str(sample_video), "lose_first_try": True}
    run = airflow.dags_test("mavi_ops_split_expand", conf, connection)
    assert run.state == "success", run.tail()
    assert run.tasks["split"] == ("success", 2), run.tail()  # lost after its submit, then re-attached
    assert "worker lost after the submit" in run.output
    segments = run.xcoms[("split", "return_value")]
    assert len(segments) == 3
    assert run.xcoms[("split", "split")]["asset_ids"] == segments
    scenes = mapped_results(airflow, "mavi_ops_split_expand", "scenes")
    speech = mapped_results(airflow, "mavi_ops_split_expand", "speech")
    assert sorted(scenes) == sorted(speech) == [0, 1, 2]
    for index in range(3):  # each segment holds one 2 s scene at 10 fps and one 1.5 s tone
        assert [(s["start_frame"], s["end_seconds"]) for s in scenes[index]["scenes"]] == [(0, 2.0)]
        turns = [(t["start"], t["end"]) for t in speech[index]["segments"]]
        assert turns == [(pytest.approx(0.0, abs=0.05), pytest.approx(1.5, abs=0.05))]  # AAC priming
    by_asset = emulator.stats()["jobs_by_asset"]
    assert [job["kind"] for job in emulator.stats()["jobs"]].count("split_video") == 1
    for asset in segments:
        assert by_asset[asset] == {"detect_scenes": 1, "transcribe_audio": 1}
