"""Real stores for the limiter's tests: a throwaway Redis (password set) and PostgreSQL, and helpers.

Both servers listen on free loopback ports with their data in temporary directories, and are stopped at the
end of the session. Under ``CI=true`` a server that cannot start fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_mavi.bridge.testing import PostgresServer, ServerStartError, free_port

API_KEY = "sk-mavi-test-Zq8-TOPSECRET-4242"  # fake, but unique enough to find in any output
REDIS_PASSWORD = "redis-pw-Zq8-NEVER-SHOWN"
PG_PASSWORD = "pg-pw-Zq8-NEVER-SHOWN"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required under CI=true: {reason}")
    pytest.skip(reason)


class RedisServer:
    """``redis-server`` on a free loopback port, with a password, no persistence, in a temp directory."""

    def __init__(self, password: str = REDIS_PASSWORD) -> None:
        self.password = password
        self.port = 0
        self._dir = Path(tempfile.mkdtemp(prefix="mavi-redis-"))
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServerStartError("redis-server is not installed (run: bash scripts/system-deps.sh)")
        for _attempt in range(5):
            self.port = free_port()
            self._process = subprocess.Popen(
                [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self._dir),
                 "--save", "", "--appendonly", "no", "--requirepass", self.password],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            if self._wait_ready():
                return self
            self.stop()
        raise ServerStartError("redis-server did not start")

    def _wait_ready(self) -> bool:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, password=self.password)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                return False
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                time.sleep(0.05)
        return False

    def client(self):  # type: ignore[no-untyped-def]
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    try:
        server.start()
    except ServerStartError as err:
        server.close()
        _unavailable(f"no Redis: {err}")
    yield server
    server.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        server.start()
    except ServerStartError as err:
        _unavailable(f"no PostgreSQL: {err}")
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's Redis, emptied for each test."""
    redis_server.client().flushall()
    return redis_server.url


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh database on the session's PostgreSQL, as the bridge's SQLAlchemy URL names it."""
    return postgres_server.create_database(name=f"limiter_{os.urandom(4).hex()}", driver="psycopg")


@pytest.fixture(params=["redis", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    """Each cluster store in turn."""
    return str(request.getfixturevalue(f"{request.param}_url"))


def busiest_window(times: list[float], window: float = 0.9) -> int:
    """The most requests the server saw within any ``window`` seconds.

    The limiter spaces permits 1.1 intervals apart (a 10 % margin); 0.9 s leaves room for up to 0.2 s of
    scheduling jitter between a permit and the request's arrival on this shared machine. Without the
    limiter every request would land within a few milliseconds.
    """
    times = sorted(times)
    return max((sum(1 for t in times[i:] if t - start < window) for i, start in enumerate(times)), default=0)


def count_in(times: list[float], start: float, seconds: float) -> int:
    """Requests that arrived in ``[start, start + seconds)``."""
    return sum(1 for t in times if start <= t < start + seconds)


#: A child process: its own hook settings (from ``AIRFLOW_CONN_MAVI_DEFAULT``) and limiter, meets its
#: siblings at a barrier (files in a directory), then sends ``count`` requests to ``url``, each after a
#: permit of ``bucket``.
CHILD = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    import requests
    from airflow_provider_mavi.hooks.mavi import MaviHook
    from airflow_provider_mavi.hooks.rate_limit import AccountRateLimiter
    ready, siblings, url, bucket = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    count = int(sys.argv[5])
    limiter = AccountRateLimiter.from_settings(MaviHook().get_settings())
    session = requests.Session()
    (ready / str(os.getpid())).touch()
    while len(list(ready.iterdir())) < siblings:
        time.sleep(0.01)
    for _ in range(count):
        limiter.acquire(bucket)
        session.get(url, timeout=30).raise_for_status()
    """
)


def run_children(
    tmp_path: Path, env: dict[str, str], url: str, bucket: str, count: int, processes: int = 2
) -> None:
    """Run ``processes`` children of :data:`CHILD` at once, each with its own ``MAVI_RATE_LIMIT_DIR``."""
    ready = tmp_path / "ready"
    ready.mkdir()
    children = []
    for index in range(processes):
        own_dir = tmp_path / f"machine-{index}"
        own_dir.mkdir()
        child_env = {**env, "MAVI_RATE_LIMIT_DIR": str(own_dir)}
        children.append(
            subprocess.Popen(
                [sys.executable, "-c", CHILD, str(ready), str(processes), url, bucket, str(count)],
                env=child_env,
                stderr=subprocess.PIPE,
            )
        )
    for child in children:
        _, err = child.communicate(timeout=120)
        assert child.returncode == 0, err.decode()[-3000:]
