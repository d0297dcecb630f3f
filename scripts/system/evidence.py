"""Evidence from the logs: what the Celery workers ran and what the triggerer waited for."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from base import SystemTestError, say

if TYPE_CHECKING:
    from pathlib import Path

WORKLOAD_RE = re.compile(
    r"Executing workload in Celery: .*?ti=TaskInstanceDTO\(id=UUID\('([^']+)'\), task_id='([^']+)', "
    r"dag_id='([^']+)'.*?map_index=(-?\d+)"
)
FINISHED_RE = re.compile(
    r"^(\S+) .*Workload finished .*?duration=([0-9.]+).*?final_state=(\w+).*?workload_id=([0-9a-f-]+)"
)


@dataclass(frozen=True)
class Workload:
    """One run of a task instance on a Celery worker, as the worker's log tells it.

    :param ti_id: the task instance's id.
    :param name: ``dag_id.task_id[map_index]``.
    :param worker: the worker's log name (``celery-worker-1``).
    :param began: when it began (epoch seconds: its end minus its duration).
    :param duration: seconds it held the worker's slot.
    :param state: the state it ended in (``deferred`` when it handed its wait to the triggerer).
    """

    ti_id: str
    name: str
    worker: str
    began: float
    duration: float
    state: str


def read_workloads(process_logs: Path) -> tuple[list[Workload], dict[str, int]]:
    """Read every workload the Celery workers finished, and how many each worker ran.

    :param process_logs: the folder with the workers' logs (``celery-worker*.log``).
    """
    names: dict[str, str] = {}
    finished: list[tuple[str, str, float, float, str]] = []
    per_worker: dict[str, int] = {}
    for log in sorted(process_logs.glob("celery-worker*.log")):
        worker = log.stem
        per_worker[worker] = 0
        for line in log.read_text(errors="replace").splitlines():
            if match := WORKLOAD_RE.search(line):
                ti_id, task_id, dag_id, map_index = match.groups()
                names[ti_id] = f"{dag_id}.{task_id}" + (f"[{map_index}]" if map_index != "-1" else "")
            elif match := FINISHED_RE.search(line):
                ended, duration, state, ti_id = match.groups()
                began = dt.datetime.fromisoformat(ended).timestamp() - float(duration)
                finished.append((ti_id, worker, began, float(duration), state))
                per_worker[worker] += 1
    workloads = [
        Workload(ti_id, names.get(ti_id, ti_id), worker, began, duration, state)
        for ti_id, worker, began, duration, state in finished
    ]
    return sorted(workloads, key=lambda w: w.began), per_worker


def evidence(process_logs: Path, task_logs: Path) -> None:
    """Print what the Celery workers ran and what the triggerer waited for; fail when either is missing.

    Each worker's own log names each workload it executed and the state it ended in (``deferred`` when the
    task handed its wait to the triggerer). The triggerer writes each trigger's lines next to the task's
    log, in ``attempt=N.log.trigger.<triggerer job id>.log``.

    :param process_logs: the folder with the workers' logs (``celery-worker*.log``).
    :param task_logs: Airflow's task log folder (``$AIRFLOW_HOME/logs``).
    """
    workloads, per_worker = read_workloads(process_logs)
    # Ordered by start (end minus duration): a resumed run may end before the deferring one has finished
    # logging its end.
    states: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for work in workloads:
        states.setdefault(work.ti_id, []).append(f"{work.state} on {work.worker}")
        names[work.ti_id] = work.name
    ran = [f"{names[ti_id]}: {' -> '.join(seen)}" for ti_id, seen in states.items()]
    counts = ", ".join(f"{worker}: {n}" for worker, n in per_worker.items())
    say(f"evidence: the Celery workers ran {len(ran)} task instances ({counts} workloads; state per run):")
    for entry in sorted(ran):
        say(f"    {entry}")
    if not ran:
        raise SystemTestError("no Celery worker's log shows a task it executed")
    if not any(seen[0].startswith("deferred") for seen in states.values()):
        raise SystemTestError("no task deferred: nothing waited in the triggerer")

    fired: list[str] = []
    for path in sorted(task_logs.rglob("*.log.trigger.*.log")):
        records = []
        for raw in path.read_text(errors="replace").splitlines():
            try:
                records.append(json.loads(raw))
            except ValueError:
                continue
        started = next((r for r in records if str(r.get("event", "")).endswith("starting")), None)
        done = next((r for r in records if r.get("event") == "Trigger fired event"), None)
        if started is None or done is None:
            continue
        job = path.name.rsplit(".", 2)[-2]
        triggers = sorted(
            {str(r["logger"]).rsplit(".", 1)[-1] for r in records if "Trigger" in str(r.get("logger"))}
        )
        found = re.search(r"'status': '(\w+)'", str(done.get("result")))
        status = found.group(1) if found else str(done.get("result"))[:40]
        map_index = done.get("map_index", -1)
        fired.append(
            f"{done.get('dag_id')}.{done.get('task_id')}"
            + (f"[{map_index}]" if map_index not in (-1, None) else "")
            + f" {done.get('run_id')}: {'/'.join(triggers) or 'trigger'} in triggerer job {job}, started "
            f"{started['timestamp'][11:19]}, fired {done['timestamp'][11:19]} ({status})"
        )
    say(f"evidence: the triggerer ran {len(fired)} triggers to their event (task logs *.log.trigger.*.log):")
    for entry in fired:
        say(f"    {entry}")
    if not fired:
        raise SystemTestError("no trigger log shows a trigger that fired in the triggerer")
