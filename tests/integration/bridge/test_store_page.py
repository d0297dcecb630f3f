"""The store's reads for the Mavi page, the job fields of schema 2 and its migration, on SQLite and on a real
PostgreSQL (the ``db_url`` fixture: a fresh database per module)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from airflow_provider_mavi.bridge.intake import parse_callback
from airflow_provider_mavi.bridge.store import SCHEMA_VERSION, CallbackStore, JobSubmission, open_store

DAY = 86400


@pytest.fixture(scope="module")
def store(db_url: str) -> Iterator[CallbackStore]:
    s = open_store(db_url)
    s.ensure_schema()
    yield s
    s.close()


def deliver(store: CallbackStore, job_id: str, at: float | None = None, **body: object) -> None:
    payload = json.dumps({"task_id": job_id, "code": 200, **body}).encode()
    store.write_callbacks([parse_callback(payload, at or time.time())])


def set_submitted(db_url: str, job_id: str, at: float) -> None:
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE mavi_bridge_jobs SET submitted_at = :at WHERE job_id = :job"),
                {"at": at, "job": job_id},
            )
    finally:
        engine.dispose()


def test_a_job_keeps_its_task_deadline_and_price_across_a_repeated_record(store: CallbackStore) -> None:
    job = uuid.uuid4().hex
    submitted = JobSubmission(
        job,
        kind="extract_frames",
        asset_id="re_1",
        key="k",
        dag_id="d",
        run_id="r",
        task_id="t",
        map_index=4,
        deadline=2e9,
    )
    first = store.put_job(submitted)
    assert (first.dag_id, first.run_id, first.task_id, first.map_index, first.deadline) == (
        "d",
        "r",
        "t",
        4,
        2e9,
    )
    assert first.cost_usd is None
    priced = store.record_cost(job, 0.06)
    assert priced is not None
    assert priced.cost_usd == 0.06
    again = store.put_job(submitted)  # a retried PUT keeps the price the task recorded
    assert again.cost_usd == 0.06
    assert again.submitted_at == first.submitted_at
    assert store.record_cost("no-such-job", 1.0) is None
    assert store.get_job("no-such-job") is None
    assert store.get_job(job).to_json()["deadline"] == "2033-05-18T03:33:20.000+00:00"


def test_waiting_jobs_nearest_deadline_first_until_a_callback_or_abandon(store: CallbackStore) -> None:
    prefix = uuid.uuid4().hex[:8]
    now = time.time()
    for name, deadline in (("late", now + 900), ("none", None), ("soon", now + 60), ("gone", now + 30)):
        store.put_job(
            JobSubmission(f"{prefix}-{name}", kind="extract_frames", asset_id="re_1", deadline=deadline)
        )
    store.abandon_job(f"{prefix}-gone")
    mine = [j.job_id for j in store.waiting_jobs(1000) if j.job_id.startswith(prefix)]
    assert mine == [f"{prefix}-soon", f"{prefix}-late", f"{prefix}-none"]  # no deadline last
    deliver(store, f"{prefix}-soon")
    mine = [j.job_id for j in store.waiting_jobs(1000) if j.job_id.startswith(prefix)]
    assert mine == [f"{prefix}-late", f"{prefix}-none"]


def test_received_callbacks_newest_first_and_those_no_task_claimed(store: CallbackStore) -> None:
    prefix = uuid.uuid4().hex[:8]
    store.put_job(JobSubmission(f"{prefix}-claimed", kind="transcribe_video", asset_id="re_1", dag_id="d"))
    deliver(store, f"{prefix}-claimed")
    deliver(store, f"{prefix}-stray", data={"asset_id": "im_1", "asset_ch_ids": []})
    deliver(store, f"{prefix}-stray", data={"asset_id": "im_1", "asset_ch_ids": []})  # a repeat
    recent = [r for r in store.received_callbacks(1000) if r.callback.job_id.startswith(prefix)]
    assert [r.callback.job_id for r in recent] == [f"{prefix}-stray", f"{prefix}-claimed"]
    assert recent[0].job is None
    assert recent[0].callback.deliveries == 2
    assert recent[1].job is not None
    assert recent[1].job.dag_id == "d"
    assert recent[1].job.state == "delivered"
    unclaimed = [r.callback.job_id for r in store.received_callbacks(1000, unclaimed=True)]
    assert f"{prefix}-stray" in unclaimed
    assert f"{prefix}-claimed" not in unclaimed
    assert len(store.received_callbacks(1)) == 1


def test_spend_per_utc_day_and_dag_at_the_day_boundary(store: CallbackStore, db_url: str) -> None:
    prefix = uuid.uuid4().hex[:8]
    midnight = (time.time() // DAY - 2) * DAY  # two days ago, 00:00:00 UTC
    jobs = [
        ("a", "spend_dag", midnight, 0.25),  # exactly midnight: that day
        ("b", "spend_dag", midnight - 0.5, 0.5),  # half a second before: the day before
        ("c", "spend_dag", midnight + DAY - 1, None),  # the last second of the day, no price yet
        ("d", None, midnight + 10, 1.0),  # recorded without a DAG
        ("e", "spend_dag", midnight - 40 * DAY, 9.0),  # before the window
    ]
    for name, dag, at, cost in jobs:
        job = f"{prefix}-{name}"
        store.put_job(JobSubmission(job, kind="extract_frames", asset_id="re_1", dag_id=dag))
        set_submitted(db_url, job, at)
        if cost is not None:
            store.record_cost(job, cost)
    day = time.strftime("%Y-%m-%d", time.gmtime(midnight))
    before = time.strftime("%Y-%m-%d", time.gmtime(midnight - DAY))
    rows = {(r.day, r.dag_id): r for r in store.spend(midnight - 30 * DAY) if r.day in (day, before)}
    assert {k: (r.jobs, r.priced, r.cost_usd) for k, r in rows.items() if k[1] in ("spend_dag", None)} == {
        (day, "spend_dag"): (2, 1, 0.25),
        (before, "spend_dag"): (1, 1, 0.5),
        (day, None): (1, 1, 1.0),
    }


def test_callbacks_counted_since_a_time(store: CallbackStore) -> None:
    now = time.time()
    before = store.count_callbacks(now - 60)
    deliver(store, uuid.uuid4().hex, at=now - 3000)
    deliver(store, uuid.uuid4().hex, at=now)
    assert store.count_callbacks(now - 60) == before + 1
    assert store.count_callbacks(now - 3600) >= before + 2


V1_JOBS = """CREATE TABLE mavi_bridge_jobs (
    job_id VARCHAR(200) NOT NULL PRIMARY KEY, kind VARCHAR(64) NOT NULL, asset_id VARCHAR(200) NOT NULL,
    key VARCHAR(1000), state VARCHAR(16) NOT NULL, submitted_at FLOAT NOT NULL, updated_at FLOAT NOT NULL)"""


def test_a_version_1_store_is_migrated_and_keeps_its_jobs(
    request: pytest.FixtureRequest, db_url: str
) -> None:
    if db_url.startswith("sqlite"):
        url = f"sqlite:///{request.getfixturevalue('tmp_path') / 'v1.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres").create_database()
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:  # the jobs table and version of a bridge before schema 2
            conn.execute(sa.text(V1_JOBS))
            conn.execute(sa.text("CREATE TABLE mavi_bridge_schema (version INTEGER NOT NULL)"))
            conn.execute(sa.text("INSERT INTO mavi_bridge_schema (version) VALUES (1)"))
            conn.execute(
                sa.text(
                    "INSERT INTO mavi_bridge_jobs VALUES "
                    "('old-job', 'extract_frames', 're_1', 'k', 'waiting', 1, 1)"
                )
            )
    finally:
        engine.dispose()
    store = open_store(url)
    try:
        store.ensure_schema()
        store.ensure_schema()  # a second start migrates nothing
        old = store.get_job("old-job")
        assert old is not None
        assert (old.kind, old.key, old.dag_id, old.deadline, old.cost_usd) == (
            "extract_frames",
            "k",
            None,
            None,
            None,
        )
        assert [j.job_id for j in store.waiting_jobs(10)] == ["old-job"]
        new = store.put_job(JobSubmission("new-job", kind="transcribe_video", asset_id="re_2", dag_id="d"))
        assert new.dag_id == "d"
        assert store.record_cost("old-job", 0.5).cost_usd == 0.5
    finally:
        store.close()
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            assert (
                conn.execute(sa.text("SELECT version FROM mavi_bridge_schema")).scalar()
                == SCHEMA_VERSION
                == 2
            )
        indexes = sa.inspect(engine).get_indexes("mavi_bridge_jobs")
        assert any(index["column_names"] == ["state"] for index in indexes)
    finally:
        engine.dispose()
