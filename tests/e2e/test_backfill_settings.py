"""The backfill DAG reads its concurrency from MAVI_BACKFILL_* when it is parsed; bad values are refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
BACKFILL = "mavi_backfill_historical"
MAVI_TASKS = {"upload", "extract_frames", "transcribe_video", "download_frames"}

# Parses the example DAGs in a fresh interpreter (own AIRFLOW_HOME and environment) and prints what the
# scheduler will read of the backfill DAG.
INSPECT = r"""
import json, sys
from airflow_provider_mavi.compat import dag_bag_class
bag = dag_bag_class()(dag_folder=sys.argv[1])
report = {"import_errors": {k.rsplit("/", 1)[-1]: str(v) for k, v in bag.import_errors.items()},
          "dags": sorted(bag.dags)}
dag = bag.dags.get("mavi_backfill_historical")
if dag is not None:
    report["max_active_runs"] = dag.max_active_runs
    report["max_active_tasks"] = dag.max_active_tasks
    report["tasks"] = {
        task.task_id.split(".")[-1]: {
            "pool": task.pool,
            "max_active_tis_per_dag": task.max_active_tis_per_dag,
            "weight_rule": getattr(task.weight_rule, "_weight_rule", str(task.weight_rule)),
        }
        for task in dag.tasks
    }
print("REPORT" + json.dumps(report))
"""


def inspect(tmp_path: Path, **settings: str) -> dict:
    """Parse the example DAGs with the given ``MAVI_BACKFILL_*`` variables and return the report.

    :param tmp_path: a fresh folder for AIRFLOW_HOME.
    :param settings: variable names without the ``MAVI_BACKFILL_`` prefix, and their values.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MAVI_BACKFILL_"))}
    env.update({"AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"})
    env.update({f"MAVI_BACKFILL_{name}": value for name, value in settings.items()})
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


def test_defaults_pool_bounds_tasks_in_flight_and_videos_finish_first(tmp_path: Path) -> None:
    report = inspect(tmp_path)
    assert report["import_errors"] == {}
    assert (report["max_active_runs"], report["max_active_tasks"]) == (3, 16)
    mavi = {name: task for name, task in report["tasks"].items() if name in MAVI_TASKS}
    assert set(mavi) == MAVI_TASKS
    assert {task["pool"] for task in mavi.values()} == {"mavi_api"}
    assert {task["max_active_tis_per_dag"] for task in mavi.values()} == {None}
    # downstream tasks of a video first, for every task of the DAG (one rule, or the weights mean nothing)
    assert {task["weight_rule"] for task in report["tasks"].values()} == {"upstream"}


def test_settings_from_the_environment_reach_the_scheduler(tmp_path: Path) -> None:
    report = inspect(
        tmp_path,
        POOL="mavi_bulk",
        MAX_ACTIVE_TASKS=" 32 ",
        MAX_ACTIVE_TIS_PER_TASK="6",
        WEIGHT_RULE="downstream",
    )
    assert report["import_errors"] == {}
    assert (report["max_active_runs"], report["max_active_tasks"]) == (3, 32)
    mavi = [task for name, task in report["tasks"].items() if name in MAVI_TASKS]
    assert {task["pool"] for task in mavi} == {"mavi_bulk"}
    assert {task["max_active_tis_per_dag"] for task in mavi} == {6}
    others = [task for name, task in report["tasks"].items() if name not in MAVI_TASKS]
    assert {task["pool"] for task in others} == {"default_pool"}, "only Mavi tasks use the Mavi pool"
    assert {task["max_active_tis_per_dag"] for task in others} == {None}
    assert {task["weight_rule"] for task in report["tasks"].values()} == {"downstream"}


def test_empty_values_mean_the_defaults(tmp_path: Path) -> None:
    """Docker Compose passes ``${MAVI_BACKFILL_...:-}``: an empty variable must not change anything."""
    report = inspect(tmp_path, POOL="", MAX_ACTIVE_TASKS="", MAX_ACTIVE_TIS_PER_TASK="", WEIGHT_RULE="")
    assert report["import_errors"] == {}
    assert (report["max_active_runs"], report["max_active_tasks"]) == (3, 16)
    assert report["tasks"]["upload"]["pool"] == "mavi_api"
    assert report["tasks"]["upload"]["weight_rule"] == "upstream"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MAX_ACTIVE_TASKS", "0"),
        ("MAX_ACTIVE_TASKS", "many"),
        ("MAX_ACTIVE_TIS_PER_TASK", "-2"),
        ("MAX_ACTIVE_TIS_PER_TASK", "2.5"),
    ],
)
def test_a_bad_number_is_an_import_error_naming_the_variable(tmp_path: Path, name: str, value: str) -> None:
    report = inspect(tmp_path, **{name: value})
    assert BACKFILL not in report["dags"]
    error = report["import_errors"]["mavi_backfill_historical.py"]
    assert f"MAVI_BACKFILL_{name} must be a whole number > 0, got {value!r}" in error
    assert "mavi_video_pipeline" in report["dags"], "the other example DAG still loads"


def test_an_unknown_weight_rule_is_an_import_error(tmp_path: Path) -> None:
    report = inspect(tmp_path, WEIGHT_RULE="sideways")
    assert BACKFILL not in report["dags"]
    error = report["import_errors"]["mavi_backfill_historical.py"]
    assert "MAVI_BACKFILL_WEIGHT_RULE must be upstream, downstream or absolute, got 'sideways'" in error
