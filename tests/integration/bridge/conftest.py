"""Fixtures of the bridge's integration tests: real bridges (uvicorn subprocesses), SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from airflow_provider_mavi.bridge.store import Store
from airflow_provider_mavi.bridge.testing import BridgeServer, PostgresServer, ServerStartError


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server; under CI=true a failure to start fails the test instead of skipping."""
    server = PostgresServer()
    try:
        server.start()
    except ServerStartError as err:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"PostgreSQL is required under CI=true: {err}")
        pytest.skip(f"no PostgreSQL: {err}")
    yield server
    server.stop()


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A fresh store per test module: a SQLite file, or a new database on the test PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('bridge') / 'bridge.sqlite3'}"
    return request.getfixturevalue("postgres").create_database()


@pytest.fixture(scope="module")
def bridge(db_url: str) -> Iterator[BridgeServer]:
    """A running bridge, shared by a module's tests (each test uses its own job ids and checks deltas)."""
    with BridgeServer(db_url=db_url) as server:
        yield server


@pytest.fixture
def store(bridge: BridgeServer) -> Iterator[Store]:
    """Direct access to the running bridge's store, to check what is (not) stored."""
    s = Store(bridge.db_url)
    yield s
    s.dispose()


@pytest.fixture
def job_id() -> str:
    """A fresh Mavi-like job id."""
    return uuid.uuid4().hex
