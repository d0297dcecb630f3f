"""
Test helpers: a real bridge in a subprocess, and a throwaway PostgreSQL server.

``BridgeServer`` runs ``mavi-bridge serve`` on a loopback socket that this process opens and keeps, so the
bridge can be killed (SIGKILL) and restarted on the same port while clients keep their URL.
``PostgresServer`` starts PostgreSQL with ``initdb``/``pg_ctl`` in a temporary directory on a free port
(as the ``postgres`` user when running as root, because ``initdb`` refuses root).
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from types import TracebackType


class ServerStartError(RuntimeError):
    """A test server did not come up; the message holds the end of its log."""


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class BridgeServer:
    """
    Run the bridge (uvicorn, subprocess) on a free loopback port.

    :param db_url: the store (a SQLite file in a temporary directory when ``None``).
    :param secret: the callback secret (random when ``None``).
    :param token: the API token (random when ``None``).
    :param env: more ``MAVI_BRIDGE_*`` variables (e.g. ``{"MAVI_BRIDGE_RELAY_URLS": ...}``).
    :param settings: shortcuts: ``max_body``, ``relay_urls``, ``allowed_networks``, ``poll_interval``,
        ``noop_endpoint``, ``log_level``, ``access_log`` become the matching variables or flags.
    """

    def __init__(
        self,
        db_url: str | None = None,
        secret: str | None = None,
        token: str | None = None,
        env: dict[str, str] | None = None,
        **settings: Any,
    ) -> None:
        self._tmp = Path(tempfile.mkdtemp(prefix="mavi-bridge-test-"))
        self.db_url = db_url or f"sqlite:///{self._tmp / 'bridge.sqlite3'}"
        self.secret = secret or secrets.token_urlsafe(32)
        self.token = token or secrets.token_urlsafe(32)
        self.log_path = self._tmp / "bridge.log"
        self._env = dict(env or {})
        self._args: list[str] = []
        for name, value in settings.items():
            if name == "access_log":
                if value:
                    self._args.append("--access-log")
            elif name in ("relay_urls", "allowed_networks"):
                self._env[f"MAVI_BRIDGE_{name.upper()}"] = ",".join(value)
            else:
                self._env[f"MAVI_BRIDGE_{name.upper()}"] = str(
                    int(value) if isinstance(value, bool) else value
                )
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(2048)
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.callback_url = f"{self.url}/callbacks/{self.secret}"
        self.process: subprocess.Popen[bytes] | None = None
        self._log_file: Any = None

    def __repr__(self) -> str:
        return f"BridgeServer(url={self.url!r}, db={self.db_url.split('@')[-1]!r})"

    @property
    def headers(self) -> dict[str, str]:
        """The ``Authorization`` header of the read API."""
        return {"Authorization": f"Bearer {self.token}"}

    def start(self, timeout: float = 30) -> BridgeServer:
        """
        Start the bridge and wait until ``/healthz`` answers 200.

        :param timeout: seconds to wait.
        """
        env = {**os.environ, **self._env}
        env.update(
            MAVI_BRIDGE_DB_URL=self.db_url,
            MAVI_BRIDGE_CALLBACK_SECRET=self.secret,
            MAVI_BRIDGE_API_TOKEN=self.token,
            PYTHONUNBUFFERED="1",
        )
        self._log_file = self.log_path.open("ab")
        fd = self._sock.fileno()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "airflow_provider_mavi.bridge.cli", "serve", "--fd", str(fd), *self._args],
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            pass_fds=(fd,),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerStartError(
                    f"the bridge exited with {self.process.returncode}:\n{self.output()[-3000:]}"
                )
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.kill()
        raise ServerStartError(f"the bridge did not answer /healthz in {timeout} s:\n{self.output()[-3000:]}")

    def output(self) -> str:
        """Everything the bridge printed (stdout and stderr) so far."""
        if self._log_file is not None:
            self._log_file.flush()
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def kill(self) -> None:
        """Kill the bridge with SIGKILL (no shutdown at all), keeping the port for :meth:`restart`."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        """Stop the bridge gracefully (SIGTERM), then SIGKILL if it lingers."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def restart(self, timeout: float = 30) -> BridgeServer:
        """
        Kill the bridge if it runs and start it again on the same port and store.

        :param timeout: seconds to wait for ``/healthz``.
        """
        self.kill()
        if self._log_file is not None:
            self._log_file.close()
        return self.start(timeout)

    def close(self) -> None:
        """Stop the bridge, close the socket and delete the temporary directory."""
        self.stop()
        self._sock.close()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> BridgeServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def free_port() -> int:
    """Return a TCP port that is free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_postgres_bin() -> Path | None:
    """Return the directory holding ``initdb`` and ``pg_ctl`` (Debian's layout or ``PATH``), or ``None``."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if candidates:
        return Path(candidates[0]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


class PostgresServer:
    """
    A throwaway PostgreSQL server in a temporary directory, on a free loopback port, trust auth.

    :param user_when_root: the OS user that runs PostgreSQL when this process is root.
    """

    def __init__(self, user_when_root: str = "postgres") -> None:
        self.bin = find_postgres_bin()
        self.port = 0
        self._tmp: Path | None = None
        self._as_user: list[str] = []
        self._user_when_root = user_when_root

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` database."""
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self._as_user, *args], capture_output=True, text=True, timeout=120, check=False
        )

    def start(self) -> PostgresServer:
        """Run ``initdb`` and ``pg_ctl start``; raises :class:`ServerStartError` with the reason."""
        if self.bin is None:
            raise ServerStartError("PostgreSQL is not installed (run: bash scripts/system-deps.sh)")
        self._tmp = Path(tempfile.mkdtemp(prefix="mavi-pg-"))
        data = self._tmp / "data"
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            if runuser is None:
                raise ServerStartError("running as root without runuser: cannot start PostgreSQL")
            self._as_user = [runuser, "-u", self._user_when_root, "--"]
            shutil.chown(self._tmp, self._user_when_root, None)
        initdb = self._run(
            str(self.bin / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip
        if initdb.returncode != 0:
            raise ServerStartError(f"initdb failed: {initdb.stderr[-2000:]}")
        for _attempt in range(5):
            self.port = free_port()
            options = (
                f"-p {self.port} -k {self._tmp} -c listen_addresses=127.0.0.1 -c max_connections=300 "
                "-c shared_buffers=64MB"
            )
            started = self._run(
                str(self.bin / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(self._tmp / "pg.log"),
                "-w", "-t", "60", "start",
            )  # fmt: skip
            if started.returncode == 0:
                return self
        raise ServerStartError(
            f"pg_ctl start failed: {started.stderr[-1000:]}\n{_tail(self._tmp / 'pg.log')}"
        )

    def create_database(self, name: str | None = None, driver: str = "psycopg") -> str:
        """
        Create a fresh database and return its SQLAlchemy URL.

        :param name: the database name (random when ``None``).
        :param driver: the DB-API driver in the URL (``psycopg``, SQLAlchemy's default, or ``psycopg2``).
        """
        import psycopg2

        name = name or f"bridge_{secrets.token_hex(6)}"
        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres")
        try:
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return f"postgresql+{driver}://postgres@127.0.0.1:{self.port}/{name}"

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its directory."""
        if self._tmp is None or self.bin is None:
            return
        self._run(str(self.bin / "pg_ctl"), "-D", str(self._tmp / "data"), "-m", "fast", "-w", "stop")
        shutil.rmtree(self._tmp, ignore_errors=True)
        self._tmp = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
