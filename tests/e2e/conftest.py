"""End-to-end fixtures: a throwaway Airflow home, the real emulator and the real bridge over loopback.

The DAGs run with ``airflow dags test`` in a subprocess, so each run is what a user gets on the command line.
The Mavi connection goes in through ``AIRFLOW_CONN_MAVI_DEFAULT``; nothing here talks to the real service.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
AIRFLOW = str(BIN / "airflow")
DAG_RUN_TIMEOUT = 480
REDACTED = "[secret-redacted-by-test]"


@dataclass
class DagRunResult:
    """What one ``airflow dags test`` left behind.

    :param returncode: the command's exit status.
    :param output: stdout and stderr, secrets replaced by :data:`REDACTED`.
    :param run_id: the run's id, read from the database.
    :param state: the run's final state.
    :param xcom: ``{(task_id, map_index): return_value}`` of the run.
    """

    returncode: int
    output: str
    run_id: str | None
    state: str | None
    xcom: dict[tuple[str, int], Any] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        """The command exited 0 and the run ended in ``success``."""
        return self.returncode == 0 and self.state == "success"

    def tail(self, lines: int = 60) -> str:
        """Return the end of the output, for assertion messages.

        :param lines: how many lines.
        """
        return "\n".join(self.output.splitlines()[-lines:])


@dataclass
class AirflowEnv:
    """A migrated Airflow home with the ``mavi_api`` pool and a connection to the test services.

    :param home: the ``AIRFLOW_HOME``.
    :param env: the environment every ``airflow`` command gets.
    :param secrets: strings that must never show in output.
    """

    home: Path
    env: dict[str, str]
    secrets: list[str]

    @property
    def db(self) -> Path:
        """The SQLite metadata database."""
        return self.home / "airflow.db"

    def redact(self, text: str) -> str:
        """Replace every secret by :data:`REDACTED`, so a test can tell a leak from Airflow's own masking.

        :param text: the text to clean.
        """
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def airflow(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run an ``airflow`` command in this home and return it with redacted output.

        :param args: the command's arguments.
        :param timeout: seconds before the command is killed.
        """
        done = subprocess.run(
            [AIRFLOW, *args],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return subprocess.CompletedProcess(
            done.args, done.returncode, self.redact(done.stdout), self.redact(done.stderr)
        )

    def dags_test(self, dag_id: str, conf: dict[str, Any], logical_date: str | None = None) -> DagRunResult:
        """Run ``airflow dags test`` and collect the run's state and XComs from the database.

        :param dag_id: the DAG.
        :param conf: the run's conf (the DAG params).
        :param logical_date: the logical date (``YYYY-MM-DD``), or now.
        """
        with sqlite3.connect(self.db) as conn:
            before = {
                row[0] for row in conn.execute("SELECT run_id FROM dag_run WHERE dag_id = ?", (dag_id,))
            }
        args = ["dags", "test", dag_id]
        if logical_date:
            args.append(logical_date)
        done = self.airflow(*args, "-c", json.dumps(conf), timeout=DAG_RUN_TIMEOUT)
        output = done.stdout + done.stderr
        with sqlite3.connect(self.db) as conn:
            runs = [
                row
                for row in conn.execute(
                    "SELECT run_id, state FROM dag_run WHERE dag_id = ? ORDER BY id", (dag_id,)
                )
                if row[0] not in before
            ]
            if not runs:
                return DagRunResult(done.returncode, output, None, None)
            run_id, state = runs[-1]
            xcom = {
                (task_id, map_index): json.loads(value) if value is not None else None
                for task_id, map_index, value in conn.execute(
                    "SELECT task_id, map_index, value FROM xcom WHERE dag_id = ? AND run_id = ? "
                    "AND key = 'return_value'",
                    (dag_id, run_id),
                )
            }
        return DagRunResult(done.returncode, output, run_id, state, xcom)

    def asset_events(self, run_id: str) -> dict[str, Any]:
        """Return ``{asset name: extra}`` of the asset events a run emitted.

        :param run_id: the run.
        """
        with sqlite3.connect(self.db) as conn:
            rows = conn.execute(
                "SELECT asset.name, asset_event.extra FROM asset_event JOIN asset "
                "ON asset.id = asset_event.asset_id WHERE asset_event.source_run_id = ?",
                (run_id,),
            ).fetchall()
        return {name: json.loads(extra) if extra else {} for name, extra in rows}


@dataclass
class Services:
    """The emulator and the bridge, wired together: the emulator's webhook is the bridge's callback URL.

    :param emulator: the running ``EmulatorServer``.
    :param bridge: the running ``BridgeServer``.
    """

    emulator: Any
    bridge: Any

    def stats(self) -> dict[str, Any]:
        """Read the emulator's ``/_emulator/stats``."""
        url = self.emulator.admin_url.rstrip("/") + "/stats"
        request = urllib.request.Request(url, headers={"Authorization": self.emulator.api_key})
        with urllib.request.urlopen(request, timeout=10) as answer:
            data = json.load(answer)
        assert isinstance(data, dict)
        return data

    def connection(self, max_requests_per_second: float) -> str:
        """The ``mavi_default`` connection as JSON, for ``AIRFLOW_CONN_MAVI_DEFAULT``.

        :param max_requests_per_second: the client-side rate limit.
        """
        return json.dumps(
            {
                "conn_type": "mavi",
                "host": self.emulator.base_url,
                "password": self.emulator.api_key,
                "extra": {
                    "bridge_url": self.bridge.url,
                    "bridge_token": self.bridge.token,
                    "max_requests_per_second": max_requests_per_second,
                },
            }
        )


def module_qps(request: pytest.FixtureRequest) -> float:
    """The account's requests per second for a test module (``MAVI_QPS`` in the module, default 1 as Mavi)."""
    return float(getattr(request.module, "MAVI_QPS", 1))


@pytest.fixture(scope="module")
def services(request: pytest.FixtureRequest) -> Iterator[Services]:
    """Start a real bridge and a real emulator whose account webhook is the bridge (one pair per module)."""
    from airflow_provider_mavi.bridge.testing import BridgeServer
    from airflow_provider_mavi.emulator.testing import EmulatorServer

    with (
        BridgeServer() as bridge,
        EmulatorServer(
            api_key="sk-e2e-test-key", webhook_url=bridge.callback_url, qps=module_qps(request)
        ) as emulator,
    ):
        yield Services(emulator=emulator, bridge=bridge)


@pytest.fixture(scope="module")
def airflow_env(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, services: Services
) -> AirflowEnv:
    """A fresh ``AIRFLOW_HOME`` (SQLite), migrated, with the ``mavi_api`` pool and the test connection."""
    home = tmp_path_factory.mktemp("airflow_home")
    qps = module_qps(request)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MAVI_"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "AIRFLOW_CONN_MAVI_DEFAULT": services.connection(max_requests_per_second=qps),
            "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    secrets = [
        services.emulator.api_key,
        services.bridge.token,
        services.bridge.callback_url.rsplit("/", 1)[-1],
    ]
    airflow = AirflowEnv(home=home, env=env, secrets=secrets)
    pool = ("pools", "set", "mavi_api", str(max(1, int(qps))), f"Mavi account: {qps:g} requests per second")
    for command in (("db", "migrate"), pool):
        done = airflow.airflow(*command, timeout=300)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return airflow


@pytest.fixture(scope="module")
def make_video(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Make a real short H.264 MP4 with the emulator's sample maker (PyAV)."""
    from airflow_provider_mavi.emulator.samples import make_sample_video

    def make(path: Path, seconds: float = 3.0, width: int = 160, height: int = 120) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        return Path(make_sample_video(path, seconds=seconds, width=width, height=height))

    return make
