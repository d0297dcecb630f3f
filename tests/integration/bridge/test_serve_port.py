"""`mavi-bridge serve` binds its port first: it says it serves only once it does, and a port in use is one
clear error line and a non-zero exit, before any store is opened."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from airflow_provider_mavi.bridge.testing import free_port

SCRIPT = str(Path(sys.executable).with_name("mavi-bridge"))


def environment(db: Path) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("MAVI_BRIDGE_")},
        "MAVI_BRIDGE_CALLBACK_SECRET": "c" * 32,
        "MAVI_BRIDGE_API_TOKEN": "t" * 32,
        "MAVI_BRIDGE_DB_URL": f"sqlite:///{db}",
    }


def wait_healthy(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("the first bridge did not come up")


def test_a_second_bridge_on_the_same_port_fails_with_one_line(tmp_path: Path) -> None:
    port = free_port()
    first = subprocess.Popen(
        [SCRIPT, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=environment(tmp_path / "first.sqlite3"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_healthy(port, first)
        second = subprocess.run(
            [SCRIPT, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=environment(tmp_path / "second.sqlite3"),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 1
        assert second.stdout == ""
        assert second.stderr.splitlines() == [
            f"mavi-bridge: cannot listen on 127.0.0.1:{port}: Address already in use "
            "(another process, perhaps another bridge, uses it)"
        ]
        assert not (tmp_path / "second.sqlite3").exists()  # no store was opened
        assert (
            httpx.get(f"http://127.0.0.1:{port}/healthz").json()["status"] == "ok"
        )  # the first still serves
    finally:
        first.terminate()
        output = first.communicate(timeout=30)[0].decode()
    assert first.returncode in (0, -signal.SIGTERM)
    lines = output.splitlines()
    ready = next(i for i, line in enumerate(lines) if "mavi-bridge: store ready (sqlite)" in line)
    serving = next(i for i, line in enumerate(lines) if f"serving on http://127.0.0.1:{port}" in line)
    assert ready < serving  # the serving line comes once the store is open and the port accepts


def test_an_address_that_is_not_local_is_one_line_too(tmp_path: Path) -> None:
    port = free_port()
    answer = subprocess.run(
        [SCRIPT, "serve", "--host", "192.0.2.1", "--port", str(port)],  # TEST-NET-1: never ours
        env=environment(tmp_path / "b.sqlite3"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert answer.returncode == 1
    assert answer.stderr.splitlines() == [
        f"mavi-bridge: cannot listen on 192.0.2.1:{port}: Cannot assign requested address"
    ]
    assert not (tmp_path / "b.sqlite3").exists()
