"""Real servers on loopback for the integration tests of the bridge hook, operators, sensors and triggers.

``bridge`` is one real bridge (uvicorn subprocess, SQLite file) per session; ``mavi_conn`` points
``mavi_default`` at it (Mavi itself unreachable); ``wired`` runs the emulator (real media work) with the
bridge as its account webhook and points ``mavi_default`` at both. Rooms with their own ``bridge`` fixture
(``bridge/``) override it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from airflow_provider_mavi.bridge.testing import BridgeServer


@pytest.fixture(scope="session")
def bridge() -> Iterator[BridgeServer]:
    """One real bridge (uvicorn subprocess, SQLite file) for the session."""
    with BridgeServer() as server:
        yield server


def connection_json(*, host: str, password: str, bridge: BridgeServer | None, **extra: Any) -> str:
    """The `mavi` connection as Airflow reads it from AIRFLOW_CONN_* (JSON form)."""
    extras: dict[str, Any] = dict(extra)
    if bridge is not None:
        extras.update(bridge_url=bridge.url, bridge_token=bridge.token)
    return json.dumps({"conn_type": "mavi", "host": host, "password": password, "extra": extras})


@pytest.fixture
def mavi_conn(monkeypatch: pytest.MonkeyPatch, bridge: BridgeServer) -> str:
    """`mavi_default` pointing at the session bridge (Mavi itself unreachable: triggers never call it)."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_MAVI_DEFAULT",
        connection_json(host="http://127.0.0.1:9/serve/api/v2", password="sk-test-unit", bridge=bridge),
    )
    return "mavi_default"


@pytest.fixture
def wired(monkeypatch: pytest.MonkeyPatch, bridge: BridgeServer, tmp_path: Any) -> Iterator[Any]:
    """The emulator (real media work, qps 20) sending callbacks to the session bridge; `mavi_default` set."""
    from airflow_provider_mavi.emulator.testing import EmulatorServer

    with EmulatorServer(webhook_url=bridge.callback_url, qps=20, data_dir=tmp_path / "emu") as emulator:
        monkeypatch.setenv(
            "AIRFLOW_CONN_MAVI_DEFAULT",
            connection_json(
                host=emulator.base_url, password=emulator.api_key, bridge=bridge, max_requests_per_second=20
            ),
        )
        yield emulator
