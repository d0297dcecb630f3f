"""MaviBridgeHook against a real bridge: coalesced batch waits, errors, jobs, the blocking side, ids."""

from __future__ import annotations

import asyncio
import re
import time
import uuid

import httpx
import pytest

from airflow_provider_mavi.bridge.testing import BridgeServer
from airflow_provider_mavi.exceptions import MaviBridgeAuthError, MaviBridgeError, MaviBridgeUnavailableError
from airflow_provider_mavi.hooks.bridge import CallbackRecord, MaviBridgeHook
from airflow_provider_mavi.retry import RetryPolicy

WAIT_LINE = re.compile(r'127\.0\.0\.1:(\d+) - "POST /v1/callbacks/wait HTTP/1\.1"')
REQUEST_LINE = re.compile(r'"[A-Z]+ /\S* HTTP/1\.1"')
FAST = RetryPolicy(base_delay=0.05, max_delay=0.2)


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
        hook = MaviBridgeHook.from_url(bridge.url, bridge.token)
        waiters = [asyncio.create_task(hook.await_for(job, timeout=120)) for job in ids]
        await asyncio.sleep(1.0)
        client = await hook.shared_client()
        polls_while_waiting = client.batch_requests
        assert await _open_waits(bridge) == 1  # the bridge holds ONE long-poll for the 1,000 waiters
        await _post_callbacks(bridge, ids)
        results = await asyncio.gather(*waiters)
        total = client.batch_requests
        await hook.aclose()
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


def test_shared_client_is_per_event_loop_and_settings(logged_bridge: BridgeServer) -> None:
    async def get() -> list[object]:
        url, token = logged_bridge.url, logged_bridge.token
        hooks = [
            MaviBridgeHook.from_url(url, token),
            MaviBridgeHook.from_url(url + "/", token),
            MaviBridgeHook.from_url(url, "another-token-xxxxxxxx"),
            MaviBridgeHook.from_url(url, token, retry_policy=RetryPolicy(max_attempts=5)),
        ]
        return [await hook.shared_client() for hook in hooks]

    first = asyncio.run(get())
    second = asyncio.run(get())
    assert first[0] is first[1]
    assert first[0] is not first[2]
    assert first[0] is not first[3]
    assert first[0] is not second[0]


def test_async_calls(logged_bridge: BridgeServer) -> None:
    bridge = logged_bridge
    job = uuid.uuid4().hex

    async def scenario() -> None:
        hook = MaviBridgeHook.from_url(bridge.url, bridge.token)
        assert await hook.aget_callback(job) is None
        assert await hook.await_for(job, timeout=0.3) is None
        await hook.aput_job(job, kind="extract_frames", asset_id="re_9", key=f"key-{job}")
        assert (await hook.afind_job(f"key-{job}"))["job_id"] == job
        assert await hook.afind_job("no-such-key") is None
        waiting = asyncio.create_task(hook.await_for(job, timeout=30))
        await asyncio.sleep(0.2)
        async with httpx.AsyncClient() as sender:
            await sender.post(bridge.callback_url, json={"task_id": job, "code": 200})
        record = await waiting
        assert record == CallbackRecord(
            job_id=job, received_at=record.received_at, deliveries=1, payload={"task_id": job, "code": 200}
        )
        assert (await hook.aget_callback(job, wait=5)) == record
        assert (await hook.await_many([job, "other"], wait=1)) == [record]
        assert (await hook.acheck_job(job)).status == "success"
        seen, cursor = [], "0"
        while True:
            records, cursor = await hook.alist_callbacks(cursor, 1000)
            if not records:
                break
            seen.extend(r.job_id for r in records)
        assert job in seen
        assert (await hook.afind_job(f"key-{job}"))["state"] == "delivered"
        await hook.aabandon_job(job)
        assert (await hook.afind_job(f"key-{job}"))["state"] == "abandoned"
        await hook.aabandon_job("unknown-job")  # ignored
        await hook.aclose()

    asyncio.run(scenario())


def test_async_errors(logged_bridge: BridgeServer) -> None:
    async def scenario() -> None:
        bad = MaviBridgeHook.from_url(logged_bridge.url, "wrong-token-0123456789")
        with pytest.raises(MaviBridgeAuthError, match="refused the token") as refused:
            await bad.aget_callback("x")
        assert "wrong-token-0123456789" not in f"{refused.value!s} {refused.value!r} {bad!r}"
        with pytest.raises(MaviBridgeAuthError):
            await bad.await_for("x", timeout=5)
        await bad.aclose()
        down = MaviBridgeHook.from_url("http://127.0.0.1:9", logged_bridge.token, retry_policy=FAST)
        with pytest.raises(MaviBridgeUnavailableError, match="cannot reach the bridge"):
            await down.aget_callback("x")
        assert await down.await_for("x", timeout=1.5) is None  # retried with backoff until the timeout
        await down.aclose()
        wrong_path = MaviBridgeHook.from_url(logged_bridge.url + "/nope", logged_bridge.token)
        with pytest.raises(MaviBridgeError, match="is bridge_url right"):
            await wrong_path.aget_callback("x")
        await wrong_path.aclose()

    asyncio.run(scenario())


def test_blocking_calls(logged_bridge: BridgeServer) -> None:
    bridge = logged_bridge
    job = uuid.uuid4().hex
    with MaviBridgeHook.from_url(bridge.url, bridge.token) as hook:
        assert hook.get_callback(job) is None
        assert hook.wait_for(job, timeout=0.3) is None
        hook.put_job(job, kind="transcribe_audio", asset_id="re_2", key=f"k-{job}")
        assert hook.find_job(f"k-{job}")["state"] == "waiting"
        httpx.post(bridge.callback_url, json={"task_id": job, "code": 200})
        record = hook.wait_for(job, timeout=10)
        assert record is not None
        assert record.payload == {"task_id": job, "code": 200}
        assert hook.wait_many([job], wait=1) == [record]
        assert hook.find_job(f"k-{job}")["state"] == "delivered"
        hook.abandon_job(job)
        hook.abandon_job("unknown")
        seen, cursor = [], "0"
        while True:
            records, cursor = hook.list_callbacks(cursor, 1000)
            if not records:
                break
            seen.extend(r.job_id for r in records)
        assert job in seen
    with (
        MaviBridgeHook.from_url(bridge.url, "wrong-token-0123456789") as bad,
        pytest.raises(MaviBridgeAuthError),
    ):
        bad.get_callback(job)
    down = MaviBridgeHook.from_url("http://127.0.0.1:9", bridge.token, retry_policy=FAST)
    with down, pytest.raises(MaviBridgeUnavailableError):
        down.wait_for(job, timeout=0.2)


def test_blocking_wait_for_job_outcomes(logged_bridge: BridgeServer, kit) -> None:
    bridge = logged_bridge
    with MaviBridgeHook.from_url(bridge.url, bridge.token) as hook:
        ok, failed, late = kit.new_job_id(), kit.new_job_id(), kit.new_job_id()
        kit.post_callback(bridge, kit.frames_callback(ok))
        kit.post_callback(bridge, kit.failure_callback(failed, "Out of credits"))
        assert hook.wait_for_job(ok, time.time() + 10).status == "success"
        event = hook.wait_for_job(failed, time.time() + 10)
        assert (event.status, event.message) == ("failed", "Out of credits")
        started = time.monotonic()
        event = hook.wait_for_job(late, time.time() + 1.0)
        assert event.status == "timeout"
        assert 0.9 <= time.monotonic() - started < 10
        assert event.detail.bridge_url == bridge.url
        assert bridge.token not in str(event.to_json())


def test_waiters_arriving_one_by_one_keep_one_poll_open(logged_bridge: BridgeServer) -> None:
    bridge = logged_bridge
    ids = [uuid.uuid4().hex for _ in range(60)]

    async def scenario() -> tuple[list[float], int]:
        hook = MaviBridgeHook.from_url(bridge.url, bridge.token)
        seen: list[float] = []
        waiters = []
        async with httpx.AsyncClient() as probe:
            for job in ids:  # triggers starting one after another
                waiters.append(asyncio.create_task(hook.await_for(job, timeout=60)))
                await asyncio.sleep(0.03)
                seen.append(await _open_waits(bridge))
            for job in ids:
                await probe.post(bridge.callback_url, json={"task_id": job})
        results = await asyncio.gather(*waiters)
        assert all(r is not None for r in results)
        polls = (await hook.shared_client()).batch_requests
        await hook.aclose()
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
        hook = MaviBridgeHook.from_url(bridge.url, bridge.token)
        waiters = [asyncio.create_task(hook.await_for(job, timeout=120)) for job in ids]
        await asyncio.sleep(1.5)
        open_waits = await _open_waits(bridge)
        await _post_callbacks(bridge, ids[::-1])  # the last waiters first: they are past the first 5,000
        results = await asyncio.gather(*waiters)
        total = (await hook.shared_client()).batch_requests
        await hook.aclose()
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
        hook = MaviBridgeHook.from_url(bridge.url, bridge.token, batch_size=100, max_connections=8)
        client = await hook.shared_client()
        waiters = [asyncio.create_task(hook.await_for(job, timeout=60)) for job in ids]
        await asyncio.sleep(1.0)
        assert await _open_waits(bridge) == 4
        polls = client.batch_requests
        # every chunk is full and 4 polls are open: the newcomer grows the smallest chunk, one re-issue
        newcomer = uuid.uuid4().hex
        waiters.append(asyncio.create_task(hook.await_for(newcomer, timeout=60)))
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
        await hook.aclose()

    asyncio.run(scenario())


def test_batch_size_outside_the_bridge_cap_is_refused() -> None:
    with pytest.raises(ValueError, match="batch_size must be 1 to 5000, not 5001"):
        MaviBridgeHook.from_url("http://127.0.0.1:9", "token-0123456789", batch_size=5001)
    with pytest.raises(ValueError, match="batch_size must be 1 to 5000, not 0"):
        MaviBridgeHook.from_url("http://127.0.0.1:9", "token-0123456789", batch_size=0)


# ------------------------------------------------------------------------- ids as one path segment


@pytest.mark.parametrize("job_id", ["a?b=1", "a#frag", "a b", "%2e%2e", "ünï-cödé", "abandon", "wait", "..."])
def test_odd_but_valid_ids_reach_their_own_job(logged_bridge: BridgeServer, job_id: str) -> None:
    """Path and query characters are escaped into one segment: the id reaches its own record, no other."""
    with MaviBridgeHook.from_url(logged_bridge.url, logged_bridge.token) as hook:
        key = f"odd-{uuid.uuid4().hex}"
        hook.put_job(job_id, kind="extract_frames", asset_id="re_1", key=key)
        found = hook.find_job(key)
        assert found is not None
        assert found["job_id"] == job_id
        hook.abandon_job(job_id)
        assert hook.find_job(key)["state"] == "abandoned"
        assert hook.get_callback(job_id) is None


@pytest.mark.parametrize(
    "job_id", ["", ".", "..", "x/abandon", "../callbacks", "a\\b", "a\nb", "\x00", "j" * 201]
)
def test_ids_that_cannot_be_a_segment_send_nothing(logged_bridge: BridgeServer, job_id: str) -> None:
    before = len(REQUEST_LINE.findall(logged_bridge.output()))
    with MaviBridgeHook.from_url(logged_bridge.url, logged_bridge.token) as hook:
        for call in (
            lambda: hook.get_callback(job_id),
            lambda: hook.put_job(job_id, kind="extract_frames", asset_id="re_1"),
            lambda: hook.abandon_job(job_id),
            lambda: hook.wait_for_job(job_id, time.time() + 5),
        ):
            with pytest.raises(ValueError, match="job id"):
                call()
    time.sleep(0.2)
    assert len(REQUEST_LINE.findall(logged_bridge.output())) == before  # the bridge saw no request at all


def test_a_job_record_with_its_task_deadline_and_price(logged_bridge: BridgeServer) -> None:
    from airflow_provider_mavi.hooks.bridge import TaskRef

    bridge, job = logged_bridge, uuid.uuid4().hex
    with MaviBridgeHook.from_url(bridge.url, bridge.token) as hook:
        task = TaskRef(dag_id="video", run_id="manual__1", task_id="frames", map_index=2)
        hook.put_job(job, kind="extract_frames", asset_id="re_1", key=f"k-{job}", task=task, deadline=2e9)
        record = hook.find_job(f"k-{job}")
        assert (record["dag_id"], record["run_id"], record["task_id"], record["map_index"]) == (
            "video",
            "manual__1",
            "frames",
            2,
        )
        assert record["deadline"] == "2033-05-18T03:33:20.000+00:00"
        assert record["cost_usd"] is None
        hook.record_cost(job, 0.06)
        assert hook.find_job(f"k-{job}")["cost_usd"] == 0.06
        hook.record_cost(job, None)  # unknown after all: null, never a guess
        assert hook.find_job(f"k-{job}")["cost_usd"] is None
        hook.record_cost("unknown-job", 1.0)  # an unknown job is ignored
        with pytest.raises(MaviBridgeError, match="cost_usd must be a number"):
            hook.record_cost(job, -1.0)
