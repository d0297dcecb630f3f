"""Drives the native stack once its processes are up (see ``scripts/system/stack.sh``).

Subcommands:

- ``ports N``: print N free loopback TCP ports.
- ``wait-http URL``: wait until URL answers 2xx (bounded).
- ``set-webhook``: register the bridge's callback URL with the emulator (the Mavi console's job).
- ``smoke``: trigger the ``system_smoke`` DAG through Airflow's REST API and wait for it.
- ``pipeline``: trigger the pipeline DAG through the REST API and a two-day backfill through
  ``airflow backfill create``, and submit a frame extraction outside Airflow with ``MaviHook``; wait for
  every run, then check the outputs, the emulator's job counts, and that ``mavi_on_callback`` ran once for
  each frame extraction (``on_callback.py``).
- ``crash-start STATE`` / ``crash-finish STATE TASK_LOGS``: a run whose callbacks are late, around a killed
  triggerer (the shell kills it and starts another in between); ``mavi_on_callback`` fired once for each
  frame extraction, the crash run's included.
- ``evidence LOGS TASK_LOGS``: print what the Celery worker ran and what the triggerer waited for.
- ``bench-episode``: one measured backfill for ``bench/bench_backfill.py`` (see ``bench_episode.py``).

Settings come from the environment (never from the command line, so no secret shows in ``ps``):
``SYSTEM_API_URL``, ``SYSTEM_ADMIN_USER``, ``SYSTEM_ADMIN_PASSWORD``, ``SYSTEM_DATA``,
``SYSTEM_EMULATOR_ADMIN``, ``SYSTEM_MAVI_KEY``, ``SYSTEM_WEBHOOK_URL``, ``SYSTEM_BRIDGE_URL``,
``SYSTEM_BRIDGE_TOKEN``, ``SYSTEM_SESSIONS``, ``SYSTEM_LABEL`` (the prefix of progress lines),
``SYSTEM_RUN_TIMEOUT`` (seconds to wait for the DAG runs), ``MAVI_ON_CALLBACK_OUTPUT`` (where
``mavi_on_callback`` writes), ``AIRFLOW_CONN_MAVI_DEFAULT`` (the outside script's connection).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from airflow_api import api_from_env
from backfill import BACKFILL_DAG, backfill_dates, create_backfill
from base import SystemTestError, free_ports, say, set_webhook, wait_http
from bench_episode import run_episode
from checks import (
    check_bridge_stored_each_callback_once,
    check_jobs_once,
    check_no_rejections,
    check_outputs,
)
from crash import PIPELINE_DAG, crash_finish, crash_start
from evidence import evidence
from on_callback import (
    ON_CALLBACK_DAG,
    check_each_fired_once,
    submit_outside_airflow,
    unpause_on_callback,
    wait_for_watcher,
)

SMOKE_DAG = "system_smoke"


def run_smoke(timeout: float) -> None:
    """Trigger ``system_smoke`` and wait for it.

    :param timeout: seconds to wait for the run.
    """
    api = api_from_env()
    api.wait_for_dags([SMOKE_DAG], timeout=180)
    api.unpause(SMOKE_DAG)
    run_id = api.trigger(SMOKE_DAG, {})
    say(f"triggered {SMOKE_DAG} run {run_id} through the REST API")
    wanted = {SMOKE_DAG: [run_id]}
    api.wait_for_runs(wanted, timeout)
    api.report_hosts(wanted)


def make_videos(data: Path, days: list[str]) -> tuple[Path, list[Path], Path]:
    """Write the real sample videos the runs read: one for the pipeline, one per backfill day, and one a
    script outside Airflow submits.

    :param data: the data directory.
    :param days: the backfill's days (``YYYY-MM-DD``).
    :return: the pipeline's video, the backfill's videos and the outside script's video.
    """
    bindir = Path(sys.executable).parent
    single = data / "incoming" / "clip.mp4"
    daily = [data / "historical" / day / f"clip-{day}.mp4" for day in days]
    outside = data / "outside" / "clip.mp4"
    for path in [single, *daily, outside]:
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [str(bindir / "mavi-emulator"), "sample-video", str(path), "--seconds", "4"],
            check=True,
            capture_output=True,
        )
    return single, daily, outside


def run_pipeline(timeout: float) -> None:
    """Trigger the pipeline through the REST API and a two-day backfill, and submit one frame extraction
    outside Airflow while ``mavi_on_callback`` watches the callbacks; wait; check.

    :param timeout: seconds to wait for the runs.
    """
    data = Path(os.environ["SYSTEM_DATA"])
    days = backfill_dates(2)
    api = api_from_env()
    api.wait_for_dags([PIPELINE_DAG, BACKFILL_DAG, ON_CALLBACK_DAG], timeout=240)
    unpause_on_callback(api)  # its watcher starts once the DAG is parsed again, while the runs go on
    video, daily, outside_video = make_videos(data, days)

    output = data / "output" / "pipeline"
    api.unpause(PIPELINE_DAG)
    triggered_at = time.monotonic()
    run_id = api.trigger(
        PIPELINE_DAG, {"video": str(video), "model": "gemini-2.5-flash-lite", "output": str(output)}
    )
    say(f"triggered {PIPELINE_DAG} run {run_id} through the REST API (POST /api/v2/dags/.../dagRuns)")

    backfill_output = data / "output" / "historical"
    backfill_runs = create_backfill(
        api, days, {"root": str(data / "historical"), "output": str(backfill_output)}
    )
    wait_for_watcher(timeout=180)
    outside_job = submit_outside_airflow(outside_video)
    wanted = {PIPELINE_DAG: [run_id], BACKFILL_DAG: backfill_runs}
    api.wait_for_runs(wanted, timeout)
    say(f"the three runs finished {time.monotonic() - triggered_at:.0f}s after the pipeline was triggered")
    api.report_hosts(wanted)
    check_outputs(output, "summary.json", expected=1)
    check_outputs(backfill_output, "result.json", expected=len(daily))
    check_jobs_once(expected_assets=1 + len(daily))
    check_no_rejections()
    check_bridge_stored_each_callback_once()
    check_each_fired_once(api, {outside_job}, timeout=240)


def parser() -> argparse.ArgumentParser:
    """The command line: one subparser per subcommand."""
    top = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = top.add_subparsers(dest="command", required=True)
    ports = sub.add_parser("ports")
    ports.add_argument("count", type=int)
    wait = sub.add_parser("wait-http")
    wait.add_argument("url")
    wait.add_argument("--timeout", type=float, default=120)
    sub.add_parser("set-webhook")
    sub.add_parser("smoke")
    sub.add_parser("pipeline")
    crash = sub.add_parser("crash-start")
    crash.add_argument("state_file", type=Path)
    crash_end = sub.add_parser("crash-finish")
    crash_end.add_argument("state_file", type=Path)
    crash_end.add_argument("task_logs", type=Path)
    proof = sub.add_parser("evidence")
    proof.add_argument("process_logs", type=Path)
    proof.add_argument("task_logs", type=Path)
    bench = sub.add_parser("bench-episode")
    bench.add_argument("--videos", type=Path, required=True, help="the archive: VIDEOS/YYYY-MM-DD/*.mp4")
    bench.add_argument("--days", required=True, help="the days to backfill, comma-separated")
    bench.add_argument("--result", type=Path, required=True, help="where to write the figures (JSON)")
    bench.add_argument("--process-logs", type=Path, required=True)
    bench.add_argument("--task-logs", type=Path, required=True)
    bench.add_argument("--max-active-runs", type=int, default=None)
    return top


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; print a clear message and return 1 when a check fails.

    :param argv: the arguments (default: ``sys.argv[1:]``).
    """
    args = parser().parse_args(argv)
    run_timeout = float(os.environ.get("SYSTEM_RUN_TIMEOUT", "600"))
    try:
        if args.command == "ports":
            print(" ".join(str(p) for p in free_ports(args.count)))
        elif args.command == "wait-http":
            wait_http(args.url, args.timeout)
        elif args.command == "set-webhook":
            set_webhook()
        elif args.command == "evidence":
            evidence(args.process_logs, args.task_logs)
        elif args.command == "crash-start":
            crash_start(args.state_file, timeout=120)
        elif args.command == "crash-finish":
            crash_finish(args.state_file, run_timeout, args.task_logs)
            # the crash run's frame extraction too, whose callback came around the dead triggerer
            check_each_fired_once(api_from_env(), set(), timeout=240)
        elif args.command == "smoke":
            run_smoke(run_timeout)
        elif args.command == "bench-episode":
            run_episode(
                args.videos,
                args.days.split(","),
                args.result,
                args.process_logs,
                args.task_logs,
                run_timeout,
                args.max_active_runs,
            )
        else:
            run_pipeline(run_timeout)
    except SystemTestError as exc:
        say(f"FAILED: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
