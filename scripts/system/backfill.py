"""A backfill of ``mavi_backfill_historical`` by ``airflow backfill create``, run by the real scheduler."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from base import SystemTestError, say

if TYPE_CHECKING:
    from airflow_api import AirflowApi

BACKFILL_DAG = "mavi_backfill_historical"


def backfill_dates(count: int = 2) -> list[str]:
    """Return ``count`` consecutive days (``YYYY-MM-DD``, UTC) ending the day before yesterday.

    :param count: how many days.
    """
    today = dt.datetime.now(dt.timezone.utc).date()
    return [(today - dt.timedelta(days=count + 1 - i)).isoformat() for i in range(count)]


def created_backfill_runs(dag_id: str, before: set[str], api: AirflowApi) -> list[str]:
    """Return the backfill runs of ``dag_id`` created since ``before`` was taken.

    :param dag_id: the DAG.
    :param before: run ids that existed already.
    :param api: the REST client.
    """
    return [
        r["dag_run_id"]
        for r in api.runs(dag_id)
        if r["dag_run_id"] not in before and r.get("run_type") == "backfill"
    ]


def create_backfill(
    api: AirflowApi, days: list[str], conf: dict[str, Any], max_active_runs: int | None = None
) -> list[str]:
    """Create a backfill over ``days`` with ``airflow backfill create``, unpause the DAG, return its runs.

    :param api: the REST client.
    :param days: the consecutive days to backfill (``YYYY-MM-DD``).
    :param conf: every run's conf (``root``, ``output``).
    :param max_active_runs: the backfill's ``--max-active-runs`` (Airflow's default when None).
    :raises SystemTestError: when the command fails or does not create one run per day.
    """
    before = {r["dag_run_id"] for r in api.runs(BACKFILL_DAG)}
    cmd = [
        str(Path(sys.executable).parent / "airflow"),
        "backfill",
        "create",
        "--dag-id",
        BACKFILL_DAG,
        "--from-date",
        days[0],
        "--to-date",
        days[-1],
        "--dag-run-conf",
        json.dumps(conf),
    ]
    if max_active_runs is not None:
        cmd += ["--max-active-runs", str(max_active_runs)]
    say(f"airflow backfill create --dag-id {BACKFILL_DAG} --from-date {days[0]} --to-date {days[-1]}")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    if done.returncode != 0:
        raise SystemTestError(f"airflow backfill create failed: {done.stderr[-2000:]}")
    api.unpause(BACKFILL_DAG)
    runs: list[str] = []
    deadline = time.monotonic() + 60
    while len(runs) < len(days) and time.monotonic() < deadline:
        runs = created_backfill_runs(BACKFILL_DAG, before, api)
        time.sleep(1)
    if len(runs) != len(days):
        raise SystemTestError(f"expected {len(days)} backfill runs, found {runs}")
    say(f"backfill created runs {runs}")
    return runs
