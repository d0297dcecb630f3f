"""A DAG with no Mavi in it, used by ``scripts/system-test.sh --smoke`` to prove the topology alone.

One task defers into the triggerer, the next runs on a Celery worker and returns the worker's host name,
so a failure of the distributed stack can be told apart from a failure of the provider.
"""

from __future__ import annotations

import datetime as dt
import socket

from airflow.providers.standard.sensors.time_delta import WaitSensor
from airflow.sdk import dag, task


@dag(
    dag_id="system_smoke",
    schedule=None,
    start_date=dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    tags=["system-test"],
)
def system_smoke() -> None:
    """Wait in the triggerer, then report which worker ran the next task."""
    waited = WaitSensor(task_id="wait_in_triggerer", time_to_wait=dt.timedelta(seconds=5), deferrable=True)

    @task
    def report_worker() -> str:
        """Return the host name of the Celery worker that ran this task."""
        return socket.gethostname()

    waited >> report_worker()


system_smoke()
