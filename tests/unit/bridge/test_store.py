"""The SQLite store on a real file in tmp_path, through the CallbackStore protocol; open_store URL checks."""

from __future__ import annotations

import json
import re
import sqlite3
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from airflow_provider_mavi.bridge.intake import parse_callback
from airflow_provider_mavi.bridge.store import (
    SCHEMA_VERSION,
    CallbackStore,
    JobSubmission,
    StoreError,
    open_store,
)
from airflow_provider_mavi.bridge.store.notify import MAX_PAYLOAD, notify_payloads
from airflow_provider_mavi.bridge.store.schema import ensure_schema


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "bridge.sqlite3"


@pytest.fixture
def store(path: Path):
    s = open_store(f"sqlite:///{path}")
    s.ensure_schema()
    yield s
    s.close()


def callback(job: str, **extra) -> bytes:
    return json.dumps({"task_id": job, "code": 200, **extra}).encode()


def stored_version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT version FROM mavi_bridge_schema").fetchone()[0]


def test_sqlite_file_in_wal_mode_with_full_sync_and_a_schema_version(
    store: CallbackStore, path: Path
) -> None:
    assert store.backend == "sqlite"
    with sqlite3.connect(path) as other:  # WAL is a property of the file
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with store.write_engine.connect() as conn:  # type: ignore[attr-defined]  # synchronous is per connection
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    assert stored_version(path) == SCHEMA_VERSION
    store.ensure_schema()  # idempotent
    assert stored_version(path) == SCHEMA_VERSION
    assert store.watch(lambda ids: None) is None  # no push between processes: the app's poll finds them


def test_newer_schema_is_refused_and_left_alone(store: CallbackStore, path: Path) -> None:
    store.write_callbacks([parse_callback(callback("kept"), time.time())])
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE mavi_bridge_schema SET version = 99")
    newer = f"schema version 99, newer than this bridge's {SCHEMA_VERSION}: upgrade the bridge"
    with pytest.raises(StoreError, match=newer):
        store.ensure_schema()
    assert stored_version(path) == 99
    assert [r.job_id for r in store.get_callbacks(["kept"])] == ["kept"]


def test_a_migration_step_upgrades_an_older_store_once(store: CallbackStore, path: Path) -> None:
    store.write_callbacks([parse_callback(callback("old"), time.time())])
    engine = sa.create_engine(f"sqlite:///{path}")
    calls: list[int] = []

    def add_note(conn: sa.Connection) -> None:
        calls.append(1)
        conn.exec_driver_sql("ALTER TABLE mavi_bridge_jobs ADD COLUMN note VARCHAR(250)")

    try:
        for _ in range(2):
            with engine.begin() as conn:
                ensure_schema(conn, version=SCHEMA_VERSION + 1, migrations={SCHEMA_VERSION + 1: add_note})
        missing = f"no migration to schema version {SCHEMA_VERSION + 2}"
        with engine.begin() as conn, pytest.raises(StoreError, match=missing):
            ensure_schema(conn, version=SCHEMA_VERSION + 2, migrations={})
    finally:
        engine.dispose()
    assert calls == [1]  # the second start found the new version and ran nothing
    assert stored_version(path) == SCHEMA_VERSION + 1
    with sqlite3.connect(path) as conn:
        assert "note" in [row[1] for row in conn.execute("PRAGMA table_info(mavi_bridge_jobs)")]
    assert [r.job_id for r in store.get_callbacks(["old"])] == ["old"]  # data kept


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite://", "the SQLite store must be a file"),
        ("sqlite:///:memory:", "the SQLite store must be a file"),
        ("mysql://x/y", "unsupported store 'mysql': use sqlite:/// or postgresql://"),
        ("not a url", "the store URL is not a URL"),
        ("postgresql+asyncpg://u@h/db", "unsupported PostgreSQL driver 'postgresql+asyncpg'"),
    ],
)
def test_unusable_urls_are_refused_with_the_reason(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=re.escape(message)):
        open_store(url)


@pytest.mark.parametrize(
    ("url", "driver"),
    [("postgresql://u@127.0.0.1/db", "psycopg"), ("postgresql+psycopg2://u@127.0.0.1/db", "psycopg2")],
)
def test_postgresql_uses_psycopg_3_unless_the_url_names_psycopg2(url: str, driver: str) -> None:
    store = open_store(url)  # engines connect lazily: nothing is contacted here
    try:
        assert store.backend == "postgresql"
        assert store.write_engine.dialect.driver == driver  # type: ignore[attr-defined]
    finally:
        store.close()


def test_one_batch_with_duplicates_and_redeliveries(store: CallbackStore) -> None:
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
    assert [json.loads(r.payload) for r in store.get_callbacks(["a"])] == [{"task_id": "a", "code": 200}]
    assert [r.job_id for r in store.get_callbacks(["b", "a", "zz", "a"])] == ["a", "b"]  # arrival order
    assert [(d.count, json.loads(d.payload).get("extra")) for d in store.get_deliveries("a")] == [
        (2, None),
        (1, 1),
    ]
    assert store.present(["a", "zz"]) == {"a"}
    records, cursor = store.list_callbacks(0, 10)
    assert [r.job_id for r in records] == ["a", "b"]
    assert store.list_callbacks(cursor, 10) == ([], cursor)


def test_jobs_are_recorded_found_and_abandoned(store: CallbackStore) -> None:
    first = store.put_job(JobSubmission("j1", kind="extract_frames", asset_id="re_1", key="k"))
    assert (first.state, first.key) == ("waiting", "k")
    time.sleep(0.01)
    again = store.put_job(JobSubmission("j1", kind="transcribe_video", asset_id="re_2", key="k"))
    assert (again.kind, again.asset_id, again.submitted_at) == (
        "transcribe_video",
        "re_2",
        first.submitted_at,
    )
    store.put_job(JobSubmission("j2", kind="extract_frames", asset_id="re_1", key="k"))
    assert [j.job_id for j in store.find_jobs("k")] == ["j2", "j1"]
    store.write_callbacks([parse_callback(callback("j1"), time.time())])
    assert store.get_job("j1").state == "delivered"  # type: ignore[union-attr]
    assert store.abandon_job("j1").state == "abandoned"  # type: ignore[union-attr]  # wins over delivered
    assert store.abandon_job("nobody") is None
    assert store.get_job("nobody") is None


def test_purge_keeps_recent(store: CallbackStore) -> None:
    store.write_callbacks([parse_callback(callback("old"), time.time() - 100)])
    store.put_job(JobSubmission("old", kind="extract_frames", asset_id="re_1", key="k"))
    store.write_callbacks([parse_callback(callback("new"), time.time())])
    counts = store.purge(time.time() - 50)
    assert (counts.callbacks, counts.deliveries, counts.jobs) == (1, 1, 0)
    assert store.get_callbacks(["old"]) == []
    assert [r.job_id for r in store.get_callbacks(["new"])] == ["new"]
    assert store.get_job("old").state == "waiting"  # type: ignore[union-attr]  # recorded just now


def test_a_missing_postgresql_driver_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if it were not installed
    with pytest.raises(StoreError, match=re.escape("pip install 'psycopg[binary]'")) as caught:
        open_store("postgresql://bridge:pw-not-shown@127.0.0.1/db")
    assert "postgresql+psycopg" in str(caught.value)
    assert "pw-not-shown" not in str(caught.value)


def test_notify_payloads_fit_postgresql_limit_and_keep_every_id_in_order() -> None:
    assert notify_payloads(["a", "b"]) == ['["a", "b"]']
    ids = [f"job-é-{i:04d}-" + "x" * 150 for i in range(200)]  # about 33 KB of JSON
    payloads = notify_payloads(ids)
    assert len(payloads) > 4
    assert all(len(p.encode()) <= MAX_PAYLOAD for p in payloads)
    assert [job for p in payloads for job in json.loads(p)] == ids
