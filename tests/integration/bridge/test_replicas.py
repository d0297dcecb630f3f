"""Two bridge replicas on one PostgreSQL database, as behind a load balancer."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest

from airflow_provider_mavi.bridge.store import open_store
from airflow_provider_mavi.bridge.testing import BridgeServer, PostgresServer

pytestmark = pytest.mark.postgres


@pytest.fixture
def replicas(postgres: PostgresServer) -> Iterator[tuple[BridgeServer, BridgeServer]]:
    url = postgres.create_database(driver="psycopg2")  # the contract tests use psycopg 3
    a = BridgeServer(db_url=url)
    b = BridgeServer(db_url=url, secret=a.secret, token=a.token)
    # start both at once: table creation must be safe when replicas race
    started = [threading.Thread(target=s.start) for s in (a, b)]
    for t in started:
        t.start()
    for t in started:
        t.join(60)
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def test_waiter_on_one_replica_wakes_for_a_callback_on_the_other(replicas) -> None:
    a, b = replicas
    job_id = uuid.uuid4().hex
    result: dict = {}

    def wait_on_b() -> None:
        started = time.monotonic()
        answer = httpx.post(
            f"{b.url}/v1/callbacks/wait",
            json={"job_ids": [job_id], "wait": 30},
            headers=b.headers,
            timeout=60,
        )
        result.update(body=answer.json(), took=time.monotonic() - started)

    thread = threading.Thread(target=wait_on_b)
    thread.start()
    time.sleep(0.5)
    assert httpx.post(a.callback_url, json={"task_id": job_id, "code": 200}).status_code == 200
    thread.join(40)
    assert [r["job_id"] for r in result["body"]["callbacks"]] == [job_id]
    assert result["took"] < 30  # woken by the other replica's callback, not by the end of the wait


def test_same_callback_on_both_replicas_is_one_record(replicas) -> None:
    a, b = replicas
    job_id = uuid.uuid4().hex
    body = json.dumps({"task_id": job_id, "code": 200, "data": {"asset_id": "im_1"}}).encode()
    answers: list[int] = []

    def send(server: BridgeServer) -> None:
        for _ in range(10):
            answers.append(httpx.post(server.callback_url, content=body).status_code)

    threads = [threading.Thread(target=send, args=(s,)) for s in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert answers == [200] * 20
    store = open_store(a.db_url)
    try:
        assert [r.deliveries for r in store.get_callbacks([job_id])] == [20]
        assert [d.count for d in store.get_deliveries(job_id)] == [20]
    finally:
        store.close()
    for server in (a, b):
        record = httpx.get(f"{server.url}/v1/callbacks/{job_id}", headers=server.headers).json()
        assert record["deliveries"] == 20


@pytest.mark.parametrize("driver", ["psycopg", "psycopg2"])
def test_notify_wakes_the_other_replica_without_waiting_for_its_poll(
    postgres: PostgresServer, driver: str
) -> None:
    url = postgres.create_database(driver=driver)
    with (
        BridgeServer(db_url=url, poll_interval=300) as a,
        BridgeServer(db_url=url, secret=a.secret, token=a.token, poll_interval=300) as b,
    ):
        for _ in range(3):
            job_id = uuid.uuid4().hex
            result: dict = {}

            def wait_on_b(job: str = job_id, out: dict = result) -> None:
                answer = httpx.get(
                    f"{b.url}/v1/callbacks/{job}", params={"wait": 20}, headers=b.headers, timeout=40
                )
                out["status"] = answer.status_code

            thread = threading.Thread(target=wait_on_b)
            thread.start()
            time.sleep(0.5)
            assert httpx.post(a.callback_url, json={"task_id": job_id}).status_code == 200
            thread.join(30)
            # the store poll runs every 300 s here: only the NOTIFY can have answered within the 20 s wait
            assert result["status"] == 200
