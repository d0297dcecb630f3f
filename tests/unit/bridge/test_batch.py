"""A batch written at once answers and stores exactly what the same callbacks written one by one would."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_mavi.bridge.intake import parse_callback
from airflow_provider_mavi.bridge.store import CallbackStore, StoreError, open_store
from airflow_provider_mavi.bridge.store.batch import BatchPlan

# a few jobs, a few bodies each, progress or outcome: enough to collide within a batch
posts = st.lists(
    st.tuples(st.sampled_from("abc"), st.sampled_from([1, 2, 3]), st.booleans()), min_size=1, max_size=12
)


def body(job: str, variant: int, progress: bool) -> bytes:
    return json.dumps(
        {"task_id": job, "code": 200, "variant": variant, "status": "processing" if progress else "ok"}
    ).encode()


def test_plan_groups_by_body_and_by_job() -> None:
    specs = [("a", 1, True), ("b", 1, False), ("a", 2, False), ("a", 1, True)]
    items = [parse_callback(body(*spec), float(i)) for i, spec in enumerate(specs)]
    a1, b1, a2 = items[0].body_sha256, items[1].body_sha256, items[2].body_sha256
    plan = BatchPlan(items)
    assert [
        (r.job_id, r.body_sha256, r.posts, r.received_at, r.last_received_at) for r in plan.delivery_rows()
    ] == [
        ("a", a1, 2, 0.0, 3.0),
        ("b", b1, 1, 1.0, 1.0),
        ("a", a2, 1, 2.0, 2.0),
    ]
    rows = plan.callback_rows()
    assert [(r.job_id, r.deliveries, r.terminal, r.received_at, r.updated_at) for r in rows] == [
        ("a", 3, True, 0.0, 3.0),
        ("b", 1, True, 1.0, 1.0),
    ]
    assert json.loads(rows[0].payload)["variant"] == 2  # the first outcome, not the progress body before it
    # the totals a store returns after adding the batch to what it held: job a had 5 POSTs, 1 of them body a1
    results = plan.results({("a", a1): 3, ("b", b1): 1, ("a", a2): 1}, {"a": 8, "b": 1})
    assert [(r.job_id, r.duplicate, r.deliveries) for r in results] == [
        ("a", True, 6),
        ("b", False, 1),
        ("a", False, 7),
        ("a", True, 8),
    ]
    with pytest.raises(StoreError, match="the store returned no record for job b"):
        plan.results({("a", a1): 2, ("b", b1): 1, ("a", a2): 1}, {"a": 3})
    with pytest.raises(StoreError, match="the store returned no count for a body of job a"):
        plan.results({("b", b1): 1}, {"a": 3, "b": 1})
    assert BatchPlan([]).results({}, {}) == []


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    s = open_store(f"sqlite:///{tmp_path_factory.mktemp('batch') / 'bridge.sqlite3'}")
    s.ensure_schema()
    yield s
    s.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=posts, batch=posts)
def test_batch_equals_one_by_one(store: CallbackStore, before: list, batch: list) -> None:
    """Same history (some posts already stored, then a batch), under two prefixes: at once and one by one."""
    at_once, one_by_one = uuid.uuid4().hex[:8], uuid.uuid4().hex[:8]

    def items(prefix: str, spec: list) -> list:
        return [parse_callback(body(prefix + job, v, p), 1000.0 + i) for i, (job, v, p) in enumerate(spec)]

    for prefix in (at_once, one_by_one):
        for item in items(prefix, before):
            store.write_callbacks([item])
    together = store.write_callbacks(items(at_once, batch))
    separately = [r for item in items(one_by_one, batch) for r in store.write_callbacks([item])]
    assert [(r.job_id[8:], r.duplicate, r.deliveries) for r in together] == [
        (r.job_id[8:], r.duplicate, r.deliveries) for r in separately
    ]
    for job in "abc":
        a, b = store.get_callbacks([at_once + job]), store.get_callbacks([one_by_one + job])
        assert [(r.deliveries, json.loads(r.payload)["variant"]) for r in a] == [
            (r.deliveries, json.loads(r.payload)["variant"]) for r in b
        ]
        assert [
            (d.count, d.terminal, json.loads(d.payload)["variant"])
            for d in store.get_deliveries(at_once + job)
        ] == [
            (d.count, d.terminal, json.loads(d.payload)["variant"])
            for d in store.get_deliveries(one_by_one + job)
        ]
