"""The example DAGs import cleanly (no errors, no warnings) and wire every id through templated fields."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]

# Runs in a fresh interpreter with its own AIRFLOW_HOME, so nothing from other tests leaks in.
INSPECT = r"""
import json, sys, warnings
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    from airflow_provider_mavi.compat import dag_bag_class
    bag = dag_bag_class()(dag_folder=sys.argv[1])
from airflow.sdk.definitions._internal.mixins import ResolveMixin

report = {
    "import_errors": {k: str(v) for k, v in bag.import_errors.items()},
    "captured_warnings": {k: [str(w) for w in v] for k, v in bag.captured_warnings.items()},
    "warnings": [f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in caught
                 if "/dags/" in str(w.filename)],
    "dags": {},
}
for dag_id, dag in bag.dags.items():
    tasks = {}
    for task in dag.tasks:
        unresolved = sorted(
            name for name, value in vars(task).items()
            if isinstance(value, ResolveMixin) and name not in task.template_fields
            and not name.startswith("_")
        )
        tasks[task.task_id] = {
            "type": type(task).__name__,
            "pool": task.pool,
            "upstream": sorted(task.upstream_task_ids),
            "outlets": [getattr(o, "name", str(o)) for o in task.outlets],
            "unresolved_xcomargs": unresolved,
        }
    report["dags"][dag_id] = {
        "tasks": tasks,
        "params": sorted(dag.params.keys()),
        "tags": sorted(dag.tags),
        "doc": bool(dag.doc_md),
    }
print("REPORT" + json.dumps(report))
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    home = tmp_path_factory.mktemp("dagbag_home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update({"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"})
    done = subprocess.run(
        [sys.executable, "-c", INSPECT, str(REPO / "dags")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("REPORT")), None)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert line is not None, done.stdout[-3000:]
    return json.loads(line[len("REPORT") :])


def test_dags_import_without_errors_or_warnings(report: dict) -> None:
    assert report["import_errors"] == {}
    assert report["captured_warnings"] == {}
    assert report["warnings"] == []
    assert set(report["dags"]) == {
        "mavi_video_pipeline",
        "mavi_backfill_historical",
        "mavi_video_insights",
        "mavi_on_callback",
    }
    for dag in report["dags"].values():
        assert "mavi" in dag["tags"]
        assert dag["doc"]


def test_every_xcomarg_lands_in_a_templated_field(report: dict) -> None:
    """An XComArg on a field that is not templated is silently never resolved: none may exist."""
    for dag_id, dag in report["dags"].items():
        for task_id, task in dag["tasks"].items():
            assert task["unresolved_xcomargs"] == [], f"{dag_id}.{task_id}"


def test_pipeline_shape(report: dict) -> None:
    dag = report["dags"]["mavi_video_pipeline"]
    tasks = dag["tasks"]
    assert dag["params"] == ["model", "output", "video"]
    assert tasks["upload"]["type"] == "MaviUploadOperator"
    assert tasks["extract_frames"]["upstream"] == ["upload"]
    assert tasks["transcribe_video"]["type"] == "MaviTranscribeVideoOperator"
    assert "upload" in tasks["transcribe_video"]["upstream"]
    assert tasks["download_frames"]["type"] == "MaviDownloadAssetOperator"
    assert sorted(tasks["summary"]["outlets"]) == ["mavi_video_frames", "mavi_video_transcript"]
    assert {"download_frames", "transcribe_video", "extract_frames"} <= set(tasks["summary"]["upstream"])
    # the sheet reads the unpacked frames and the transcript JSON, and its path goes into the summary
    assert {"download_frames", "transcribe_video", "upload"} <= set(tasks["contact_sheet"]["upstream"])
    assert "contact_sheet" in tasks["summary"]["upstream"]


def test_on_callback_downloads_each_triggering_frame_group(report: dict) -> None:
    tasks = report["dags"]["mavi_on_callback"]["tasks"]
    assert tasks["download_frames"]["type"] == "MappedOperator"  # one download per triggering callback
    assert tasks["download_frames"]["upstream"] == ["frame_groups"]
    assert report["dags"]["mavi_on_callback"]["params"] == ["output"]


def test_insights_shape(report: dict) -> None:
    dag = report["dags"]["mavi_video_insights"]
    tasks = dag["tasks"]
    assert dag["params"] == ["output", "question", "segment_seconds", "video", "vlm_model"]
    assert tasks["split"]["type"] == "MaviSplitVideoOperator"
    assert tasks["split"]["upstream"] == ["upload"]
    # per segment: mapped over the split's output (download, speech) or the measured segment (scenes, ask)
    for task_id in ("download_segment", "speech", "measure", "scenes", "ask"):
        assert tasks[task_id]["type"].endswith("MappedOperator"), task_id
    assert "split" in tasks["download_segment"]["upstream"]
    assert "split" in tasks["speech"]["upstream"]
    assert tasks["measure"]["upstream"] == ["download_segment"]
    assert tasks["scenes"]["upstream"] == ["measure"]
    assert tasks["ask"]["upstream"] == ["measure"]
    assert tasks["summary"]["upstream"] == ["upload"]
    assert {
        "split",
        "measure",
        "speech",
        "scenes",
        "ask",
        "summary",
        "extract_frames",
        "download_frames",
    } <= set(tasks["report"]["upstream"])


def test_backfill_mavi_tasks_share_the_pool(report: dict) -> None:
    tasks = report["dags"]["mavi_backfill_historical"]["tasks"]
    mavi = {tid: t for tid, t in tasks.items() if t["type"].startswith("Mavi")}
    assert {tid.split(".")[-1] for tid in mavi} == {
        "upload",
        "extract_frames",
        "transcribe_video",
        "download_frames",
    }
    assert all(tid.startswith("process_video.") for tid in mavi)
    assert {t["pool"] for t in mavi.values()} == {"mavi_api"}
