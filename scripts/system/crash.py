"""A triggerer dies while a job waits for its callback: the run must survive, each job submitted once."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from airflow_api import api_from_env
from base import SystemTestError, emulator_admin, env, say
from checks import (
    check_bridge_stored_each_callback_once,
    check_jobs_once,
    check_no_rejections,
    check_outputs,
)

PIPELINE_DAG = "mavi_video_pipeline"
CRASH_OUTPUT = "output/crash"
CALLBACK_DELAY_SECONDS = 30


def crash_start(state_file: Path, timeout: float) -> None:
    """Start a pipeline run whose callbacks Mavi delays; return once one of its tasks waits in the triggerer.

    The emulator holds the next two callbacks for ``CALLBACK_DELAY_SECONDS``; the run id is written to
    ``state_file`` for :func:`crash_finish`.

    :param state_file: where to write the run id.
    :param timeout: seconds to wait for a deferred task.
    """
    data = Path(env("SYSTEM_DATA"))
    video = data / "incoming" / "crash.mp4"
    subprocess.run(
        [str(Path(sys.executable).parent / "mavi-emulator"), "sample-video", str(video), "--seconds", "3"],
        check=True,
        capture_output=True,
    )
    emulator_admin("PUT", "/faults", {"callback_delay": {"next": 2, "seconds": CALLBACK_DELAY_SECONDS}})
    api = api_from_env()
    run_id = api.trigger(
        PIPELINE_DAG,
        {"video": str(video), "model": "gemini-2.5-flash-lite", "output": str(data / CRASH_OUTPUT)},
    )
    state_file.write_text(run_id)
    say(f"crash test: triggered {run_id}; Mavi delays its callbacks by {CALLBACK_DELAY_SECONDS}s")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deferred = [
            ti["task_id"] for ti in api.task_instances(PIPELINE_DAG, run_id) if ti["state"] == "deferred"
        ]
        if any(task in deferred for task in ("extract_frames", "transcribe_video")):
            time.sleep(3)  # let the triggerer pick the trigger up
            say(f"crash test: {', '.join(deferred)} deferred, waiting in the triggerer")
            return
        time.sleep(1)
    raise SystemTestError(f"crash test: no job task of {run_id} deferred within {timeout:.0f}s")


def crash_finish(state_file: Path, timeout: float, task_logs: Path) -> None:
    """Check that the run survived the triggerer's crash, with no job submitted twice.

    :param state_file: the file :func:`crash_start` wrote.
    :param timeout: seconds to wait for the run.
    :param task_logs: Airflow's task log folder, to show which triggerers ran the triggers.
    """
    run_id = state_file.read_text().strip()
    api = api_from_env()
    api.wait_for_runs({PIPELINE_DAG: [run_id]}, timeout)
    emulator_admin("PUT", "/faults", {})
    check_outputs(Path(env("SYSTEM_DATA")) / CRASH_OUTPUT, "summary.json", expected=1)
    check_jobs_once(expected_assets=4)
    check_no_rejections()
    check_bridge_stored_each_callback_once()
    run_dir = next(task_logs.glob(f"dag_id={PIPELINE_DAG}/run_id={run_id}"))
    moved = []
    for task_dir in sorted(run_dir.glob("task_id=*")):
        jobs = sorted({path.name.rsplit(".", 2)[-2] for path in task_dir.glob("*.log.trigger.*.log")})
        if len(jobs) > 1:
            moved.append(f"{task_dir.name.removeprefix('task_id=')} (triggerer jobs {' then '.join(jobs)})")
    if not moved:
        raise SystemTestError("crash test: no trigger was taken over by the new triggerer")
    say(f"crash test: the new triggerer took over {', '.join(moved)}; each job was still submitted once")
