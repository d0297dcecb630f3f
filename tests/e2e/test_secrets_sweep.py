"""Secrets sweep: the example pipeline run with a distinctive API key, bridge secret and bridge token, then
every place a user or an operator reads is searched for them.

Real parts only: ``airflow dags test mavi_video_pipeline`` in a subprocess, a real bridge
(``mavi-bridge serve``, SQLite) and the emulator. Two runs: one that succeeds, and one where Mavi fails (a
502 after the frames job was created, a failure callback for the transcript), so the tasks raise and their
tracebacks are logged.
Searched: the command's output, every file under ``AIRFLOW_HOME`` (task logs included), every text value of
every table of the metadata database (XComs, rendered template fields, trigger kwargs, the DAG run's conf,
task instances' notes...), the bridge's log, and what this test process itself printed or logged. The
connection comes in through ``AIRFLOW_CONN_MAVI_DEFAULT``, so no stored copy of it is expected anywhere.
"""

from __future__ import annotations

import secrets
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_mavi.bridge.testing import BridgeServer
from airflow_provider_mavi.emulator.testing import EmulatorServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MAVI_QPS = 10  # read by the shared fixtures: the emulator's and the connection's rate
API_KEY = f"sk-SWEEPKEY-{secrets.token_hex(12)}"
BRIDGE_SECRET = f"SWEEPSECRET-{secrets.token_hex(12)}"
BRIDGE_TOKEN = f"SWEEPTOKEN-{secrets.token_hex(12)}"
REDACTED = "[secret-redacted-by-test]"  # what the shared AirflowEnv prints in place of a secret
SECRETS = {"API key": API_KEY, "bridge secret": BRIDGE_SECRET, "bridge token": BRIDGE_TOKEN}


@pytest.fixture(scope="module")
def services() -> Iterator[Any]:
    """The shared fixture's bridge and emulator, with this module's distinctive secrets."""
    with (
        BridgeServer(secret=BRIDGE_SECRET, token=BRIDGE_TOKEN) as bridge,
        EmulatorServer(api_key=API_KEY, webhook_url=bridge.callback_url, qps=MAVI_QPS) as emulator,
    ):
        Services = sys.modules["tests.e2e.conftest"].Services  # the shared fixture's class (importlib mode)

        yield Services(emulator=emulator, bridge=bridge)


def leaks(text: str, where: str) -> list[str]:
    """Name each secret found in ``text``.

    :param text: what to search.
    :param where: where it came from, for the message.
    """
    return [f"{name} in {where}" for name, value in SECRETS.items() if value in text]


def sweep_files(home: Path) -> tuple[int, list[str]]:
    """Search every file under the Airflow home except the metadata database; return (files read, leaks).

    :param home: the ``AIRFLOW_HOME``.
    """
    found: list[str] = []
    files = 0
    for path in sorted(home.rglob("*")):
        if not path.is_file() or path.name.startswith("airflow.db"):
            continue
        files += 1
        found += leaks(path.read_bytes().decode("utf-8", errors="replace"), str(path.relative_to(home)))
    return files, found


def sweep_database(db: Path) -> tuple[dict[str, int], list[str]]:
    """Search every value of every table of the metadata database; return (rows per table read, leaks).

    :param db: the SQLite metadata database.
    """
    found: list[str] = []
    rows: dict[str, int] = {}
    with sqlite3.connect(db) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            count = 0
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                count += 1
                for value in row:
                    if isinstance(value, bytes):
                        value = value.decode("utf-8", errors="replace")
                    if isinstance(value, str):
                        found += leaks(value, f"table {table}")
            rows[table] = count
    return rows, found


@pytest.fixture(scope="module")
def runs(
    airflow_env: Any, services: Any, make_video: Any, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """One successful pipeline run and one where Mavi fails both jobs."""
    work = tmp_path_factory.mktemp("sweep")
    video = make_video(work / "clip.mp4", seconds=3.0)
    ok = airflow_env.dags_test("mavi_video_pipeline", {"video": str(video), "output": str(work / "ok")})
    assert ok.succeeded, ok.tail()
    services.emulator.set_faults(
        {
            "server_error": {
                "probability": 1,
                "status": 502,
                "after": True,
                "endpoints": ["POST /video/extract-frames"],
            },
            "failure_callback": {"probability": 1, "msg": "Task failed (fault injected by the sweep)."},
        }
    )
    try:
        failed = airflow_env.dags_test(
            "mavi_video_pipeline", {"video": str(video), "output": str(work / "ko")}
        )
    finally:
        services.emulator.set_faults({})
    assert failed.returncode != 0, failed.tail()
    assert failed.state == "failed", failed.tail()
    return {"ok": ok, "failed": failed}


def test_no_secret_in_output_logs_xcom_templates_or_errors(
    runs: dict[str, Any], airflow_env: Any, services: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    ok, failed = runs["ok"], runs["failed"]
    # the failing run really raised: its tracebacks are among what was searched
    assert "Traceback" in failed.output, failed.tail()
    assert "502" in failed.output, failed.tail()
    assert "may have" in failed.output, failed.tail()

    found: list[str] = []
    for name, run in runs.items():
        # AirflowEnv.airflow replaced each secret by REDACTED: finding the marker means a secret was printed
        if REDACTED in run.output:
            found.append(f"a secret in the output of the {name} run")
    files, in_files = sweep_files(airflow_env.home)
    found += in_files
    rows, in_db = sweep_database(airflow_env.db)
    found += in_db
    found += leaks(services.bridge.output(), "the bridge's log")
    captured = capfd.readouterr()
    found += leaks(captured.out + captured.err, "this test's captured output")
    assert found == []

    # the sweep read what it claims to: task logs (``dags test`` prints them), XComs, rendered fields
    assert "Submitted Mavi job" in ok.output, ok.tail()
    assert "Submitted Mavi job" in failed.output, failed.tail()
    task_logs = [p for p in (airflow_env.home / "logs").rglob("*") if p.is_file()]
    assert rows["xcom"] > 0
    assert rows["rendered_task_instance_fields"] > 0
    assert rows["task_instance"] > 0
    searched = sum(rows.values())
    print(
        f"secrets sweep: 3 secrets, 2 runs ({ok.state}, {failed.state}); {files} files under AIRFLOW_HOME "
        f"({len(task_logs)} under logs/), {searched} database rows in {len(rows)} tables "
        f"({rows['xcom']} XComs, {rows['rendered_task_instance_fields']} rendered-field rows), "
        f"the bridge's log and the command output searched: {len(found)} found"
    )
