"""The bridge mounted in a real ``airflow api-server`` by the plugin (``[mavi] bridge_plugin_enabled``)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from airflow_provider_mavi.bridge.testing import free_port

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

SECRET = "plugin-secret-" + "s" * 24
TOKEN = "plugin-token-" + "t" * 24


def test_bridge_inside_the_airflow_api_server(tmp_path: Path) -> None:
    airflow = str(Path(sys.executable).with_name("airflow"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MAVI_BRIDGE_", "AIRFLOW__"))},
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__MAVI__BRIDGE_PLUGIN_ENABLED": "True",
        "MAVI_BRIDGE_CALLBACK_SECRET": SECRET,
        "MAVI_BRIDGE_API_TOKEN": TOKEN,
        "MAVI_BRIDGE_DB_URL": f"sqlite:///{tmp_path / 'bridge.sqlite3'}",
    }
    migrate = subprocess.run([airflow, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    port = free_port()
    log_path = tmp_path / "api-server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [airflow, "api-server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}/mavi"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert server.poll() is None, log_path.read_text()[-3000:]
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        headers = {"Authorization": f"Bearer {TOKEN}"}
        answer = httpx.post(f"{base}/callbacks/{SECRET}", json={"task_id": "plugin-job", "code": 200})
        assert answer.status_code == 200
        assert httpx.post(f"{base}/callbacks/wrong", json={"task_id": "x"}).status_code == 404
        record = httpx.get(f"{base}/v1/callbacks/plugin-job", headers=headers).json()
        assert record["payload"] == {"task_id": "plugin-job", "code": 200}
        assert httpx.get(f"{base}/v1/callbacks/plugin-job").status_code == 401
        time.sleep(1)
        output = log_path.read_text(errors="replace")
        assert "path=/mavi/callbacks/***" in output  # Airflow's own access log, redacted
        assert SECRET not in output
        assert TOKEN not in output
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)
