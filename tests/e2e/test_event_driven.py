"""``mavi_on_callback`` on a real Airflow: dag-processor, scheduler (LocalExecutor), triggerer and api-server
as separate processes on one SQLite metadata database, with the real bridge and the real emulator.

Jobs are submitted OUTSIDE Airflow: a script calling ``MaviHook().extract_frames(...)`` against the emulator,
whose account webhook is the bridge. The test checks that each successful frame extraction starts the DAG
exactly once and that its run downloads the frames; that a callback arriving while the triggerer is killed
(SIGKILL, no clean shutdown) starts the DAG after a new triggerer takes over, once; and that other jobs
(another kind, a failure) start nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MAVI_QPS = 5
REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CONSUMER = "mavi_on_callback"
ASSET_URI = "mavi://callbacks/frames"

SUBMIT = """
import json, sys
from airflow_provider_mavi.hooks.mavi import MaviHook
hook = MaviHook()
asset = hook.upload_file(sys.argv[1])
hook.wait_for_asset_ready(asset, timeout=120, poll_interval=0.3)
job = hook.transcribe_video(asset) if sys.argv[2] == "transcribe" else hook.extract_frames(asset)
print("JOB " + json.dumps({"asset": asset, "job": job}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Stack:
    """The Airflow processes, each in its own process group, logging to files; stopped by id only."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, *args: str) -> None:
        log = (self.logs / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(
            [str(BIN / "airflow"), *args], env=self.env, stdout=log, stderr=log, start_new_session=True
        )

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)

    def alive(self) -> None:
        for name, proc in self.procs.items():
            assert proc.poll() is None, f"{name} died: {self.tail(name)}"

    def tail(self, name: str, lines: int = 40) -> str:
        return "\n".join((self.logs / f"{name}.log").read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        for name in list(self.procs):
            self.kill(name, signal.SIGTERM)


@pytest.fixture(scope="module")
def stack(
    airflow_env: Any, services: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("event_driven")
    dags = work / "dags"
    dags.mkdir()
    (dags / "mavi_on_callback.py").symlink_to(REPO / "dags" / "mavi_on_callback.py")
    logs = work / "logs"
    logs.mkdir()
    api_port = free_port()
    env = dict(airflow_env.env)
    env.update(
        {
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
            "AIRFLOW__API_AUTH__JWT_SECRET": os.urandom(48).hex(),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "10",
            "MAVI_ON_CALLBACK_OUTPUT": str(work / "out"),
            "MAVI_RATE_LIMIT_DIR": str(work / "rate-limit"),
        }
    )
    airflow_env.secrets.append(env["AIRFLOW__API_AUTH__JWT_SECRET"])
    procs = Stack(env, logs)
    try:
        procs.start(
            "api-server", "api-server", "--host", "127.0.0.1", "--port", str(api_port), "--workers", "1"
        )
        procs.start("dag-processor", "dag-processor")
        procs.start("scheduler", "scheduler")
        procs.start("triggerer", "triggerer")
        state = {"procs": procs, "env": env, "work": work, "services": services, "db": airflow_env.db}
        # the trigger is up once it has made its consumer in the bridge (at "latest")
        wait_until(lambda: consumer_cursor(services) is not None, 240, procs, "the trigger to start")
        yield state
    finally:
        procs.stop()


def wait_until(check: Callable[[], Any], timeout: float, procs: Stack, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        procs.alive()
        if value := check():
            return value
        time.sleep(1)
    logs = "\n".join(f"--- {name}\n{procs.tail(name)}" for name in ("triggerer", "scheduler"))
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


def consumer_cursor(services: Any) -> int | None:
    request = urllib.request.Request(
        f"{services.bridge.url}/v1/consumers/{CONSUMER}", headers=services.bridge.headers
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(json.load(answer)["cursor"])
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def stored(services: Any, job_id: str) -> bool:
    request = urllib.request.Request(
        f"{services.bridge.url}/v1/callbacks/{job_id}", headers=services.bridge.headers
    )
    try:
        with urllib.request.urlopen(request, timeout=10):
            return True
    except urllib.error.HTTPError:
        return False


def query(db: Path, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db, timeout=30) as conn:
        return conn.execute(sql, args).fetchall()


def runs(db: Path) -> list[tuple[str, str]]:
    return query(db, "SELECT run_id, state FROM dag_run WHERE dag_id = 'mavi_on_callback' ORDER BY id")


def fired_job_ids(db: Path) -> list[str]:
    rows = query(
        db,
        "SELECT asset_event.extra FROM asset_event JOIN asset ON asset.id = asset_event.asset_id "
        "WHERE asset.uri = ? ORDER BY asset_event.id",
        ASSET_URI,
    )
    return [json.loads(extra)["payload"]["job_id"] for (extra,) in rows]


def submit(state: dict[str, Any], video: Path, what: str = "frames") -> str:
    """What a user's script does, outside Airflow: upload and submit with MaviHook (no bridge record)."""
    done = subprocess.run(
        [sys.executable, "-c", SUBMIT, str(video), what],
        env=state["env"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("JOB "))
    return str(json.loads(line[4:])["job"])


@pytest.fixture(scope="module")
def video(make_video: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("event_video") / "clip.mp4", seconds=3.0)


def test_a_job_submitted_outside_airflow_starts_the_dag_once(stack: dict[str, Any], video: Path) -> None:
    procs, db = stack["procs"], stack["db"]
    job = submit(stack, video)
    wait_until(lambda: [r for r in runs(db) if r[1] == "success"], 300, procs, "the run of the callback")
    other = submit(stack, video, "transcribe")  # another kind: fires nothing
    wait_until(lambda: stored(stack["services"], other), 120, procs, "the transcript's callback")
    time.sleep(8)
    assert fired_job_ids(db) == [job]
    assert [state for _, state in runs(db)] == ["success"]
    frames = sorted((stack["work"] / "out" / job / "frames").glob("*.jpg"))
    assert len(frames) >= 2  # one a second of a 3-second video, unpacked by the run's download
    assert (stack["work"] / "out" / job / "frames").is_dir()


def test_a_callback_while_the_triggerer_is_down_starts_the_dag_after_the_restart(
    stack: dict[str, Any], video: Path
) -> None:
    procs, db, services = stack["procs"], stack["db"], stack["services"]
    before = len(runs(db))
    procs.kill("triggerer")  # SIGKILL to the group: no clean shutdown
    job = submit(stack, video)
    wait_until(lambda: stored(services, job), 120, procs, "the callback to reach the bridge")
    time.sleep(5)
    assert len(runs(db)) == before  # nobody follows the list: nothing fired yet
    procs.start("triggerer-2", "triggerer")
    wait_until(lambda: len([r for r in runs(db) if r[1] == "success"]) > before, 300, procs, "the run")
    time.sleep(8)  # room for a duplicate to show, were there one
    assert fired_job_ids(db)[-1] == job
    assert fired_job_ids(db).count(job) == 1
    assert len(runs(db)) == before + 1
    assert sorted((stack["work"] / "out" / job / "frames").glob("*.jpg"))
    assert consumer_cursor(services) is not None
