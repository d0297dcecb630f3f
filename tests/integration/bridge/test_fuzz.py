"""Hypothesis against a running bridge: any body is stored and read back intact, or refused with a 4xx."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_mavi.bridge.testing import BridgeServer

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=25,
)


@pytest.fixture(scope="module")
def fuzz_bridge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BridgeServer, httpx.Client]]:
    db = tmp_path_factory.mktemp("fuzz") / "bridge.sqlite3"
    with BridgeServer(db_url=f"sqlite:///{db}") as server, httpx.Client() as client:
        yield server, client


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(extra=st.dictionaries(st.text(max_size=12), json_values, max_size=6))
def test_any_object_with_a_task_id_round_trips(fuzz_bridge, extra: dict) -> None:
    server, client = fuzz_bridge
    job = uuid.uuid4().hex
    body = {**extra, "task_id": job}
    answer = client.post(server.callback_url, content=json.dumps(body).encode())
    if answer.status_code == 400:  # lone surrogates cannot be stored as UTF-8
        assert answer.json() == {"detail": "the body holds a string that is not valid Unicode"}
        return
    assert answer.status_code == 200
    record = client.get(f"{server.url}/v1/callbacks/{job}", headers=server.headers).json()
    assert record["payload"] == body


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_any_body_gets_200_or_400_never_500(fuzz_bridge, body: bytes) -> None:
    server, client = fuzz_bridge
    answer = client.post(server.callback_url, content=body)
    assert answer.status_code in (200, 400), answer.text
    assert "Traceback" not in answer.text
