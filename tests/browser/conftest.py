"""The browser tests' world: a real ``airflow api-server`` with the bridge plugin (and the Mavi page), the
emulator posting its callbacks to that bridge, and headless Chromium from Debian driven by Playwright.

Nothing is downloaded: Playwright launches ``/usr/bin/chromium`` (``make test``'s system-deps step installs
it). Without it the tests are skipped, except under ``CI=true`` where they fail. Screenshots land in
``.test-artifacts/browser/`` (gitignored).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from airflow_provider_mavi.bridge.testing import free_port

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / ".test-artifacts" / "browser"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
USER = "admin"


@dataclass
class Stack:
    """The running services and what a test needs to reach them.

    :param home: the ``AIRFLOW_HOME``.
    :param env: the environment of every ``airflow`` command.
    :param url: the API server's base URL.
    :param password: the Airflow user's password.
    :param secret: the bridge's callback secret.
    :param token: the bridge's API token.
    :param emulator: the running ``EmulatorServer``.
    :param log: the API server's output file.
    """

    home: Path
    env: dict[str, str]
    url: str
    password: str
    secret: str
    token: str
    emulator: Any
    log: Path
    secrets: list[str] = field(default_factory=list)
    user: str = USER

    @property
    def bridge_url(self) -> str:
        """The bridge inside the API server."""
        return f"{self.url}/mavi"

    def airflow(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run an ``airflow`` command in this home.

        :param args: its arguments.
        :param timeout: seconds before it is killed.
        """
        return subprocess.run(
            [str(BIN / "airflow"), *args],
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def _wait_http(url: str, server: subprocess.Popen[bytes], log: Path, timeout: float = 150) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text(errors="replace")[-4000:]
        try:
            if httpx.get(url, timeout=3).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer in {timeout} s: " + log.read_text(errors="replace")[-4000:])


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium; skipped without it (failed under CI=true)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("the browser tests need /usr/bin/chromium (make system-deps installs it)")
        pytest.skip("no /usr/bin/chromium: run make system-deps")
    return CHROMIUM


@pytest.fixture(scope="module")
def stack(chromium: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A migrated Airflow home (SQLite), ``airflow api-server`` with the bridge plugin, and the emulator
    whose account webhook is that bridge; ``mavi_default`` points at both."""
    from airflow_provider_mavi.emulator.testing import EmulatorServer

    home = tmp_path_factory.mktemp("airflow_ui")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    password, secret, token = (secrets.token_urlsafe(18) for _ in range(3))
    passwords = home / "simple_auth_manager_passwords.json"
    passwords.write_text(json.dumps({USER: password}))
    emulator = EmulatorServer(
        api_key="sk-browser-" + secrets.token_hex(8),
        webhook_url=f"{url}/mavi/callbacks/{secret}",
        qps=20,
        data_dir=home / "emulator",
    ).start()
    connection = {
        "conn_type": "mavi",
        "host": emulator.base_url,
        "password": emulator.api_key,
        "extra": {"bridge_url": f"{url}/mavi", "bridge_token": token, "max_requests_per_second": 20},
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MAVI_"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(Path(__file__).parent / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__API__BASE_URL": url,
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
            "AIRFLOW__MAVI__BRIDGE_PLUGIN_ENABLED": "True",
            "MAVI_BRIDGE_CALLBACK_SECRET": secret,
            "MAVI_BRIDGE_API_TOKEN": token,
            "MAVI_BRIDGE_DB_URL": f"sqlite:///{home / 'bridge.sqlite3'}",
            "MAVI_RATE_LIMIT_DIR": str(home / "rate-limit"),
            "AIRFLOW_CONN_MAVI_DEFAULT": json.dumps(connection),
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        }
    )
    log = home / "api-server.log"
    stack = Stack(home, env, url, password, secret, token, emulator, log, [password, secret, token])
    try:
        migrate = stack.airflow("db", "migrate")
        assert migrate.returncode == 0, migrate.stderr[-3000:]
        with log.open("wb") as out:
            server = subprocess.Popen(
                [
                    str(BIN / "airflow"),
                    "api-server",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--workers",
                    "1",
                ],
                env=env,
                cwd=home,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            _wait_http(f"{url}/api/v2/monitor/health", server, log)
            _wait_http(f"{url}/mavi/healthz", server, log)
            yield stack
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(10)
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Any]:
    """Headless Chromium (Debian's) under Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots go (``.test-artifacts/browser``, gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
