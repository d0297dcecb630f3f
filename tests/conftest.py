"""Fixtures shared by the whole suite.

The emulator's pytest plugin (the same one users load for their own DAG tests) gives ``mavi_emulator``,
``sample_video`` and friends. pytest only accepts ``pytest_plugins`` in this top-level conftest.

``kit`` (job ids and Mavi callback bodies) and ``run`` (a DAG run's worth of task contexts: XCom and a task
state store in memory) serve the unit and the integration tests of operators, sensors and triggers.
"""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import httpx
import pytest

pytest_plugins = ["airflow_provider_mavi.emulator.pytest_plugin"]


class Kit:
    """Job ids and callback bodies as Mavi sends them (a fixture: tests share it)."""

    @staticmethod
    def new_job_id() -> str:
        """A fresh 32-hex Mavi job id."""
        return secrets.token_hex(16)

    @staticmethod
    def post_callback(bridge: Any, payload: dict[str, Any]) -> None:
        """Deliver a callback to a real bridge the way Mavi does (POST to the secret URL)."""
        answer = httpx.post(bridge.callback_url, json=payload, timeout=10)
        assert answer.status_code == 200, answer.text

    @staticmethod
    def frames_callback(job_id: str, *, code: Any = 200) -> dict[str, Any]:
        """A successful extract-frames callback as documented."""
        return {
            "code": code,
            "message": "SUCCESS",
            "data": {"asset_id": "im_1234", "asset_ch_ids": ["imc_1234_0", "imc_1234_1", "imc_1234_2"]},
            "task_id": job_id,
        }

    @staticmethod
    def transcript_callback(job_id: str) -> dict[str, Any]:
        """A successful video-description callback as documented (three levels of data)."""
        return {
            "code": 200,
            "message": "SUCCESS",
            "data": {
                "data": {
                    "data": [
                        {"start_time": 0.0, "end_time": 2.0, "transcript": "a red square"},
                        {"start_time": 2.0, "end_time": 4.5, "transcript": "a blue circle"},
                    ],
                    "usage_metadata": {
                        "duration": 3.1,
                        "model": "gemini-2.5-flash-lite",
                        "prompt_tokens": 10_000,
                        "output_tokens": 1_000,
                    },
                },
                "msg": "done",
                "success": True,
            },
            "task_id": job_id,
        }

    @staticmethod
    def failure_callback(job_id: str, message: str = "Video decoding failed") -> dict[str, Any]:
        """A failure callback (inner success false), the shape the emulator sends."""
        return {
            "code": 500,
            "message": message,
            "data": {"success": False, "msg": message},
            "task_id": job_id,
        }


@pytest.fixture
def kit() -> type[Kit]:
    """The callback helpers."""
    return Kit


class MemoryStateStore:
    """The task_state_store interface (get/set/delete with retention), kept in memory across 'tries'."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def set(self, key: str, value: Any, *, retention: Any = None) -> None:
        if value is None:
            raise ValueError("Cannot set value as None")
        self.values[key] = json.loads(json.dumps(value))  # JSON only, like the real store

    def delete(self, key: str) -> None:
        self.values.pop(key, None)


class RecordingTI:
    """The parts of the runtime task instance the operators use: ids and XCom (shared per 'DAG run')."""

    def __init__(self, xcoms: dict[tuple[str, int, str], Any], task_id: str, map_index: int = -1) -> None:
        self.dag_id = "mavi_unit"
        self.run_id = "manual__unit"
        self.task_id = task_id
        self.map_index = map_index
        self.try_number = 1
        self.xcoms = xcoms

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcoms[(self.task_id, self.map_index, key)] = json.loads(json.dumps(value))

    def xcom_pull(self, task_ids: Any = None, key: str = "return_value", **_: Any) -> Any:
        ids = [task_ids] if isinstance(task_ids, str) else list(task_ids or [self.task_id])
        found = [v for (t, _m, k), v in sorted(self.xcoms.items(), key=repr) if t in ids and k == key]
        return found if not isinstance(task_ids, str) else (found[0] if found else None)


class Run:
    """One DAG run's worth of context: XComs shared by its tasks, a state store per task instance."""

    def __init__(self) -> None:
        self.xcoms: dict[tuple[str, int, str], Any] = {}
        self.stores: dict[tuple[str, int], MemoryStateStore] = {}
        self.task_ids: list[str] = []

    def context(
        self, task_id: str = "task", *, map_index: int = -1, state_store: bool = True
    ) -> dict[str, Any]:
        """A fresh context for one try of ``task_id`` (its state store survives tries, like Airflow's)."""
        if task_id not in self.task_ids:
            self.task_ids.append(task_id)
        store = self.stores.setdefault((task_id, map_index), MemoryStateStore())
        dag = type("Dag", (), {"task_ids": self.task_ids, "dag_id": "mavi_unit"})()
        context: dict[str, Any] = {"ti": RecordingTI(self.xcoms, task_id, map_index), "dag": dag}
        if state_store:
            context["task_state_store"] = store
        return context

    def xcom(self, task_id: str, key: str, map_index: int = -1) -> Any:
        return self.xcoms.get((task_id, map_index, key))


@pytest.fixture
def run() -> Run:
    """A DAG run's context factory."""
    return Run()


class S3Server:
    """moto's standalone S3-compatible server (``moto_server``), a subprocess on a free loopback port.

    :param url: its endpoint, e.g. ``http://127.0.0.1:PORT``.
    """

    KEY = "testing"  # moto accepts any key; the connection must still sign requests with one

    def __init__(self) -> None:
        import socket
        import subprocess
        import sys
        from pathlib import Path

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        binary = Path(sys.executable).parent / "moto_server"
        self.process = subprocess.Popen(
            [str(binary), "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{self.url}/moto-api/", timeout=1)
                break
            except httpx.TransportError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)

    def client(self) -> Any:
        """A boto3 S3 client of this server (to make buckets and read what was written)."""
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=self.KEY,
            aws_secret_access_key=self.KEY,
            region_name="us-east-1",
        )

    def connection(self) -> str:
        """An ``aws`` connection to this server, as ``AIRFLOW_CONN_<ID>`` JSON (``endpoint_url`` extra)."""
        extra = {"endpoint_url": self.url, "region_name": "us-east-1"}
        return json.dumps({"conn_type": "aws", "login": self.KEY, "password": self.KEY, "extra": extra})

    def stop(self) -> None:
        """Stop the server (it keeps everything in memory: nothing is left behind)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except Exception:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def s3_server() -> Any:
    """moto's S3 server for the session (object storage tests); stopped at the end."""
    server = S3Server()
    try:
        yield server
    finally:
        server.stop()
