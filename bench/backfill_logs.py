"""Where a worker slot's time goes, from the logs an episode of ``bench_backfill.py`` leaves on disk.

Each Celery worker logs when it starts a workload (``Executing workload in Celery: ... log_path=...``) and
when the workload ends (``Workload finished ... duration=...``); the task's own log (``log_path``, JSON
lines) marks Airflow's phases: ``::group::Pre Execute`` (start-up, DAG parse) ... ``::endgroup::``, then the
operator's code, then ``::group::Post Execute`` (XCom push, state) ... ``::endgroup::``. So every workload
splits into *task code* (from the end of Pre Execute to the start of Post Execute) and *Airflow around it*
(everything else: process start, parse, bookkeeping, and the wait until the supervisor sees the process
exit, the *exit wait*: from the task's last log line to the workload's end).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import statistics
from pathlib import Path
from typing import Any

EXECUTING_RE = re.compile(
    r"^(\S+) .*Executing workload in Celery: .*?log_path='([^']+)'.*?ti=TaskInstanceDTO\(id=UUID\('([^']+)'\)"
)
FINISHED_RE = re.compile(r"^(\S+) .*Workload finished .*?duration=([0-9.]+).*?workload_id=([0-9a-f-]+)")
#: An exit wait at least this long is the supervisor's poll timeout (``[workers] min_heartbeat_interval``).
LONG_EXIT_WAIT = 0.9


def _epoch(stamp: str) -> float:
    """Epoch seconds of an ISO 8601 stamp.

    :param stamp: the stamp.
    """
    return dt.datetime.fromisoformat(stamp).timestamp()


def _task_lines(path: Path) -> list[tuple[float, str]]:
    """The (time, event) lines of a task log, in order.

    :param path: the attempt's log file.
    """
    lines = []
    for raw in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(raw)
            lines.append((_epoch(record["timestamp"]), str(record.get("event", ""))))
        except (ValueError, KeyError, TypeError):
            continue
    return lines


def workload_phases(episode: Path) -> list[dict[str, float]]:
    """Split every workload of the episode into task code and Airflow around it.

    :param episode: the episode's folder (``logs/celery-worker-*.log``, ``airflow/logs/...``).
    """
    phases = []
    for worker_log in sorted((episode / "logs").glob("celery-worker*.log")):
        started: dict[str, list[str]] = {}  # log paths of the workloads begun, by task instance
        for line in worker_log.read_text(errors="replace").splitlines():
            if match := EXECUTING_RE.search(line):
                started.setdefault(match.group(3), []).append(match.group(2))
            elif (match := FINISHED_RE.search(line)) and started.get(match.group(3)):
                log_path = started[match.group(3)].pop(0)
                ended, duration = _epoch(match.group(1)), float(match.group(2))
                task_log = episode / "airflow" / "logs" / log_path
                if not task_log.is_file():
                    continue
                mine = [
                    (t, e) for t, e in _task_lines(task_log) if ended - duration - 0.5 <= t <= ended + 0.5
                ]
                code_from = next((t for t, e in mine if e == "::endgroup::"), None)
                code_to = next((t for t, e in mine if e == "::group::Post Execute"), None)
                if not mine or code_from is None or code_to is None:
                    continue
                phases.append(
                    {
                        "duration": duration,
                        "code": max(0.0, code_to - code_from),
                        "exit_wait": max(0.0, ended - mine[-1][0]),
                    }
                )
    return phases


def phase_figures(episode: Path) -> dict[str, Any]:
    """Medians of a workload's parts, and how many workloads waited long for their exit to be seen.

    :param episode: the episode's folder.
    """
    phases = workload_phases(episode)
    if not phases:
        return {"workloads_read": 0}
    return {
        "workloads_read": len(phases),
        "slot_p50": statistics.median(p["duration"] for p in phases),
        "code_p50": statistics.median(p["code"] for p in phases),
        "airflow_p50": statistics.median(p["duration"] - p["code"] for p in phases),
        "code_share": sum(p["code"] for p in phases) / sum(p["duration"] for p in phases),
        "long_exit_waits": sum(1 for p in phases if p["exit_wait"] >= LONG_EXIT_WAIT) / len(phases),
        "exit_wait_seconds": sum(p["exit_wait"] for p in phases) / sum(p["duration"] for p in phases),
    }
