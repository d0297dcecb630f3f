"""The CallbackStore protocol on SQLite and on a real PostgreSQL: batches, concurrent writers, NOTIFY."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_mavi.bridge.intake import parse_callback
from airflow_provider_mavi.bridge.store import CallbackStore, JobSubmission, open_store

posts = st.lists(
    st.tuples(st.sampled_from("abc"), st.sampled_from([1, 2, 3]), st.booleans()), min_size=1, max_size=12
)


def body(job: str, variant: int = 1, progress: bool = False) -> bytes:
    status = "processing" if progress else "ok"
    return json.dumps({"task_id": job, "code": 200, "variant": variant, "status": status}).encode()


@pytest.fixture(scope="module")
def store(db_url: str) -> Iterator[CallbackStore]:
    s = open_store(db_url)
    s.ensure_schema()
    yield s
    s.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=posts, batch=posts)
def test_batch_equals_one_by_one(store: CallbackStore, before: list, batch: list) -> None:
    """Same history under two prefixes, the last part written as one batch or one callback at a time."""
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

    def stored(prefix: str, job: str) -> tuple[list, list]:
        def plain(payload: bytes) -> dict:  # the body without its prefixed task_id
            return {**json.loads(payload), "task_id": job}

        callbacks = [(r.deliveries, plain(r.payload)) for r in store.get_callbacks([prefix + job])]
        deliveries = [(d.count, d.terminal, plain(d.payload)) for d in store.get_deliveries(prefix + job)]
        return callbacks, deliveries

    for job in "abc":
        assert stored(at_once, job) == stored(one_by_one, job)


def test_a_batch_keeps_arrival_order_and_big_payloads(store: CallbackStore) -> None:
    prefix = f"{uuid.uuid4().hex[:8]}-é-\u2603"  # job ids are text: any Unicode
    big = {"task_id": "", "pad": "é" * 2000, "nul": "\x00"}  # bytes, not text: even NUL is kept
    bodies = [json.dumps({**big, "task_id": f"{prefix}-{i}"}).encode() for i in range(300)]
    items = [parse_callback(b, time.time()) for b in bodies]
    assert [r.deliveries for r in store.write_callbacks(items)] == [1] * 300
    ids = [f"{prefix}-{i}" for i in range(300)]
    records = store.get_callbacks(list(reversed(ids)))
    assert [r.job_id for r in records] == ids  # arrival order, whatever the order asked
    assert [r.seq for r in records] == sorted(r.seq for r in records)
    assert records[7].payload == items[7].payload  # byte for byte
    assert store.present([*ids[:3], "nobody"]) == set(ids[:3])


def test_concurrent_writers_count_every_delivery(db_url: str) -> None:
    """Two stores (as two replicas) post the same bodies at once: every POST counted exactly once."""
    stores = [open_store(db_url), open_store(db_url)]
    job = uuid.uuid4().hex
    results: list = []
    errors: list[BaseException] = []

    def write(store: CallbackStore) -> None:
        try:
            for i in range(30):
                batch = [parse_callback(body(job, variant=i % 3), time.time()) for _ in range(3)]
                results.extend(store.write_callbacks(batch))
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=write, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    try:
        assert errors == []
        assert sorted(r.deliveries for r in results) == list(range(1, 181))  # each total given once
        assert sum(not r.duplicate for r in results) == 3  # one first time per distinct body
        assert [r.deliveries for r in stores[0].get_callbacks([job])] == [180]
        assert sorted(d.count for d in stores[1].get_deliveries(job)) == [60, 60, 60]
    finally:
        for s in stores:
            s.close()


@pytest.mark.postgres
def test_postgres_pushes_what_another_replica_stored(postgres) -> None:
    url = postgres.create_database()
    store, other = open_store(url), open_store(url)
    store.ensure_schema()
    heard: list[str] = []
    got = threading.Event()

    def on_ids(ids: list[str]) -> None:
        heard.extend(ids)
        got.set()

    watch = store.watch(on_ids)
    assert watch is not None
    try:
        job = uuid.uuid4().hex
        deadline = time.monotonic() + 10
        while not got.is_set() and time.monotonic() < deadline:  # the LISTEN starts in its own thread
            other.write_callbacks([parse_callback(body(job), time.time())])
            got.wait(0.5)
        assert job in heard
    finally:
        watch.stop()
        store.close()
        other.close()


def test_jobs_and_purge(store: CallbackStore) -> None:
    key = uuid.uuid4().hex
    old, new = f"{key}-old", f"{key}-new"
    store.put_job(JobSubmission(old, kind="extract_frames", asset_id="re_1", key=key))
    store.write_callbacks([parse_callback(body(old), time.time() - 1000)])
    time.sleep(0.01)
    store.put_job(JobSubmission(new, kind="transcribe_video", asset_id="re_1", key=key))
    assert [(j.job_id, j.state) for j in store.find_jobs(key)] == [(new, "waiting"), (old, "delivered")]
    assert store.abandon_job(new).state == "abandoned"  # type: ignore[union-attr]
    counts = store.purge(time.time() - 500)
    assert counts.callbacks >= 1
    assert counts.deliveries >= 1
    assert store.get_callbacks([old]) == []
    assert store.get_job(old).state == "waiting"  # type: ignore[union-attr]  # its callback was purged


def terminate_other_connections(url: str) -> int:
    """End every other session on the database, as a PostgreSQL restart or failover would."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return len(
                conn.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).all()
            )
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("driver", ["psycopg", "psycopg2"])
def test_postgres_write_survives_its_connections_being_ended(postgres, driver: str) -> None:
    url = postgres.create_database(driver=driver)
    store = open_store(url)
    try:
        store.ensure_schema()
        assert store.write_callbacks([parse_callback(body("before"), time.time())])[0].deliveries == 1
        assert terminate_other_connections(url) >= 1
        time.sleep(0.2)  # the server's goodbye reaches the client socket
        # the first write after it succeeds: the ended connection is noticed and replaced, nothing is lost
        assert store.write_callbacks([parse_callback(body("after"), time.time())])[0].deliveries == 1
        assert [r.job_id for r in store.get_callbacks(["before", "after"])] == ["before", "after"]
    finally:
        store.close()
