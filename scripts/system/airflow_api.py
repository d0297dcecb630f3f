"""The few calls of Airflow 3's public REST API (``/api/v2``) the drivers of the native stack need."""

from __future__ import annotations

import time
from typing import Any

import httpx
from base import SystemTestError, env, say

FINISHED = {"success", "failed"}
PAGE = 100


class AirflowApi:
    """The few calls of Airflow 3's public REST API (``/api/v2``) the system test needs.

    :param base_url: the API server's root URL.
    :param username: a simple-auth-manager user with the admin role.
    :param password: that user's password.
    """

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url.rstrip("/")
        answer = httpx.post(
            f"{self.base_url}/auth/token", json={"username": username, "password": password}, timeout=30
        )
        if answer.status_code not in (200, 201):
            raise SystemTestError(f"POST /auth/token answered HTTP {answer.status_code}")
        token = answer.json()["access_token"]
        self.client = httpx.Client(
            base_url=f"{self.base_url}/api/v2", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send one request and return its JSON body.

        :param method: HTTP method.
        :param path: path under ``/api/v2``.
        :param kwargs: passed to ``httpx.Client.request`` (``json``, ``params``).
        :raises SystemTestError: on a non-2xx answer, with the body Airflow gave.
        """
        answer = self.client.request(method, path, **kwargs)
        if not answer.is_success:
            raise SystemTestError(f"{method} /api/v2{path} answered HTTP {answer.status_code}: {answer.text}")
        return answer.json() if answer.content else None

    def wait_for_dags(self, dag_ids: list[str], timeout: float) -> None:
        """Wait until the dag-processor has parsed every DAG; fail at once on an import error.

        :param dag_ids: the DAGs that must exist.
        :param timeout: seconds to wait at most.
        """
        deadline = time.monotonic() + timeout
        missing = list(dag_ids)
        while time.monotonic() < deadline:
            errors = self.call("GET", "/importErrors")["import_errors"]
            if errors:
                details = "; ".join(f"{e['filename']}: {e['stack_trace'][-400:]}" for e in errors)
                raise SystemTestError(f"DAG import errors: {details}")
            missing = [d for d in dag_ids if self.client.get(f"/dags/{d}").status_code != 200]
            if not missing:
                return
            time.sleep(2)
        raise SystemTestError(f"DAGs not parsed within {timeout:.0f}s: {missing}")

    def unpause(self, dag_id: str) -> None:
        """Unpause a DAG, so the scheduler queues its tasks.

        :param dag_id: the DAG.
        """
        self.call("PATCH", f"/dags/{dag_id}", params={"update_mask": "is_paused"}, json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> str:
        """Create a manual DAG run and return its run id.

        :param dag_id: the DAG.
        :param conf: the run's conf (the DAG's params).
        """
        run = self.call("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf})
        return str(run["dag_run_id"])

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        """Return every run of a DAG.

        :param dag_id: the DAG.
        """
        return list(self.call("GET", f"/dags/{dag_id}/dagRuns", params={"limit": PAGE})["dag_runs"])

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Return every task instance of one run (mapped ones included), page by page.

        :param dag_id: the DAG.
        :param run_id: the run.
        """
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances"
        found: list[dict[str, Any]] = []
        while True:
            page = self.call("GET", path, params={"limit": PAGE, "offset": len(found)})
            found.extend(page["task_instances"])
            if not page["task_instances"] or len(found) >= page["total_entries"]:
                return found

    def wait_until_finished(
        self, wanted: dict[str, list[str]], timeout: float, poll: float = 3
    ) -> dict[tuple[str, str], str]:
        """Wait until every wanted run has finished and return the states, succeeded or not.

        :param wanted: run ids by DAG id.
        :param timeout: seconds to wait at most.
        :param poll: seconds between looks.
        :raises SystemTestError: when a run has not finished in time.
        """
        deadline = time.monotonic() + timeout
        states: dict[tuple[str, str], str] = {}
        while time.monotonic() < deadline:
            for dag_id, run_ids in wanted.items():
                by_id = {r["dag_run_id"]: r["state"] for r in self.runs(dag_id)}
                for run_id in run_ids:
                    states[(dag_id, run_id)] = by_id.get(run_id, "missing")
            if all(state in FINISHED for state in states.values()):
                return states
            time.sleep(poll)
        raise SystemTestError(f"runs not finished within {timeout:.0f}s: {self._describe(states)}")

    def wait_for_runs(self, wanted: dict[str, list[str]], timeout: float) -> None:
        """Wait until every wanted run has finished; fail with the failed tasks when one did not succeed.

        :param wanted: run ids by DAG id.
        :param timeout: seconds to wait at most.
        """
        states = self.wait_until_finished(wanted, timeout)
        failed = [key for key, state in states.items() if state != "success"]
        if failed:
            details = []
            for dag_id, run_id in failed:
                bad = [
                    f"{ti['task_id']}={ti['state']}"
                    for ti in self.task_instances(dag_id, run_id)
                    if ti["state"] != "success"
                ]
                details.append(f"{dag_id}/{run_id}: {', '.join(bad)}")
            raise SystemTestError("runs failed: " + "; ".join(details))
        say(f"every run succeeded: {self._describe(states)}")

    @staticmethod
    def _describe(states: dict[tuple[str, str], str]) -> str:
        return ", ".join(f"{dag}/{run}={state}" for (dag, run), state in sorted(states.items()))

    def report_hosts(self, wanted: dict[str, list[str]]) -> None:
        """Print, for every task instance, the host it ran on, its tries and whether it was deferred.

        :param wanted: run ids by DAG id.
        """
        for dag_id, run_ids in wanted.items():
            for run_id in run_ids:
                for ti in self.task_instances(dag_id, run_id):
                    map_index = ti.get("map_index", -1)
                    name = ti["task_id"] + (f"[{map_index}]" if map_index not in (-1, None) else "")
                    say(
                        f"  {dag_id}/{run_id} {name}: {ti['state']} on host={ti.get('hostname')!r} "
                        f"executor={ti.get('executor') or 'default'} tries={ti.get('try_number')}"
                    )


def api_from_env() -> AirflowApi:
    """Log in to the Airflow API server named by the environment."""
    return AirflowApi(env("SYSTEM_API_URL"), env("SYSTEM_ADMIN_USER"), env("SYSTEM_ADMIN_PASSWORD"))
