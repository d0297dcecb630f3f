"""A burst of callbacks while the bridge is SIGKILLed and restarted: every callback that got a 200 is kept."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest

from airflow_provider_mavi.bridge.store import open_store
from airflow_provider_mavi.bridge.testing import BridgeServer

pytestmark = pytest.mark.slow

TOTAL = 2400
CONCURRENCY = 32
KILL_AFTER = (400, 1400)


def body_for(job_id: str) -> bytes:
    return json.dumps(
        {"code": 200, "message": "SUCCESS", "data": {"asset_id": f"im_{job_id}"}, "task_id": job_id}
    ).encode()


async def burst(server: BridgeServer) -> tuple[set[str], int]:
    """Send TOTAL callbacks (retrying like Mavi) while killing the bridge twice; return the acked ids."""
    ids = [uuid.uuid4().hex for _ in range(TOTAL)]
    queue: asyncio.Queue[str] = asyncio.Queue()
    for job in ids:
        queue.put_nowait(job)
    acked: set[str] = set()
    failures = 0
    kills_done = asyncio.Event()

    async def killer() -> None:
        for threshold in KILL_AFTER:
            while len(acked) < threshold:  # noqa: ASYNC110 (polling a plain set is the point)
                await asyncio.sleep(0.005)
            await asyncio.to_thread(server.kill)
            await asyncio.sleep(0.2)
            await asyncio.to_thread(server.start)
        kills_done.set()

    async def sender(client: httpx.AsyncClient) -> None:
        nonlocal failures
        while True:
            try:
                job = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            while True:
                try:
                    answer = await client.post(server.callback_url, content=body_for(job))
                    if answer.status_code == 200:
                        acked.add(job)
                        break
                except httpx.HTTPError:
                    pass
                failures += 1
                await asyncio.sleep(0.05)

    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(10.0)) as client:
        kill_task = asyncio.create_task(killer())
        await asyncio.gather(*(sender(client) for _ in range(CONCURRENCY)))
        await asyncio.wait_for(kills_done.wait(), 60)
        await kill_task
    assert acked == set(ids)
    return acked, failures


def test_sigkill_during_burst_loses_no_acknowledged_callback(db_url: str) -> None:
    with BridgeServer(db_url=db_url) as server:
        acked, failures = asyncio.run(burst(server))
        print(
            f"{len(acked)} callbacks acknowledged, {failures} sends failed and were retried across 2 SIGKILLs"
        )
        assert failures > 0  # the kills did interrupt the burst
        server.restart()
        store = open_store(server.db_url)
        try:
            records = {r.job_id: r for r in store.get_callbacks(sorted(acked))}
        finally:
            store.close()
        assert set(records) == acked
        for job, record in records.items():
            assert json.loads(record.payload) == json.loads(body_for(job))
            assert record.deliveries >= 1
        # and the API serves them after the restarts
        answer = httpx.post(
            f"{server.url}/v1/callbacks/wait",
            json={"job_ids": sorted(acked)[:1000], "wait": 0},
            headers=server.headers,
            timeout=30,
        )
        assert len(answer.json()["callbacks"]) == 1000
