"""The bridge clients against a real bridge: coalesced batch waits, errors, jobs; the blocking twin."""

from __future__ import annotations

import asyncio
import re
import uuid

import httpx
import pytest

from airflow_provider_mavi.bridge.client import (
    AsyncBridgeClient,
    BridgeAuthError,
    BridgeClient,
    BridgeError,
    BridgeUnavailableError,
    CallbackRecord,
)
from airflow_provider_mavi.bridge.testing import BridgeServer

WAIT_LINE = re.compile(r'127\.0\.0\.1:(\d+) - "POST /v1/callbacks/wait HTTP/1\.1"')


@pytest.fixture(scope="module")
def logged_bridge(tmp_path_factory: pytest.TempPathFactory):
    """A SQLite bridge with its access log on, so the test can count requests and client sockets."""
    db = tmp_path_factory.mktemp("client") / "bridge.sqlite3"
    with BridgeServer(db_url=f"sqlite:///{db}", access_log=True) as server:
        yield server


def test_thousand_waiters_share_one_long_poll_and_few_sockets(logged_bridge: BridgeServer) -> None:
    bridge = logged_bridge
    ids = [uuid.uuid4().hex for _ in range(1000)]
    before = len(WAIT_LINE.findall(bridge.output()))

    async def scenario() -> tuple[list[CallbackRecord | None], int, int]:
        client = AsyncBridgeClient.shared(bridge.url, bridge.token)
        waiters = [asyncio.create_task(client.wait_for(job, timeout=120)) for job in ids]
        await asyncio.sleep(1.0)
        polls_while_waiting = client.batch_requests
        async with httpx.AsyncClient() as probe:
            metrics = (await probe.get(f"{bridge.url}/metrics")).text
        open_waits = float(re.search(r"^mavi_bridge_open_waits (\S+)$", metrics, re.M).group(1))
        assert open_waits == 1  # the bridge holds ONE long-poll for the 1,000 waiters
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=16)) as sender:
            for start in range(0, len(ids), 16):
                answers = await asyncio.gather(
                    *(
                        sender.post(bridge.callback_url, json={"task_id": j, "code": 200})
                        for j in ids[start : start + 16]
                    )
                )
                assert all(a.status_code == 200 for a in answers)
        results = await asyncio.gather(*waiters)
        total = client.batch_requests
        await client.aclose()
        return results, polls_while_waiting, total

    results, polls_while_waiting, total = asyncio.run(scenario())
    assert [r.job_id if r else None for r in results] == ids
    assert polls_while_waiting <= 3  # 1,000 waiters, one long-poll (not 1,000 requests)
    lines = WAIT_LINE.findall(bridge.output())[before:]
    sockets = set(lines)
    print(f"1000 waiters: {total} batch polls in all, over {len(sockets)} sockets")
    assert len(lines) <= total  # a poll cancelled to add new ids gets no access-log line
    assert total <= len(ids)  # every answered poll carried at least one callback
    assert len(sockets) <= 10


def test_shared_client_is_per_event_loop(logged_bridge: BridgeServer) -> None:
    async def get() -> tuple[AsyncBridgeClient, AsyncBridgeClient, AsyncBridgeClient]:
        one = AsyncBridgeClient.shared(logged_bridge.url, logged_bridge.token)
        two = AsyncBridgeClient.shared(logged_bridge.url + "/", logged_bridge.token)
        other = AsyncBridgeClient.shared(logged_bridge.url, "another-token-xxxxxxxx")
        return one, two, other

    first = asyncio.run(get())
    second = asyncio.run(get())
    assert first[0] is first[1]
    assert first[0] is not first[2]
    assert first[0] is not second[0]


def test_async_client_calls(logged_bridge: BridgeServer) -> None:
    bridge = logged_bridge
    job = uuid.uuid4().hex

    async def scenario() -> None:
        client = AsyncBridgeClient.shared(bridge.url, bridge.token)
        assert await client.get_callback(job) is None
        assert await client.wait_for(job, timeout=0.3) is None
        await client.put_job(job, kind="extract_frames", asset_id="re_9", key=f"key-{job}")
        assert (await client.find_job(f"key-{job}"))["job_id"] == job
        assert await client.find_job("no-such-key") is None
        waiting = asyncio.create_task(client.wait_for(job, timeout=30))
        await asyncio.sleep(0.2)
        async with httpx.AsyncClient() as sender:
            await sender.post(bridge.callback_url, json={"task_id": job, "code": 200})
        record = await waiting
        assert record == CallbackRecord(
            job_id=job, received_at=record.received_at, deliveries=1, payload={"task_id": job, "code": 200}
        )
        assert (await client.get_callback(job, wait=5)) == record
        assert (await client.wait_many([job, "other"], wait=1)) == [record]
        seen, cursor = [], "0"
        while True:
            records, cursor = await client.list_callbacks(cursor, 1000)
            if not records:
                break
            seen.extend(r.job_id for r in records)
        assert job in seen
        assert (await client.find_job(f"key-{job}"))["state"] == "delivered"
        await client.abandon_job(job)
        assert (await client.find_job(f"key-{job}"))["state"] == "abandoned"
        await client.abandon_job("unknown-job")  # ignored
        await client.aclose()

    asyncio.run(scenario())


def test_async_client_errors(logged_bridge: BridgeServer) -> None:
    async def scenario() -> None:
        bad = AsyncBridgeClient(logged_bridge.url, "wrong-token-0123456789")
        with pytest.raises(BridgeAuthError, match="refused the token") as refused:
            await bad.get_callback("x")
        assert "wrong-token-0123456789" not in f"{refused.value!s} {refused.value!r} {bad!r}"
        with pytest.raises(BridgeAuthError):
            await bad.wait_for("x", timeout=5)
        await bad.aclose()
        down = AsyncBridgeClient("http://127.0.0.1:9", logged_bridge.token)
        with pytest.raises(BridgeUnavailableError, match="cannot reach the bridge"):
            await down.get_callback("x")
        assert await down.wait_for("x", timeout=1.5) is None  # retried with backoff until the timeout
        await down.aclose()
        wrong_path = AsyncBridgeClient(logged_bridge.url + "/nope", logged_bridge.token)
        with pytest.raises(BridgeError, match="is bridge_url right"):
            await wrong_path.get_callback("x")
        await wrong_path.aclose()

    asyncio.run(scenario())


def test_blocking_client(logged_bridge: BridgeServer) -> None:
    bridge = logged_bridge
    job = uuid.uuid4().hex
    with BridgeClient(bridge.url, bridge.token) as client:
        assert client.get_callback(job) is None
        assert client.wait_for(job, timeout=0.3) is None
        client.put_job(job, kind="transcribe_audio", asset_id="re_2", key=f"k-{job}")
        assert client.find_job(f"k-{job}")["state"] == "waiting"
        httpx.post(bridge.callback_url, json={"task_id": job, "code": 200})
        record = client.wait_for(job, timeout=10)
        assert record is not None
        assert record.payload == {"task_id": job, "code": 200}
        assert client.find_job(f"k-{job}")["state"] == "delivered"
        client.abandon_job(job)
        client.abandon_job("unknown")
        seen, cursor = [], "0"
        while True:
            records, cursor = client.list_callbacks(cursor, 1000)
            if not records:
                break
            seen.extend(r.job_id for r in records)
        assert job in seen
    with BridgeClient(bridge.url, "wrong-token-0123456789") as bad, pytest.raises(BridgeAuthError):
        bad.get_callback(job)
    with BridgeClient("http://127.0.0.1:9", bridge.token) as down, pytest.raises(BridgeUnavailableError):
        down.wait_for(job, timeout=0.2)


def test_waiters_arriving_one_by_one_keep_one_poll_open(logged_bridge: BridgeServer) -> None:
    bridge = logged_bridge
    ids = [uuid.uuid4().hex for _ in range(60)]

    async def scenario() -> tuple[list[float], int]:
        client = AsyncBridgeClient(bridge.url, bridge.token)
        seen: list[float] = []
        waiters = []
        async with httpx.AsyncClient() as probe:
            for job in ids:  # triggers starting one after another
                waiters.append(asyncio.create_task(client.wait_for(job, timeout=60)))
                await asyncio.sleep(0.03)
                metrics = (await probe.get(f"{bridge.url}/metrics")).text
                seen.append(float(re.search(r"^mavi_bridge_open_waits (\S+)$", metrics, re.M).group(1)))
            for job in ids:
                await probe.post(bridge.callback_url, json={"task_id": job})
        results = await asyncio.gather(*waiters)
        assert all(r is not None for r in results)
        polls = client.batch_requests
        await client.aclose()
        return seen, polls

    seen, polls = asyncio.run(scenario())
    print(
        f"60 waiters arriving every 30 ms: at most {max(seen):.0f} polls open on the bridge, {polls} in all"
    )
    assert max(seen) <= 2  # the replaced poll may linger a moment before the bridge sees its disconnect


async def _open_waits(bridge: BridgeServer) -> float:
    async with httpx.AsyncClient() as probe:
        metrics = (await probe.get(f"{bridge.url}/metrics")).text
    return float(re.search(r"^mavi_bridge_open_waits (\S+)$", metrics, re.M).group(1))


async def _post_callbacks(bridge: BridgeServer, ids: list[str]) -> None:
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=16)) as sender:
        for start in range(0, len(ids), 16):
            answers = await asyncio.gather(
                *(
                    sender.post(bridge.callback_url, json={"task_id": j, "code": 200})
                    for j in ids[start : start + 16]
                )
            )
            assert all(a.status_code == 200 for a in answers)


def test_more_waiters_than_one_batch_are_all_polled(logged_bridge: BridgeServer) -> None:
    """6,000 waiters (the bridge takes 5,000 ids per poll): every one gets its callback, over few polls."""
    bridge = logged_bridge
    ids = [uuid.uuid4().hex for _ in range(6000)]
    before = len(WAIT_LINE.findall(bridge.output()))

    async def scenario() -> tuple[list[CallbackRecord | None], float, int]:
        client = AsyncBridgeClient.shared(bridge.url, bridge.token)
        waiters = [asyncio.create_task(client.wait_for(job, timeout=120)) for job in ids]
        await asyncio.sleep(1.5)
        open_waits = await _open_waits(bridge)
        await _post_callbacks(bridge, ids[::-1])  # the last waiters first: they are past the first 5,000
        results = await asyncio.gather(*waiters)
        total = client.batch_requests
        await client.aclose()
        return results, open_waits, total

    results, open_waits, total = asyncio.run(scenario())
    assert [r.job_id if r else None for r in results] == ids
    lines = WAIT_LINE.findall(bridge.output())[before:]
    print(f"6000 waiters: {open_waits:.0f} polls open, {total} in all, over {len(set(lines))} sockets")
    assert 2 <= open_waits <= 4  # chunks of at most 5,000 ids, at most max_connections // 2 polls
    assert len(set(lines)) <= 8


def test_a_newcomer_re_issues_only_its_chunk(logged_bridge: BridgeServer) -> None:
    """Chunks of 100 ids, 4 polls (max_connections 8): one waiter joining or served re-issues one poll."""
    bridge = logged_bridge
    ids = [uuid.uuid4().hex for _ in range(400)]

    async def scenario() -> None:
        client = AsyncBridgeClient(bridge.url, bridge.token, batch_size=100, max_connections=8)
        waiters = [asyncio.create_task(client.wait_for(job, timeout=60)) for job in ids]
        await asyncio.sleep(1.0)
        assert await _open_waits(bridge) == 4
        polls = client.batch_requests
        # every chunk is full and 4 polls are open: the newcomer grows the smallest chunk, one re-issue
        newcomer = uuid.uuid4().hex
        waiters.append(asyncio.create_task(client.wait_for(newcomer, timeout=60)))
        await asyncio.sleep(0.5)
        assert client.batch_requests == polls + 1
        assert await _open_waits(bridge) == 4
        await _post_callbacks(bridge, [ids[250]])  # one callback: its chunk's poll answers and is re-issued
        assert (await waiters[250]).job_id == ids[250]
        await asyncio.sleep(0.3)
        assert client.batch_requests == polls + 2
        await _post_callbacks(bridge, [newcomer, *ids[:250], *ids[251:]])
        results = await asyncio.gather(*waiters)
        assert [r.job_id if r else None for r in results] == [*ids, newcomer]
        await asyncio.sleep(0.3)
        assert await _open_waits(bridge) == 0  # emptied chunks end their polls
        await client.aclose()

    asyncio.run(scenario())


def test_batch_size_outside_the_bridge_cap_is_refused() -> None:
    with pytest.raises(ValueError, match="batch_size must be 1 to 5000, not 5001"):
        AsyncBridgeClient("http://127.0.0.1:9", "token-0123456789", batch_size=5001)
    with pytest.raises(ValueError, match="batch_size must be 1 to 5000, not 0"):
        AsyncBridgeClient("http://127.0.0.1:9", "token-0123456789", batch_size=0)
