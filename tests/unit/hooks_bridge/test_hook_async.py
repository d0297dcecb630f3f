"""MaviBridgeHook, async side, over httpx.MockTransport: the loop's shared batch long-polls and the wait."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
import pytest

from airflow_provider_mavi.events import ERROR, SUCCESS, TIMEOUT, Reason
from airflow_provider_mavi.exceptions import MaviBridgeAuthError
from airflow_provider_mavi.hooks.bridge import MaviBridgeHook


async def settle(fake: Any, hook: MaviBridgeHook, seconds: float = 0.3) -> list[list[str]]:
    """Let the waiters join their chunks; the batch polls the fake saw since the last settle."""
    await asyncio.sleep(seconds)
    seen, fake.batches = fake.batches, []
    return seen


async def test_every_async_call_round_trips(fake_bridge: Any, kit: Any) -> None:
    job = kit.new_job_id()
    hook = fake_bridge.hook()
    assert await hook.aget_callback(job) is None
    await hook.aput_job(job, kind="extract_frames", asset_id="re_1", key="k1")
    assert (await hook.afind_job("k1"))["state"] == "waiting"
    fake_bridge.deliver(job, kit.frames_callback(job))
    assert (await hook.await_many([job], 1))[0].job_id == job
    assert (await hook.acheck_job(job)).status == SUCCESS
    await hook.aabandon_job(job)
    assert fake_bridge.jobs[job]["state"] == "abandoned"
    records, _ = await hook.alist_callbacks()
    assert [r.job_id for r in records] == [job]
    await hook.aclose()


@pytest.mark.parametrize(("waiters", "polls", "largest"), [(1, 1, 1), (1000, 1, 1000), (10_000, 4, 2500)])
async def test_waiters_share_few_batch_polls(
    fake_bridge: Any, waiters: int, polls: int, largest: int
) -> None:
    """1,000 waits = 1 long-poll; 10,000 = 4 of 2,500 (chunks grow once max_connections // 2 are open)."""
    hook = fake_bridge.hook()
    ids = [f"job-{i}" for i in range(waiters)]
    tasks = [asyncio.ensure_future(hook.await_for(job, 30)) for job in ids]
    await settle(fake_bridge, hook)
    client = await hook.shared_client()
    open_polls = [sorted(chunk.ids) for chunk in client._chunks]
    assert len(open_polls) == polls
    assert max(len(ids) for ids in open_polls) == largest
    assert sorted(j for chunk in open_polls for j in chunk) == sorted(ids)  # every waiter is polled
    for job in ids[-3:]:  # the last waiters are past the first chunk: they still get their callback
        fake_bridge.deliver(job, {"task_id": job, "code": 200})
    done = await asyncio.wait_for(asyncio.gather(*tasks[-3:]), 10)
    assert [r.job_id for r in done] == ids[-3:]
    for task in tasks[:-3]:
        task.cancel()
    await asyncio.gather(*tasks[:-3], return_exceptions=True)
    await hook.aclose()


async def test_a_callback_re_issues_only_its_chunk(fake_bridge: Any) -> None:
    hook = fake_bridge.hook(batch_size=100, max_connections=8)
    ids = [f"job-{i}" for i in range(400)]
    tasks = [asyncio.ensure_future(hook.await_for(job, 30)) for job in ids]
    assert len(await settle(fake_bridge, hook)) == 4
    fake_bridge.deliver(ids[250], {"task_id": ids[250]})
    assert (await tasks[250]).job_id == ids[250]
    (reissued,) = await settle(fake_bridge, hook)
    assert len(reissued) == 99  # only the served chunk polls again, without the served id
    assert ids[250] not in reissued
    for job in ids:
        fake_bridge.deliver(job, {"task_id": job})
    await asyncio.wait_for(asyncio.gather(*tasks), 10)
    await asyncio.sleep(0.1)
    assert (await hook.shared_client())._chunks == []  # emptied chunks end their polls
    await hook.aclose()


async def test_a_shared_poll_retries_while_the_bridge_is_down(
    fake_bridge: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    fake_bridge.script = [httpx.ConnectError("refused")] * 3 + [fake_bridge.answer(503)]
    hook = fake_bridge.hook()
    tasks = [asyncio.ensure_future(hook.await_for(f"job-{i}", 30)) for i in range(50)]
    await asyncio.sleep(0.5)
    fake_bridge.deliver("job-7", {"task_id": "job-7"})
    assert (await asyncio.wait_for(tasks[7], 10)).job_id == "job-7"
    retries = [r for r in caplog.records if "batch wait at" in r.getMessage()]
    assert len(retries) == 4  # one line per retry of the shared poll, not one per waiting task
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await hook.aclose()


async def test_a_refused_token_reaches_every_waiter(fake_bridge: Any) -> None:
    hook = MaviBridgeHook.from_url(
        fake_bridge.URL, "wrong-token-0123456789", transport=httpx.MockTransport(fake_bridge.handle)
    )
    tasks = [asyncio.ensure_future(hook.await_for(f"job-{i}", 30)) for i in range(5)]
    for result in await asyncio.gather(*tasks, return_exceptions=True):
        assert isinstance(result, MaviBridgeAuthError)
    event = await hook.await_for_job("job-1", time.time() + 30)
    assert (event.status, event.detail.reason) == (ERROR, Reason.TOKEN_REFUSED)
    await hook.aclose()


async def test_the_async_wait_has_the_same_outcomes(fake_bridge: Any, kit: Any) -> None:
    hook = fake_bridge.hook()
    ok, late, never = kit.new_job_id(), kit.new_job_id(), kit.new_job_id()
    fake_bridge.deliver(ok, kit.frames_callback(ok))
    assert (await hook.await_for_job(ok, time.time() + 5)).status == SUCCESS
    asyncio.get_running_loop().call_later(0.2, fake_bridge.deliver, late, kit.frames_callback(late))
    assert (await hook.await_for_job(late, time.time() + 5)).status == SUCCESS
    event = await hook.await_for_job(never, time.time() + 0.3)
    assert (event.status, event.detail.last_error) == (TIMEOUT, None)
    assert fake_bridge.requests[-1] == ("GET", f"/v1/callbacks/{never}")  # the final look
    fake_bridge.deliver(never, kit.frames_callback(never))
    assert (await hook.await_for_job(never, time.time() - 60)).status == SUCCESS
    await hook.aclose()


async def test_hooks_of_one_loop_share_one_client(fake_bridge: Any) -> None:
    transport = httpx.MockTransport(fake_bridge.handle)
    one = MaviBridgeHook.from_url(fake_bridge.URL, fake_bridge.token, transport=transport)
    two = MaviBridgeHook.from_url(fake_bridge.URL, fake_bridge.token, transport=transport)
    other = MaviBridgeHook.from_url(fake_bridge.URL, fake_bridge.token, transport=transport, batch_size=10)
    assert await one.shared_client() is await two.shared_client()
    assert await one.shared_client() is not await other.shared_client()
    client = await one.shared_client()
    await one.aclose()
    assert await two.shared_client() is not client  # closed clients are forgotten
    await two.aclose()
    await other.aclose()


def test_each_event_loop_has_its_own_client(fake_bridge: Any) -> None:
    hook = fake_bridge.hook()
    first = asyncio.run(hook.shared_client())
    second = asyncio.run(hook.shared_client())
    assert first is not second
