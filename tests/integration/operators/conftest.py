"""Integration fixtures: one migrated AIRFLOW_HOME per session, a real bridge, the emulator wired to it.

DAGs (in ``dags/`` beside this file) run with ``airflow dags test`` in a subprocess; the `mavi` connection
goes in as ``AIRFLOW_CONN_MAVI_DEFAULT``. Run state and XComs are read back from the run's SQLite database.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_mavi.bridge.testing import BridgeServer
from airflow_provider_mavi.emulator.testing import EmulatorServer

AIRFLOW = str(Path(sys.executable).parent / "airflow")
DAGS = Path(__file__).parent / "dags"


@dataclass
class Run:
    """What one `airflow dags test` left: exit code, output, the run's state, task states and XComs."""

    returncode: int
    output: str
    state: str | None
    tasks: dict[str, tuple[str | None, int]] = field(default_factory=dict)
    xcoms: dict[tuple[str, str], Any] = field(default_factory=dict)

    def tail(self, lines: int = 80) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


@dataclass
class Airflow:
    """A migrated Airflow home; `dags_test` runs a DAG of ``dags/`` against the given services."""

    home: Path
    env: dict[str, str]

    def dags_test(self, dag_id: str, conf: dict[str, Any], connection: str, timeout: float = 300) -> Run:
        env = {**self.env, "AIRFLOW_CONN_MAVI_DEFAULT": connection}
        done = subprocess.run(
            [AIRFLOW, "dags", "test", dag_id, "-c", json.dumps(conf)],
            env=env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        output = done.stdout + done.stderr
        with sqlite3.connect(self.home / "airflow.db") as db:
            row = db.execute(
                "SELECT run_id, state FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (dag_id,)
            ).fetchone()
            if row is None:
                return Run(done.returncode, output, None)
            run_id, state = row
            tasks = {
                task_id: (task_state, try_number)
                for task_id, task_state, try_number in db.execute(
                    "SELECT task_id, state, try_number FROM task_instance WHERE dag_id = ? AND run_id = ?",
                    (dag_id, run_id),
                )
            }
            xcoms = {
                (task_id, key): json.loads(value) if isinstance(value, (str, bytes)) else value
                for task_id, key, value in db.execute(
                    "SELECT task_id, key, value FROM xcom WHERE dag_id = ? AND run_id = ?", (dag_id, run_id)
                )
            }
        return Run(done.returncode, output, state, tasks, xcoms)


@pytest.fixture(scope="session")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> Airflow:
    """One migrated AIRFLOW_HOME (SQLite) for the session: `airflow db migrate` takes ~6 s."""
    home = tmp_path_factory.mktemp("airflow-home")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW_", "AIRFLOW__")) and key != "PYTEST_CURRENT_TEST"
    }
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(DAGS),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        AIRFLOW__LOGGING__LOGGING_LEVEL="INFO",
    )
    done = subprocess.run(
        [AIRFLOW, "db", "migrate"],
        env=env,
        cwd=home,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return Airflow(home, env)


@pytest.fixture
def emulator(bridge: BridgeServer, tmp_path: Path) -> Iterator[EmulatorServer]:
    """A fresh emulator (fresh stats) whose account webhook is the bridge's callback URL."""
    with EmulatorServer(webhook_url=bridge.callback_url, qps=10, data_dir=tmp_path / "emulator") as server:
        yield server


@pytest.fixture
def connection(emulator: EmulatorServer, bridge: BridgeServer) -> str:
    """`mavi_default` as JSON: host = emulator base URL, password = key, extras = the bridge."""
    return json.dumps(
        {
            "conn_type": "mavi",
            "host": emulator.base_url,
            "password": emulator.api_key,
            "extra": {"bridge_url": bridge.url, "bridge_token": bridge.token, "max_requests_per_second": 10},
        }
    )


# ------------------------------------------------------------------ sync operators (no bridge anywhere)


@pytest.fixture
def sync_emulator(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[EmulatorServer]:
    """The emulator (qps 20) with NO webhook and `mavi_default` WITHOUT bridge_url/bridge_token."""
    with EmulatorServer(qps=20, data_dir=tmp_path / "emu") as server:
        monkeypatch.setenv("AIRFLOW_CONN_MAVI_DEFAULT", _no_bridge_connection(server))
        yield server


@pytest.fixture
def sync_connection(sync_emulator: EmulatorServer) -> str:
    """`mavi_default` as JSON for `sync_emulator` (for `airflow dags test`): no bridge extras at all."""
    return _no_bridge_connection(sync_emulator)


def _no_bridge_connection(server: EmulatorServer) -> str:
    return json.dumps(
        {
            "conn_type": "mavi",
            "host": server.base_url,
            "password": server.api_key,
            "extra": {"max_requests_per_second": 20},
        }
    )


@pytest.fixture
def ready_video(sync_emulator: EmulatorServer, sample_video: Path) -> str:
    """The sample video uploaded to `sync_emulator`, ready (its `re_` id)."""
    from airflow_provider_mavi.hooks.mavi import MaviHook

    hook = MaviHook()
    asset_id = hook.upload_file(str(sample_video))
    hook.wait_for_asset_ready(asset_id, timeout=60, poll_interval=0.1)
    return asset_id


@dataclass
class FileServer:
    """A loopback HTTP server of one folder (what a model provider fetches a video URL from)."""

    folder: Path
    url: str


@pytest.fixture
def file_server(tmp_path: Path, sample_video: Path) -> Iterator[FileServer]:
    """Serves a folder holding `video.mp4` (the sample video) on loopback."""
    import functools
    import shutil
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    folder = tmp_path / "served"
    folder.mkdir()
    shutil.copy(sample_video, folder / "video.mp4")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield FileServer(folder, f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
