"""The backfill benchmark's figures: its definitions computed on made-up episodes, and its log reading on
lines in the exact formats Airflow 3.3's Celery worker and task runner write."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench"


def load(name: str) -> ModuleType:
    """Import a module of ``bench/`` (a folder of scripts, not a package).

    :param name: the module's file name without ``.py``.
    """
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


figures = load("backfill_figures")
logs = load("backfill_logs")


def episode(**changes: Any) -> dict[str, Any]:
    """A small episode: 2 videos, one day, 100 s of wall, QPS 0.25.

    :param changes: keys to replace.
    """
    raw: dict[str, Any] = {
        "videos": 2,
        "results_written": 2,
        "created_at": 990.0,
        "finished_at": 1110.0,
        "runs": [{"run_id": "r1", "state": "success", "start": 1000.0, "end": 1100.0}],
        "dag_settings": {"tasks": {"up": {"downstream": ["down"]}, "down": {"downstream": []}}},
        "task_instances": [
            {
                "id": "a",
                "task_id": "up",
                "map_index": 0,
                "dag_run_id": "r1",
                "state": "success",
                "try_number": 1,
                "start_date": 1001.0,
                "end_date": 1010.0,
            },
            {
                "id": "b",
                "task_id": "down",
                "map_index": 0,
                "dag_run_id": "r1",
                "state": "failed",
                "try_number": 2,
                "start_date": 1014.0,
                "end_date": 1020.0,
            },
        ],
        "workloads": [
            {
                "ti_id": "a",
                "name": "d.up[0]",
                "worker": "w1",
                "began": 1000.5,
                "duration": 9.5,
                "state": "success",
            },
            {
                "ti_id": "b",
                "name": "d.down[0]",
                "worker": "w2",
                "began": 1013.0,
                "duration": 7.0,
                "state": "failed",
            },
        ],
        "stats": {
            "requests": {"POST /upload": 2, "GET /{asset_id}/metadata": 7, "GET /{asset_id}/download": 2},
            "rate_limited": {"GET /{asset_id}/metadata": 2},
            "jobs_by_asset": {
                "re_1": {"extract_frames": 1, "transcribe_video": 1},
                "re_2": {"extract_frames": 1, "transcribe_video": 1},
            },
        },
        "accepted_changes": {"GET /{asset_id}/metadata": [[1010.0, 1], [1030.0, 5]]},
        "permit_waits": [3.5, 1.0],
        "pool_samples": [
            {"slots": 4, "open_slots": 0, "running_slots": 3, "queued_slots": 1, "scheduled_slots": 2},
            {"slots": 4, "open_slots": 2, "running_slots": 2, "queued_slots": 0, "scheduled_slots": 0},
        ],
        "pool_full_lines": 7,
        "stack_cpu_seconds": 60.0,
        "machine_busy_seconds": 180.0,
        "machine_total_seconds": 240.0,
        "cpus": 2,
        "load_average": [1.0, 2.0],
        "sample_errors": 0,
        "backfill": {"max_active_runs": 10},
    }
    raw.update(changes)
    return raw


def test_budget_figures_use_accepted_requests_and_airflows_wall() -> None:
    fig = figures.episode_figures(episode(), qps=0.25, worker_slots=4)
    assert fig["wall"] == 100.0  # first run start to last run end, not the driver's clock (120 s)
    metadata = fig["endpoints"]["GET /{asset_id}/metadata"]
    assert (metadata["accepted"], metadata["rejected"]) == (5, 2)
    assert metadata["utilisation"] == pytest.approx(5 / (100 * 0.25))
    assert metadata["utilisation_full"] == pytest.approx(4 / (20 * 0.25))  # 4 requests over 20 s
    assert fig["bottleneck"] == "GET /{asset_id}/metadata"
    assert fig["bound"] == 20.0  # 5 requests at 0.25/s
    assert fig["bound_over_wall"] == pytest.approx(0.2)
    assert fig["account_utilisation"] == pytest.approx(9 / 25)
    assert fig["rejections"] == 2
    assert fig["metadata_per_video"] == 2.5
    assert fig["longest_permit_wait"] == 3.5


def test_task_figures() -> None:
    fig = figures.episode_figures(episode(), qps=0.25, worker_slots=4)
    assert (fig["failed_tasks"], fig["retried_tasks"], fig["task_instances"]) == (1, 1, 2)
    assert fig["handoff_p50"] == pytest.approx(3.0)  # "down" reached a worker 3 s after "up" ended
    assert fig["worker_occupancy"] == pytest.approx(16.5 / (100 * 4))
    assert fig["pool_binding"] == 0.5  # one reading of two: no slot open, tasks waiting
    assert fig["pool_busy"] == pytest.approx((1.0 + 0.5) / 2)
    assert fig["stack_cpu"] == pytest.approx(60 / (120 * 2))
    assert fig["machine_busy"] == 0.75


@pytest.mark.parametrize(
    ("jobs", "exact"),
    [
        (
            {
                "re_1": {"extract_frames": 1, "transcribe_video": 1},
                "re_2": {"extract_frames": 1, "transcribe_video": 1},
            },
            True,
        ),
        (
            {
                "re_1": {"extract_frames": 1, "transcribe_video": 2},
                "re_2": {"extract_frames": 1, "transcribe_video": 1},
            },
            False,
        ),
        ({"re_1": {"extract_frames": 1, "transcribe_video": 1}}, False),
        ({"re_1": {"extract_frames": 1}, "re_2": {"extract_frames": 1, "transcribe_video": 1}}, False),
    ],
    ids=["one-each", "paid-twice", "video-without-jobs", "kind-missing"],
)
def test_paid_jobs_must_be_exactly_one_of_each_kind_per_video(jobs: dict[str, Any], exact: bool) -> None:
    text, ok = figures.jobs_per_video({"jobs_by_asset": jobs}, videos=2)
    assert ok is exact
    assert text.startswith(f"{len(jobs)}/2 videos with jobs")


def test_the_verdict_names_what_limited_the_backfill() -> None:
    api_bound = figures.episode_figures(
        episode(accepted_changes={"GET /{asset_id}/metadata": [[1000.0, 1], [1016.0, 5]]}), 0.25, 4
    )
    assert figures.limited_by(api_bound, 0.25, account_scope=False).startswith(
        "the API: GET /{asset_id}/metadata"
    )
    busy_account = episode(stats={**episode()["stats"], "requests": {"A": 12, "B": 12}, "rate_limited": {}})
    fig = figures.episode_figures(busy_account, 0.25, 4)
    assert figures.limited_by(fig, 0.25, account_scope=True).startswith("the client's one account bucket")
    assert figures.limited_by(fig, 0.25, account_scope=False).startswith("the pool mavi_api")


def test_tables_have_a_row_per_episode() -> None:
    fig = figures.episode_figures(episode(), 0.25, 4)
    results = [{"qps": 0.25, "setting": "old", "figures": fig, "limited_by": "x"}]
    summary = figures.summary_rows(results)
    assert len(summary) == 3
    assert summary[0].count("|") == summary[2].count("|")
    assert len(figures.endpoint_rows(results)) == 2 + 3


WORKER_LOG = (
    "2026-11-30T12:30:58.789285Z [info     ] [44e5] Executing workload in Celery: "
    "dag_rel_path=PurePosixPath('d.py') bundle_info=BundleInfo(name='dags-folder', version=None) "
    "log_path='dag_id=d/run_id=r/task_id=t/attempt=1.log' ti=TaskInstanceDTO(id=UUID('01a2-70a0'), "
    "task_id='t', dag_id='d', run_id='r', try_number=1, map_index=-1) type='ExecuteTask' "
    "[airflow.providers.celery.executors.celery_executor_utils] loc=celery_executor_utils.py:254\n"
    "2026-11-30T12:31:04.661947Z [info     ] Workload finished              [supervisor] duration=5.87 "
    "exit_code=0 final_state=success loc=supervisor.py:2658 workload_id=01a2-70a0 workload_type=ExecuteTask\n"
)
TASK_LOG = [
    ("2026-11-30T12:30:59.119946Z", "::group::Pre Execute"),
    ("2026-11-30T12:30:59.554207Z", "::endgroup::"),
    ("2026-11-30T12:30:59.554978Z", "Mavi asset re_1 is ready"),
    ("2026-11-30T12:30:59.755051Z", "::group::Post Execute"),
    ("2026-11-30T12:30:59.843026Z", "::endgroup::"),
]


def test_a_workload_splits_into_task_code_and_airflow_around_it(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "celery-worker-1.log").write_text(WORKER_LOG)
    task_log = tmp_path / "airflow" / "logs" / "dag_id=d/run_id=r/task_id=t/attempt=1.log"
    task_log.parent.mkdir(parents=True)
    task_log.write_text(
        "".join(json.dumps({"timestamp": t, "event": e}) + "\n" for t, e in TASK_LOG) + "not json\n"
    )
    (phase,) = logs.workload_phases(tmp_path)
    assert phase["duration"] == 5.87
    assert phase["code"] == pytest.approx(0.200844, abs=1e-4)  # end of Pre Execute to Post Execute
    assert phase["exit_wait"] == pytest.approx(4.8189, abs=1e-3)  # the task's last line to the workload's end
    summary = logs.phase_figures(tmp_path)
    assert summary["workloads_read"] == 1
    assert summary["long_exit_waits"] == 1.0


def test_no_logs_no_phases(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    assert logs.phase_figures(tmp_path) == {"workloads_read": 0}
