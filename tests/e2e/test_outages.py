"""Outages while a paid job waits, in real DAG runs: the bridge down for 30 s, the worker SIGKILLed after its
submit.

Real parts only: ``airflow dags test`` in a subprocess (its trigger runs in that process), a real bridge
(``mavi-bridge serve``, SQLite) and the emulator doing real media work. The emulator retries a callback the
webhook did not take (8 deliveries, 1.5 s doubling), which is how the callback of a job that ended during the
outage reaches the bridge once it is back. The outage comes in two forms: the port closed (connections
refused, as when nothing listens on a dead host) and the port held (connections queue unanswered, as behind
socket activation or a proxy that waits for its backend). Each test prints its figure (RELIABILITY.md
quotes it); the checks are outcomes and counts, never timings.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from airflow_provider_mavi.bridge.testing import BridgeServer
from airflow_provider_mavi.emulator.testing import EmulatorServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
OUTAGE_SECONDS = 30
QPS = 10


class OutageBridge(BridgeServer):
    """The bridge of :class:`BridgeServer`, whose port can also be closed while it is down.

    ``BridgeServer`` keeps its listening socket across a kill, so connections queue unanswered in the
    backlog (as behind systemd socket activation); :meth:`close_port` closes it, so they are refused (as when
    nothing listens on a dead host), and :meth:`reopen_port` binds the same port again before a restart.
    """

    def close_port(self) -> None:
        """Close the listening socket (the bridge process must be dead)."""
        self._sock.close()

    def reopen_port(self) -> None:
        """Listen on the same port again."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(2048)
        self._sock = sock


@dataclass
class Wired:
    """The emulator and the bridge it calls back, as one test module's Mavi account."""

    emulator: EmulatorServer
    bridge: OutageBridge

    def stats(self) -> dict[str, Any]:
        """The emulator's ``/_emulator/stats``."""
        return self.emulator.stats()

    def jobs(self, kind: str) -> list[dict[str, Any]]:
        """Every job of one kind the emulator ran (each one paid)."""
        return [job for job in self.stats()["jobs"] if job["kind"] == kind]

    def record(self, job_id: str) -> dict[str, Any] | None:
        """The bridge's stored callback of a job, or None (404)."""
        answer = httpx.get(
            f"{self.bridge.url}/v1/callbacks/{job_id}", headers=self.bridge.headers, timeout=10
        )
        if answer.status_code == 404:
            return None
        answer.raise_for_status()
        record: dict[str, Any] = answer.json()
        return record

    def job_recorded(self, job_id: str) -> bool:
        """True once the task has recorded the job in the bridge (``PUT /v1/jobs``), after its submit."""
        try:
            answer = httpx.get(f"{self.bridge.url}/v1/jobs/{job_id}", headers=self.bridge.headers, timeout=5)
        except httpx.HTTPError:
            return False
        return answer.status_code == 200


@dataclass
class Home:
    """A migrated AIRFLOW_HOME (SQLite) whose DAG folder holds the examples and this test's DAG."""

    path: Path
    env: dict[str, str]

    def command(self, *args: str) -> list[str]:
        return [str(BIN / "airflow"), *args]

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run an ``airflow`` command to its end."""
        return subprocess.run(
            self.command(*args), env=self.env, cwd=self.path, capture_output=True, text=True, timeout=timeout
        )

    def start(self, *args: str, log: Path) -> subprocess.Popen[bytes]:
        """Start an ``airflow`` command in its own process group (so all of it can be SIGKILLed)."""
        with log.open("wb") as out:
            return subprocess.Popen(
                self.command(*args),
                env=self.env,
                cwd=self.path,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Read the metadata database (another process may be writing it: SQLite waits for its lock)."""
        with sqlite3.connect(self.path / "airflow.db", timeout=30) as db:
            return db.execute(sql, params).fetchall()

    def last_run(self, dag_id: str) -> tuple[str, str]:
        """``(run_id, state)`` of the DAG's newest run."""
        (row,) = self.query(
            "SELECT run_id, state FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", dag_id
        )
        return row[0], row[1]

    def task(self, dag_id: str, run_id: str, task_id: str) -> tuple[str, int]:
        """``(state, try_number)`` of one task instance."""
        (row,) = self.query(
            "SELECT state, try_number FROM task_instance WHERE dag_id = ? AND run_id = ? AND task_id = ?",
            dag_id,
            run_id,
            task_id,
        )
        return row[0], row[1]


@pytest.fixture(scope="module")
def wired(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wired]:
    """A real bridge and the emulator (qps 10) calling it back, redelivering a refused callback for ~3 min."""
    with (
        OutageBridge() as bridge,
        EmulatorServer(
            api_key="sk-outage-test-key",
            webhook_url=bridge.callback_url,
            qps=QPS,
            callback_attempts=8,
            callback_backoff=1.5,
            data_dir=tmp_path_factory.mktemp("emulator"),
        ) as emulator,
    ):
        yield Wired(emulator, bridge)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory, wired: Wired) -> Home:
    """AIRFLOW_HOME migrated; its DAG folder holds ``dags/`` and ``tests/e2e/dags/reliability_dags.py``."""
    path = tmp_path_factory.mktemp("airflow_home")
    dags = path / "dags"
    dags.mkdir()
    for source in [
        *sorted((REPO / "dags").glob("*.py")),
        Path(__file__).parent / "dags" / "reliability_dags.py",
    ]:
        shutil.copy(source, dags / source.name)
    connection = {
        "conn_type": "mavi",
        "host": wired.emulator.base_url,
        "password": wired.emulator.api_key,
        "extra": {
            "bridge_url": wired.bridge.url,
            "bridge_token": wired.bridge.token,
            "max_requests_per_second": QPS,
        },
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MAVI_", "PYTEST_"))}
    env.update(
        AIRFLOW_HOME=str(path),
        AIRFLOW__CORE__DAGS_FOLDER=str(dags),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__LOGGING__LOGGING_LEVEL="INFO",
        AIRFLOW_CONN_MAVI_DEFAULT=json.dumps(connection),
        MAVI_RATE_LIMIT_DIR=str(path / "rate-limit"),
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    (path / "rate-limit").mkdir()
    home = Home(path, env)
    done = home.run("db", "migrate")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return home


def wait_until(what: str, check: Callable[[], Any], process: subprocess.Popen[bytes], log: Path) -> Any:
    """Poll ``check`` until it returns something truthy; fail (with the run's log) if the run ends first."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        if process.poll() is not None:
            pytest.fail(f"the run ended before {what}:\n{log.read_text(errors='replace')[-4000:]}")
        time.sleep(0.1)
    pytest.fail(f"no {what} within 300 s:\n{log.read_text(errors='replace')[-4000:]}")


def new_recorded_job(wired: Wired, kind: str, known: set[str]) -> Callable[[], str | None]:
    """A check for a new job of ``kind`` the task has already recorded in the bridge (its submit done)."""

    def check() -> str | None:
        for job in wired.jobs(kind):
            if job["job_id"] not in known and wired.job_recorded(job["job_id"]):
                return str(job["job_id"])
        return None

    return check


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL a started command's whole process group if it still runs."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)


@pytest.mark.parametrize("port", ["closed", "held"])
def test_the_bridge_down_for_30_s_while_a_task_waits(
    home: Home, wired: Wired, make_video: Any, tmp_path: Path, port: str
) -> None:
    video = make_video(tmp_path / "outage.mp4", seconds=3.0)
    # The job ends a few seconds after its submit, while the bridge is down: Mavi's first delivery is refused.
    wired.emulator.set_faults({"callback_delay": {"probability": 1, "seconds": 5}})
    before = wired.stats()
    known = {job["job_id"] for job in before["jobs"]}
    log = tmp_path / "dags-test.log"
    conf = {"video": str(video), "output": str(tmp_path / "out")}
    process = home.start("dags", "test", "mavi_video_pipeline", "-c", json.dumps(conf), log=log)
    try:
        job_id = wait_until(
            "the extract_frames submit", new_recorded_job(wired, "extract_frames", known), process, log
        )
        wired.bridge.kill()  # SIGKILL: the trigger that starts now finds no bridge
        killed_at = time.monotonic()
        if port == "closed":
            wired.bridge.close_port()
        time.sleep(OUTAGE_SECONDS)
        assert process.poll() is None, "the run ended while the bridge was down"
        if port == "closed":
            wired.bridge.reopen_port()
        wired.bridge.restart()
        outage = time.monotonic() - killed_at
        process.wait(420)
    finally:
        stop(process)
        wired.emulator.set_faults({})
    output = log.read_text(errors="replace")
    run_id, state = home.last_run("mavi_video_pipeline")
    assert (process.returncode, state) == (0, "success"), output[-4000:]
    # the waiting task's trigger rode out the outage: no error event, no second try of the task
    assert home.task("mavi_video_pipeline", run_id, "extract_frames") == ("success", 1), output[-4000:]

    after = wired.stats()
    new_jobs = [job for job in after["jobs"] if job["job_id"] not in known]
    kinds = sorted(job["kind"] for job in new_jobs)
    assert kinds == ["extract_frames", "transcribe_video"]  # one paid job each: nothing resubmitted
    (job,) = [j for j in new_jobs if j["job_id"] == job_id]
    assert job["callback"] == "delivered"
    refused = after["callbacks"]["failed"] - before["callbacks"].get("failed", 0)
    assert refused >= 1, "no delivery met the dead bridge: the outage missed the callback"
    stored = {j["job_id"]: wired.record(j["job_id"]) for j in new_jobs}
    assert all(record is not None for record in stored.values()), stored
    answers = {
        name: count - before["callback_answers"].get(name, 0)
        for name, count in after["callback_answers"].items()
        if count != before["callback_answers"].get(name, 0)
    }
    deliveries = {record["job_id"][:8]: record["deliveries"] for record in stored.values() if record}
    print(
        f"bridge SIGKILLed (port {port}) for {outage:.0f} s while extract_frames waited; "
        f"Mavi's deliveries got {answers}; "
        f"{len(stored)}/{len(new_jobs)} callbacks found afterwards (accepted POSTs per job: {deliveries}); "
        f"run {state}, extract_frames in its first try; paid jobs: {kinds}"
    )


def test_a_worker_sigkilled_after_its_submit_is_retried_and_pays_once(
    home: Home, wired: Wired, make_video: Any, tmp_path: Path
) -> None:
    dag_id = "reliability_extract_in_worker"
    video = make_video(tmp_path / "killed.mp4", seconds=3.0)
    # The callback comes 10 s after the job ends: the worker dies while it waits for it.
    wired.emulator.set_faults({"callback_delay": {"probability": 1, "seconds": 10}})
    known = {job["job_id"] for job in wired.stats()["jobs"]}
    log = tmp_path / "dags-test.log"
    process = home.start("dags", "test", dag_id, "-c", json.dumps({"video": str(video)}), log=log)
    try:
        job_id = wait_until(
            "the extract_frames submit", new_recorded_job(wired, "extract_frames", known), process, log
        )
        os.killpg(process.pid, signal.SIGKILL)  # the worker is gone: no shutdown, no on_kill
        process.wait(30)
        callback_at_kill = "delivered" if wired.record(job_id) else "not yet delivered"
    finally:
        stop(process)
    run_id, _ = home.last_run(dag_id)
    killed_state = home.task(dag_id, run_id, "extract_frames")[0]
    assert killed_state not in ("success", "failed"), "the killed try ended on its own"

    # Airflow retries a lost task in the same DAG run: the same task instance runs again.
    retry = home.run("tasks", "test", dag_id, "extract_frames", run_id, timeout=300)
    wired.emulator.set_faults({})
    output = retry.stdout + retry.stderr
    assert retry.returncode == 0, output[-4000:]
    assert (
        f"Re-attaching to Mavi job {job_id} submitted by an earlier try" in output
        or f"Mavi job {job_id} (submitted by an earlier try) already delivered" in output
    ), output[-4000:]
    assert "Submitted Mavi job" not in output
    assert f"Mavi job {job_id}: success" in output, output[-4000:]
    paid = [job for job in wired.jobs("extract_frames") if job["job_id"] not in known]
    assert [job["job_id"] for job in paid] == [job_id]  # one paid job across the kill and the retry
    record = wired.record(job_id)
    assert record is not None
    assert record["deliveries"] == 1
    print(
        f"worker SIGKILLed after submitting {job_id} "
        f"(task left {killed_state!r}, callback {callback_at_kill}); "
        f"the retry re-attached and succeeded: {len(paid)} paid extract_frames job"
    )
