"""MaviCallbackEventTrigger against the real bridge (and, for the frames, the real emulator).

Both ways the triggerer runs it: ``run()`` (Airflow 3.1/3.2) and Airflow 3.3's shared stream in ack mode,
driven by Airflow's own ``SharedStreamManager`` exactly as the triggerer's runner drives it (subscribe,
``filter_shared_stream``, bind each event, confirm its persistence). The real triggerer and scheduler run
it in tests/e2e/test_event_driven.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import httpx
import pytest
from airflow.triggers.shared_stream import SharedStreamManager

from airflow_provider_mavi.callback_events import CallbackEvent
from airflow_provider_mavi.hooks.bridge import MaviBridgeHook
from airflow_provider_mavi.hooks.mavi import MaviHook
from airflow_provider_mavi.retry import RetryPolicy
from airflow_provider_mavi.triggers.mavi import MaviCallbackEventTrigger

FAST = RetryPolicy(base_delay=0.05, max_delay=0.2).to_json()


def consumer_name() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def position(bridge: Any, name: str) -> int | None:
    answer = httpx.get(f"{bridge.url}/v1/consumers/{name}", headers=bridge.headers, timeout=10)
    return None if answer.status_code == 404 else int(answer.json()["cursor"])


def trigger(name: str, **kwargs: Any) -> MaviCallbackEventTrigger:
    kwargs.setdefault("poll_wait", 2.0)
    return MaviCallbackEventTrigger(consumer=name, retry_policy=FAST, **kwargs)


class Triggerer:
    """Runs ``trigger.run()`` the way the triggerer does: pulls every event as soon as it is yielded (so the
    trigger goes on at once), queues it, and is stopped by cancelling the task (a shutdown or a crash)."""

    def __init__(self, trig: MaviCallbackEventTrigger) -> None:
        self.fired: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task = asyncio.ensure_future(self._drive(trig))

    async def _drive(self, trig: MaviCallbackEventTrigger) -> None:
        async for event in trig.run():
            self.fired.put_nowait(event.payload)

    async def take(self, count: int, timeout: float = 20) -> list[dict[str, Any]]:
        return [await asyncio.wait_for(self.fired.get(), timeout) for _ in range(count)]

    async def nothing_more(self, seconds: float) -> None:
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(self.fired.get(), seconds)

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


def frames(job_id: str, asset: str = "im_7") -> dict[str, Any]:
    return {
        "code": 200,
        "message": "SUCCESS",
        "data": {"asset_id": asset, "asset_ch_ids": [f"imc_{asset}_{i}" for i in range(3)]},
        "task_id": job_id,
    }


def failure(job_id: str) -> dict[str, Any]:
    return {
        "code": 500,
        "message": "decode failed",
        "data": {"success": False, "msg": "decode failed"},
        "task_id": job_id,
    }


def record_job(bridge: Any, job_id: str, kind: str) -> None:
    body = {"kind": kind, "asset_id": "re_1"}
    assert httpx.put(f"{bridge.url}/v1/jobs/{job_id}", json=body, headers=bridge.headers).status_code == 200


# -- run(): Airflow 3.1 / 3.2 -----------------------------------------------------------------------------


async def test_run_fires_matching_callbacks_once_each_with_kind_status_and_result(
    bridge: Any, mavi_conn: str, kit: Any
) -> None:
    name = consumer_name()
    triggerer = Triggerer(trigger(name, status="success", persist_grace=0.5))
    await asyncio.sleep(1.0)  # the consumer is created at "latest": older callbacks never fire
    jobs = [kit.new_job_id() for _ in range(4)]
    record_job(bridge, jobs[1], "transcribe_video")
    kit.post_callback(bridge, frames(jobs[0]))  # unknown to the bridge: recognised from its shape
    kit.post_callback(bridge, frames(jobs[0]))  # a duplicate POST: still one event
    kit.post_callback(bridge, kit.transcript_callback(jobs[1]))
    kit.post_callback(bridge, failure(jobs[2]))  # filtered out (status)
    kit.post_callback(bridge, {"code": 200, "message": "ok", "status": "processing", "task_id": jobs[3]})
    first, second = await triggerer.take(2)
    await triggerer.nothing_more(3.0)
    await triggerer.stop()
    assert (first["job_id"], first["kind"], first["kind_from"], first["status"]) == (
        jobs[0],
        "extract_frames",
        "callback",
        "success",
    )
    assert first["result"] == {
        "job_id": jobs[0],
        "frames_asset_id": "im_7",
        "frame_asset_ids": ["imc_im_7_0", "imc_im_7_1", "imc_im_7_2"],
        "frame_asset_ids_count": 3,
    }
    assert first["deliveries"] in (1, 2)  # as counted when it was read; the repeat fired nothing
    assert (second["job_id"], second["kind"], second["kind_from"]) == (jobs[1], "transcribe_video", "bridge")
    assert second["result"]["segments_count"] == 2
    assert second["result"]["model"] == "gemini-2.5-flash-lite"
    assert CallbackEvent.from_json(second).cursor == second["cursor"]
    # every record handled, fired or not, more than persist_grace ago: the consumer is past all of them
    assert position(bridge, name) >= int(second["cursor"])


async def test_a_restarted_run_resumes_where_the_consumer_is(bridge: Any, mavi_conn: str, kit: Any) -> None:
    name = consumer_name()
    triggerer = Triggerer(trigger(name, kinds=["extract_frames"], persist_grace=0.3))
    await asyncio.sleep(1.0)
    before = kit.new_job_id()
    kit.post_callback(bridge, frames(before))
    (fired,) = await triggerer.take(1)
    assert fired["job_id"] == before
    await eventually(lambda: position(bridge, name) == int(fired["cursor"]))  # moved once past the grace
    await triggerer.stop()  # the triggerer stops
    while_down = [kit.new_job_id(), kit.new_job_id()]
    for job in while_down:
        kit.post_callback(bridge, frames(job))
    restarted = Triggerer(trigger(name, kinds=["extract_frames"], persist_grace=0.3))
    fired_after = await restarted.take(2)
    await restarted.nothing_more(2.0)
    await restarted.stop()
    assert [event["job_id"] for event in fired_after] == while_down  # the one before fired once, not again


async def test_a_crash_before_the_grace_fires_the_callback_again_once(
    bridge: Any, mavi_conn: str, kit: Any
) -> None:
    name = consumer_name()
    triggerer = Triggerer(trigger(name, persist_grace=60))
    await asyncio.sleep(1.0)
    job = kit.new_job_id()
    kit.post_callback(bridge, frames(job))
    assert [e["job_id"] for e in await triggerer.take(1)] == [job]
    await triggerer.stop()  # dies right after firing: its asset event may not be persisted yet
    again = Triggerer(trigger(name, persist_grace=0.2))
    (refired,) = await again.take(1)
    assert refired["job_id"] == job  # not lost: fired again (the one duplicate)
    await eventually(lambda: position(bridge, name) == int(refired["cursor"]))
    await again.stop()
    third = Triggerer(trigger(name, persist_grace=0.2))
    await third.nothing_more(3.0)  # once committed, never again
    await third.stop()


async def test_earliest_reads_what_the_bridge_already_holds(bridge: Any, mavi_conn: str, kit: Any) -> None:
    job = kit.new_job_id()
    kit.post_callback(bridge, frames(job))
    triggerer = Triggerer(trigger(consumer_name(), job_id_prefix=job[:16], start="earliest"))
    assert [e["job_id"] for e in await triggerer.take(1)] == [job]
    await triggerer.stop()


async def test_the_bridge_going_away_is_waited_out(mavi_conn: str, kit: Any, bridge: Any) -> None:
    triggerer = Triggerer(trigger(consumer_name(), persist_grace=0.2))
    await asyncio.sleep(1.0)
    bridge.kill()
    await asyncio.sleep(1.5)  # long-polls fail and are retried
    await asyncio.to_thread(bridge.restart)
    job = kit.new_job_id()
    kit.post_callback(bridge, frames(job))
    assert [e["job_id"] for e in await triggerer.take(1, timeout=30)] == [job]
    await triggerer.stop()


# -- Airflow 3.3: the shared stream in ack mode ------------------------------------------------------------


class Runner:
    """What the triggerer's runner does with an event trigger of a shared stream: subscribe it, iterate its
    ``filter_shared_stream`` at once (which closes each raw event's window), bind every event it yields to
    a persistence seq, and confirm the seqs once the supervisor stored the events (:meth:`persisted`)."""

    def __init__(self, manager: SharedStreamManager, trig: MaviCallbackEventTrigger, trigger_id: int) -> None:
        self.manager, self.trigger_id = manager, trigger_id
        self.key = trig.shared_stream_key()
        stream = manager.subscribe(trigger_id=trigger_id, trigger=trig, key=self.key)
        self.fired: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.unconfirmed: list[int] = []
        self.task = asyncio.ensure_future(self._drive(trig.filter_shared_stream(stream)))

    async def _drive(self, events: Any) -> None:
        async for event in events:
            seq = self.manager.bind_pending_event(trigger_id=self.trigger_id, key=self.key)
            assert seq is not None  # ack mode: the event is gated on its persistence
            self.unconfirmed.append(seq)
            self.fired.put_nowait(event.payload)

    async def next(self, timeout: float = 20) -> dict[str, Any]:
        return await asyncio.wait_for(self.fired.get(), timeout)

    def persisted(self) -> None:
        """The supervisor stored the events: the next state sync confirms them."""
        self.manager.confirm_persisted(self.unconfirmed)
        self.unconfirmed = []

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.manager.unsubscribe(self.trigger_id, self.key)


async def eventually(check: Any, timeout: float = 10) -> None:
    for _ in range(int(timeout / 0.1)):
        if check():
            return
        await asyncio.sleep(0.1)
    assert check()


async def test_ack_mode_moves_the_consumer_only_once_events_are_persisted(
    bridge: Any, mavi_conn: str, kit: Any
) -> None:
    name = consumer_name()
    manager = SharedStreamManager()
    runner = Runner(manager, trigger(name, kinds=["extract_frames"]), 1)
    pending = asyncio.ensure_future(runner.next())
    await eventually(lambda: position(bridge, name) is not None)
    start = position(bridge, name)
    job = kit.new_job_id()
    kit.post_callback(bridge, frames(job))
    fired = await pending
    assert fired["job_id"] == job
    await asyncio.sleep(2.0)
    assert position(bridge, name) == start  # fired, not persisted: the consumer has not moved
    runner.persisted()
    await eventually(lambda: position(bridge, name) == int(fired["cursor"]))
    await runner.stop()
    await manager.stop_all()


async def test_ack_mode_a_crash_before_persistence_refires_and_two_triggers_share_a_consumer(
    bridge: Any, mavi_conn: str, kit: Any
) -> None:
    name = consumer_name()
    manager = SharedStreamManager()
    frames_only = Runner(manager, trigger(name, kinds=["extract_frames"]), 1)
    failures = Runner(manager, trigger(name, status="failed"), 2)  # same consumer: same stream
    pending = asyncio.ensure_future(frames_only.next())
    await eventually(lambda: position(bridge, name) is not None)
    good, bad = kit.new_job_id(), kit.new_job_id()
    kit.post_callback(bridge, frames(good))
    kit.post_callback(bridge, failure(bad))
    fired_good = await pending
    assert fired_good["job_id"] == good
    assert (await failures.next())["job_id"] == bad
    frames_only.persisted()  # only the first trigger's event is stored when the triggerer dies
    await eventually(lambda: position(bridge, name) == int(fired_good["cursor"]))
    await asyncio.sleep(1.0)
    await frames_only.stop()
    await failures.stop()
    await manager.stop_all()  # the crash
    committed = position(bridge, name)
    # the restarted triggerer: the failure's event was never confirmed, so it comes again
    manager = SharedStreamManager()
    again = Runner(manager, trigger(name, status="failed"), 3)
    refired = await again.next()
    assert refired["job_id"] == bad
    assert committed is not None
    assert committed < int(refired["cursor"])
    await again.stop()
    await manager.stop_all()


# -- a job submitted outside Airflow, the emulator posting its callback -------------------------------------


async def test_a_job_submitted_by_a_script_fires_with_its_frame_group(
    wired: Any, bridge: Any, sample_video: Any
) -> None:
    triggerer = Triggerer(trigger(consumer_name(), kinds=["extract_frames"], status="success"))
    await asyncio.sleep(1.0)

    def submit() -> str:  # what a script does: no Airflow task, no job record in the bridge
        hook = MaviHook()
        asset = hook.upload_file(str(sample_video))
        hook.wait_for_asset_ready(asset, timeout=60, poll_interval=0.2)
        return hook.extract_frames(asset)

    job_id = await asyncio.to_thread(submit)
    (fired,) = await triggerer.take(1, timeout=60)
    await triggerer.nothing_more(2.0)
    await triggerer.stop()
    assert fired["job_id"] == job_id
    assert (fired["kind"], fired["kind_from"], fired["status"]) == ("extract_frames", "callback", "success")
    assert fired["result"]["frames_asset_id"].startswith("im_")
    stored = MaviBridgeHook().get_callback(job_id)
    assert stored is not None
    assert stored.payload["data"]["asset_id"] == fired["result"]["frames_asset_id"]
