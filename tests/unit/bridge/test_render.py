"""Rendering stored callbacks: one that cannot be served as JSON is escaped, never failing the others."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter

from airflow_provider_mavi.bridge.render import RecordRenderer
from airflow_provider_mavi.bridge.store import StoredCallback

#: Bodies an older bridge stored that no strict answer can carry, and bodies that are fine.
UNSERVABLE = [
    b'{"task_id": "j", "x": NaN}',
    b'{"task_id": "j", "x": 1e400}',
    b'{"task_id": "j", "x": -Infinity}',
    b'{"task_id": "j", "x": "\\ud800"}',
    b'{"task_id": "j", "x": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
    b'{"task_id": "j", "x": 1',  # cut short
    b"\xff\xfe not even text",
]
SERVABLE = [b'{"task_id": "j", "code": 200}', b'{"task_id":"j","data":{"v":[1,2.5,"\\u00e9",null]}}']


def strict(data: bytes) -> Any:
    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in an answer")

    return json.loads(data, parse_constant=refuse)


def renderer() -> tuple[RecordRenderer, Counter]:
    counter = Counter("unreadable", "test", registry=CollectorRegistry())
    return RecordRenderer(counter), counter


def record(job_id: str, payload: bytes, seq: int = 1) -> StoredCallback:
    return StoredCallback(job_id, seq, 1_700_000_000.0, 2, payload)


@settings(max_examples=60)
@given(
    bodies=st.lists(
        st.tuples(st.sampled_from(UNSERVABLE + SERVABLE), st.text(min_size=1, max_size=20)), max_size=8
    )
)
def test_a_batch_with_unservable_records_still_serves_every_other(bodies: list[tuple[bytes, str]]) -> None:
    render, counter = renderer()
    records = [record(f"{i}-{job}", body, i) for i, (body, job) in enumerate(bodies)]
    answer = strict(render.records(records))
    assert [r["job_id"] for r in answer] == [r.job_id for r in records]
    for stored, served in zip(records, answer, strict=True):
        if stored.payload in SERVABLE:
            assert served == stored.to_json()
        else:
            assert served["payload"] == {"task_id": stored.job_id}
            assert served["unreadable"]["reason"].startswith("the stored body is not strict JSON")
            assert served["unreadable"]["body"] == stored.payload.decode("utf-8", "backslashreplace")
            assert (served["received_at"], served["deliveries"]) == ("2023-11-14T22:13:20.000+00:00", 2)
    assert counter._value.get() == sum(1 for r in records if r.payload not in SERVABLE)


@pytest.mark.parametrize("body", UNSERVABLE)
def test_an_unservable_record_is_logged_once_per_job(body: bytes, caplog: pytest.LogCaptureFixture) -> None:
    render, counter = renderer()
    with caplog.at_level(logging.WARNING, "airflow_provider_mavi.bridge"):
        for _ in range(3):
            strict(render.record(record("job-7", body)))
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1
    assert lines[0].startswith("mavi-bridge: the callback stored for job job-7 cannot be served as JSON (")
    assert lines[0].endswith("); served escaped")
    assert counter._value.get() == 3
