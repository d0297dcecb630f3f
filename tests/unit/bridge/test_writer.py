"""The group-commit writer over a real SQLite store: batches, callers that go away, a store that fails."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from airflow_provider_mavi.bridge.intake import parse_callback
from airflow_provider_mavi.bridge.store import CallbackStore, IncomingCallback, WriteResult, open_store
from airflow_provider_mavi.bridge.writer import BatchWriter


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "bridge.sqlite3"


@pytest.fixture
def store(path: Path) -> Iterator[CallbackStore]:
    s = open_store(f"sqlite:///{path}")
    s.ensure_schema()
    yield s
    s.close()


def item(job: str, **extra: object) -> IncomingCallback:
    return parse_callback(json.dumps({"task_id": job, **extra}).encode(), time.time())


async def test_callbacks_that_arrive_together_are_committed_together(store: CallbackStore) -> None:
    batches: list[list[str]] = []
    writer = BatchWriter(store, lambda results, _at: batches.append([r.job_id for r in results]))
    writer.start()
    try:
        items = [item(f"job-{i}") for i in range(50)] + [item("job-0")]
        results = await asyncio.gather(*(writer.submit(i) for i in items))
    finally:
        await writer.stop()
    assert results[:2] == [WriteResult("job-0", False, 1), WriteResult("job-1", False, 1)]
    assert results[-1] == WriteResult("job-0", duplicate=True, deliveries=2)
    assert sorted(job for batch in batches for job in batch) == sorted(i.job_id for i in items)
    assert len(batches) < 10  # one commit for many callbacks, not one each
    assert len(store.get_callbacks([f"job-{i}" for i in range(50)])) == 50


async def test_a_caller_that_goes_away_still_gets_its_callback_stored(store: CallbackStore) -> None:
    writer = BatchWriter(store, lambda _results, _at: None)
    writer.start()
    try:
        gone = asyncio.ensure_future(writer.submit(item("gone")))
        await asyncio.sleep(0)  # queued
        gone.cancel()
        assert await writer.submit(item("stays")) == WriteResult("stays", False, 1)
    finally:
        await writer.stop()
    assert gone.cancelled()
    assert [r.job_id for r in store.get_callbacks(["gone", "stays"])] == ["gone", "stays"]


async def test_a_failing_store_fails_each_caller_and_the_writer_carries_on(
    store: CallbackStore, path: Path
) -> None:
    writer = BatchWriter(store, lambda _results, _at: None)
    writer.start()
    try:
        assert (await writer.submit(item("before"))).deliveries == 1
        with sqlite3.connect(path) as conn:
            conn.execute("DROP TABLE mavi_bridge_callbacks")
        outcomes = await asyncio.gather(
            *(writer.submit(item(f"lost-{i}")) for i in range(3)), return_exceptions=True
        )
        assert [type(o).__name__ for o in outcomes] == ["OperationalError"] * 3
        assert all("no such table: mavi_bridge_callbacks" in str(o) for o in outcomes)
        store.ensure_schema()  # the table is back: the same writer stores again
        assert await writer.submit(item("after")) == WriteResult("after", False, 1)
    finally:
        await writer.stop()
    assert [len(d) for d in (store.get_deliveries("before"), store.get_deliveries("lost-0"))] == [1, 0]
