"""The store on a real SQLite file: WAL mode, schema version, group writes, purge."""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa

from airflow_provider_mavi.bridge.intake import parse_callback
from airflow_provider_mavi.bridge.store import SCHEMA_VERSION, Store, StoreError


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'bridge.sqlite3'}")
    s.create()
    yield s
    s.dispose()


def callback(job: str, **extra) -> bytes:
    return json.dumps({"task_id": job, "code": 200, **extra}).encode()


def test_sqlite_file_in_wal_mode_with_a_schema_version(store: Store) -> None:
    with store.read_engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    assert store.schema_version() == SCHEMA_VERSION
    store.create()  # idempotent
    assert store.schema_version() == SCHEMA_VERSION


def test_newer_schema_is_refused(store: Store) -> None:
    with store.write_engine.begin() as conn:
        conn.execute(sa.text("UPDATE mavi_bridge_schema SET version = 99"))
    with pytest.raises(StoreError, match="schema version 99, newer than this bridge's 1: upgrade the bridge"):
        store.create()


def test_memory_and_unknown_backends_are_refused() -> None:
    with pytest.raises(StoreError, match="must be a file"):
        Store("sqlite://")
    with pytest.raises(StoreError, match="unsupported store 'mysql'"):
        Store("mysql://x/y")


def test_one_batch_with_duplicates_and_redeliveries(store: Store) -> None:
    now = time.time()
    items = [
        parse_callback(callback("a"), now),
        parse_callback(callback("b"), now),
        parse_callback(callback("a"), now),  # identical, same batch
        parse_callback(callback("a", extra=1), now),  # different body
    ]
    results = store.write_callbacks(items)
    assert [(r.job_id, r.duplicate, r.deliveries) for r in results] == [
        ("a", False, 1),
        ("b", False, 1),
        ("a", True, 2),
        ("a", False, 3),
    ]
    assert store.count_rows() == {"callbacks": 2, "deliveries": 3, "jobs": 0}
    assert store.get_callback("a")["payload"] == {"task_id": "a", "code": 200}
    assert [r["job_id"] for r in store.get_callbacks(["b", "a", "zz"])] == ["a", "b"]
    assert store.present(["a", "zz"]) == {"a"}


def test_purge_keeps_recent(store: Store) -> None:
    store.write_callbacks([parse_callback(callback("old"), time.time() - 100)])
    store.put_job("old", kind="extract_frames", asset_id="re_1", key="k")
    store.write_callbacks([parse_callback(callback("new"), time.time())])
    assert store.purge(time.time() - 50) == {"callbacks": 1, "deliveries": 1, "jobs": 0}
    assert store.get_callback("old") is None
    assert store.get_callback("new") is not None
    assert store.get_job("old")["state"] == "waiting"  # recorded just now; its callback was purged
