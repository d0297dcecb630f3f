"""Fixtures of the bridge's integration tests: real bridges (uvicorn subprocesses), SQLite and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa

from airflow_provider_mavi.bridge.store import CallbackStore, open_store
from airflow_provider_mavi.bridge.store.schema import metadata
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
def store(bridge: BridgeServer) -> Iterator[CallbackStore]:
    """The running bridge's store, opened beside it, to check what is (not) stored."""
    s = open_store(bridge.db_url)
    yield s
    s.close()


@pytest.fixture
def table_rows(bridge: BridgeServer) -> Iterator[Callable[[], dict[str, int]]]:
    """
    Count the rows of every bridge table, straight from the database: the proof that a refusal stored
    nothing (the store protocol has no count: the service never needs one).
    """
    engine = sa.create_engine(bridge.db_url)

    def count() -> dict[str, int]:
        with engine.connect() as conn:
            return {
                table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                for table in metadata.sorted_tables
            }

    yield count
    engine.dispose()


@pytest.fixture
def job_id() -> str:
    """A fresh Mavi-like job id."""
    return uuid.uuid4().hex
