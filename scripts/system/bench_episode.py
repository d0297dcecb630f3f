"""One episode of ``bench/bench_backfill.py`` on the native stack: a backfill, measured from the outside.

It creates the backfill of ``mavi_backfill_historical`` over the given days through ``airflow backfill
create`` (the real scheduler runs it), samples the emulator's own counters (``GET /_emulator/stats``) every
``SAMPLE_SECONDS`` while it runs, waits for every run, and writes what it saw as JSON for the benchmark to
turn into figures: the runs and task instances as Airflow recorded them, the emulator's final stats, when
each endpoint saw its first and last accepted request, the Celery workloads from the workers' logs, CPU
used by the stack and by the whole machine, the permit waits the hook logged, and how often the scheduler
found the pool full. It never fails on a slow or failed backfill (those are figures); only on a stack that
cannot run one.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import httpx
from airflow_api import AirflowApi, api_from_env
from backfill import BACKFILL_DAG, create_backfill
from base import SystemTestError, emulator_admin, say
from evidence import read_workloads

SAMPLE_SECONDS = 0.5
POOL_EVERY = 2  # the pool is read every second poll (1 s)
POOL = "mavi_api"
POOL_FIELDS = ("slots", "open_slots", "running_slots", "queued_slots", "scheduled_slots", "deferred_slots")
#: What the hook logs when a request waited for its rate-limit permit (the per-endpoint limiter does).
PERMIT_WAIT_RE = re.compile(r"Waiting ([0-9.]+) s for a Mavi rate-limit permit")
POOL_FULL_RE = re.compile(r"Not scheduling since there are 0 open slots in pool mavi_api")
TI_FIELDS = ("id", "task_id", "map_index", "dag_run_id", "state", "try_number", "pool", "hostname")
TI_TIMES = ("start_date", "end_date")


def epoch(value: str | None) -> float | None:
    """Turn an ISO 8601 time from Airflow's API into epoch seconds.

    :param value: the time, or None.
    """
    return dt.datetime.fromisoformat(value).timestamp() if value else None


class StatsSampler(threading.Thread):
    """Polls ``/_emulator/stats`` and records, per endpoint, when its accepted requests changed; every
    ``POOL_EVERY`` polls, also the pool ``mavi_api`` as Airflow's API reports it.

    :param api: the Airflow REST client (a client of its own: this runs in another thread).
    :param period: seconds between polls.
    """

    def __init__(self, api: AirflowApi, period: float = SAMPLE_SECONDS) -> None:
        super().__init__(daemon=True)
        self.api = api
        self.period = period
        self.changes: dict[str, list[tuple[float, int]]] = {}
        self.rejections: dict[str, list[tuple[float, int]]] = {}
        self.pool: list[dict[str, float]] = []
        self.errors = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        """Poll until stopped."""
        polls = 0
        while not self._stop_event.is_set():
            self.sample()
            if polls % POOL_EVERY == 0:
                self.sample_pool()
            polls += 1
            self._stop_event.wait(self.period)

    def sample_pool(self) -> None:
        """Record the pool's slots by state (a failed read counts as an error)."""
        try:
            pool = self.api.call("GET", f"/pools/{POOL}")
        except (SystemTestError, httpx.HTTPError):
            self.errors += 1
            return
        self.pool.append({"t": time.time(), **{k: pool[k] for k in POOL_FIELDS}})

    def sample(self) -> None:
        """Take one sample (an unreachable emulator counts as an error, not a crash)."""
        try:
            stats = emulator_admin("GET", "/stats")
        except (SystemTestError, httpx.HTTPError):  # the figures say how many samples were lost
            self.errors += 1
            return
        now = time.time()
        limited = stats.get("rate_limited", {})
        for endpoint, count in stats.get("requests", {}).items():
            accepted = count - limited.get(endpoint, 0)
            _record(self.changes.setdefault(endpoint, []), now, accepted)
        for endpoint, count in limited.items():
            _record(self.rejections.setdefault(endpoint, []), now, count)

    def stop(self) -> None:
        """Stop polling, after one last sample."""
        self._stop_event.set()
        self.join(timeout=10)
        self.sample()


def _record(series: list[tuple[float, int]], now: float, value: int) -> None:
    """Append ``(now, value)`` when the value changed.

    :param series: the endpoint's changes so far.
    :param now: epoch seconds.
    :param value: the counter.
    """
    if not series or series[-1][1] != value:
        series.append((now, value))


def machine_cpu() -> tuple[float, float]:
    """Return the machine's (busy, total) CPU seconds since boot, all cores (``/proc/stat``)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    total = sum(fields[:8])
    tick = os.sysconf("SC_CLK_TCK")
    return (total - idle) / tick, total / tick


def sessions_cpu(sessions: set[int]) -> float:
    """Return the CPU seconds used by the processes of the given sessions, reaped children included.

    The difference of two readings is the CPU the sessions used in between: a process that exits is
    counted in its parent's ``cutime``/``cstime`` once reaped, so nothing is lost or counted twice as long
    as its parent belongs to the sessions.

    :param sessions: session ids (the stack starts every process with ``setsid``).
    """
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()  # fields[0] is field 3 of proc(5)
        if int(fields[3]) in sessions:
            total += sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
    return total / os.sysconf("SC_CLK_TCK")


def longest_waits(*folders: Path) -> list[float]:
    """Return every permit wait the hook logged under the folders, longest first.

    :param folders: log folders to search (task logs, process logs).
    """
    waits: list[float] = []
    for folder in folders:
        for path in folder.rglob("*.log"):
            waits += [float(m) for m in PERMIT_WAIT_RE.findall(path.read_text(errors="replace"))]
    return sorted(waits, reverse=True)


def backfill_settings(api: AirflowApi) -> dict[str, Any]:
    """The backfill as Airflow stored it (its ``max_active_runs`` bounds the days run at once).

    :param api: the REST client.
    """
    found = api.call("GET", "/backfills", params={"dag_id": BACKFILL_DAG})["backfills"]
    latest = max(found, key=lambda b: b["created_at"]) if found else {}
    return {key: latest.get(key) for key in ("max_active_runs", "from_date", "to_date", "reprocess_behavior")}


def task_instance_record(ti: dict[str, Any]) -> dict[str, Any]:
    """Keep what the figures need of one task instance, times as epoch seconds.

    :param ti: the API's task instance.
    """
    record = {key: ti.get(key) for key in TI_FIELDS}
    record.update({key: epoch(ti.get(key)) for key in TI_TIMES})
    return record


def run_episode(
    videos: Path,
    days: list[str],
    result: Path,
    process_logs: Path,
    task_logs: Path,
    timeout: float,
    max_active_runs: int | None,
) -> None:
    """Run the backfill and write what was measured to ``result``.

    :param videos: the archive (``<videos>/YYYY-MM-DD/*.mp4``).
    :param days: the days to backfill.
    :param result: the JSON file to write.
    :param process_logs: the stack's process logs (Celery workers, scheduler).
    :param task_logs: Airflow's task logs.
    :param timeout: seconds to wait for the backfill.
    :param max_active_runs: the backfill's ``--max-active-runs``, or None for Airflow's default.
    """
    api = api_from_env()
    api.wait_for_dags([BACKFILL_DAG], timeout=240)
    details = api.call("GET", f"/dags/{BACKFILL_DAG}/details")
    tasks = api.call("GET", f"/dags/{BACKFILL_DAG}/tasks")["tasks"]
    dag_settings = {
        "max_active_tasks": details.get("max_active_tasks"),
        "max_active_runs": details.get("max_active_runs"),
        "tasks": {
            t["task_id"]: {
                "pool": t["pool"],
                "weight_rule": t["weight_rule"],
                "downstream": t["downstream_task_ids"],
            }
            for t in tasks
        },
    }
    say(
        f"DAG as parsed: max_active_tasks={dag_settings['max_active_tasks']}, pools "
        f"{sorted({t['pool'] for t in tasks})}"
    )
    output = Path(os.environ["SYSTEM_DATA"]) / "output"
    sessions = {int(pid) for pid in os.environ.get("SYSTEM_SESSIONS", "").split()}

    sampler = StatsSampler(api_from_env())
    sampler.start()
    cpu_before, machine_before, load_before = sessions_cpu(sessions), machine_cpu(), os.getloadavg()
    created_at = time.time()
    run_ids = create_backfill(
        api, days, {"root": str(videos), "output": str(output)}, max_active_runs=max_active_runs
    )
    states = api.wait_until_finished({BACKFILL_DAG: run_ids}, timeout, poll=1)
    finished_at = time.time()
    cpu_after, machine_after, load_after = sessions_cpu(sessions), machine_cpu(), os.getloadavg()
    sampler.stop()
    say(
        f"backfill finished {finished_at - created_at:.0f}s after it was created: "
        + ", ".join(f"{run}={state}" for (_, run), state in sorted(states.items()))
    )

    runs = [r for r in api.runs(BACKFILL_DAG) if r["dag_run_id"] in run_ids]
    instances = [task_instance_record(ti) for run in run_ids for ti in api.task_instances(BACKFILL_DAG, run)]
    time.sleep(2)  # the worker logs a workload's end just after the task's state reached the API
    workloads, _ = read_workloads(process_logs)
    scheduler_log = (process_logs / "scheduler.log").read_text(errors="replace")
    figures = {
        "days": days,
        "videos": sum(1 for _ in videos.rglob("*.mp4")),
        "results_written": sum(1 for _ in output.rglob("result.json")),
        "created_at": created_at,
        "finished_at": finished_at,
        "dag_settings": dag_settings,
        "runs": [
            {
                "run_id": r["dag_run_id"],
                "state": r["state"],
                "start": epoch(r.get("start_date")),
                "end": epoch(r.get("end_date")),
            }
            for r in runs
        ],
        "task_instances": instances,
        "stats": emulator_admin("GET", "/stats"),
        "accepted_changes": sampler.changes,
        "rejection_changes": sampler.rejections,
        "sample_errors": sampler.errors,
        "workloads": [asdict(w) for w in workloads if w.name.startswith(BACKFILL_DAG)],
        "stack_cpu_seconds": cpu_after - cpu_before,
        "machine_busy_seconds": machine_after[0] - machine_before[0],
        "machine_total_seconds": machine_after[1] - machine_before[1],
        "cpus": os.cpu_count(),
        "load_average": [load_before[0], load_after[0]],
        "permit_waits": longest_waits(task_logs, process_logs)[:20],
        "pool_full_lines": len(POOL_FULL_RE.findall(scheduler_log)),
        "pool_samples": sampler.pool,
        "backfill": backfill_settings(api),
    }
    result.write_text(json.dumps(figures, indent=1))
    say(f"episode figures written to {result}")
