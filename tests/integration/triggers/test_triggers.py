"""MaviJobCallbackTrigger and MaviAssetReadyTrigger against a real bridge (and the emulator for assets)."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from typing import Any

import pytest
from airflow.sdk import BaseHook
from airflow.sdk.module_loading import import_string
from airflow.triggers.base import BaseTrigger

from airflow_provider_mavi.bridge.testing import BridgeServer, free_port
from airflow_provider_mavi.hooks.bridge import MaviBridgeHook
from airflow_provider_mavi.hooks.bridge_batch import LoopClient
from airflow_provider_mavi.triggers.mavi import MaviAssetReadyTrigger, MaviJobCallbackTrigger


async def run_to_end(trigger: BaseTrigger, timeout: float = 60) -> list[dict[str, Any]]:
    """Every event the trigger yields until its generator ends (it must end by itself)."""

    async def collect() -> list[dict[str, Any]]:
        return [event.payload async for event in trigger.run()]

    return await asyncio.wait_for(collect(), timeout)


def rebuild(trigger: BaseTrigger) -> BaseTrigger:
    """Re-create a trigger the way the triggerer does: class path + JSON kwargs."""
    classpath, kwargs = trigger.serialize()
    kwargs = json.loads(json.dumps(kwargs))  # JSON primitives only, or this raises
    return import_string(classpath)(**kwargs)


def with_clock(monkeypatch: pytest.MonkeyPatch, clock: Any) -> None:
    """Make every job trigger's bridge hook read the deadline with ``clock``."""
    original = MaviJobCallbackTrigger.hook

    def hook(self: MaviJobCallbackTrigger) -> MaviBridgeHook:
        made = original.fget(self)  # type: ignore[attr-defined]
        made.clock = clock
        return made

    monkeypatch.setattr(MaviJobCallbackTrigger, "hook", property(hook))


# ------------------------------------------------------------------------------------------ events


async def test_stored_success_callback_gives_one_success_event(
    bridge: BridgeServer, mavi_conn: str, kit: Any
) -> None:
    job_id = kit.new_job_id()
    kit.post_callback(bridge, kit.frames_callback(job_id))
    events = await run_to_end(MaviJobCallbackTrigger(job_id=job_id, deadline=time.time() + 30))
    assert len(events) == 1
    assert events[0]["status"] == "success"
    assert events[0]["job_id"] == job_id
    assert events[0]["payload"] == kit.frames_callback(job_id)
    assert events[0]["deliveries"] == 1


@pytest.mark.parametrize("code", [200, "200", "0000"])
async def test_every_success_code_succeeds(bridge: BridgeServer, mavi_conn: str, kit: Any, code: Any) -> None:
    job_id = kit.new_job_id()
    kit.post_callback(bridge, kit.frames_callback(job_id, code=code))
    (event,) = await run_to_end(MaviJobCallbackTrigger(job_id=job_id, deadline=time.time() + 30))
    assert event["status"] == "success"


async def test_callback_arriving_during_the_wait(bridge: BridgeServer, mavi_conn: str, kit: Any) -> None:
    job_id = kit.new_job_id()
    waiting = asyncio.ensure_future(
        run_to_end(MaviJobCallbackTrigger(job_id=job_id, deadline=time.time() + 30))
    )
    await asyncio.sleep(0.5)
    assert not waiting.done()
    await asyncio.to_thread(kit.post_callback, bridge, kit.transcript_callback(job_id))
    (event,) = await waiting
    assert event["status"] == "success"
    assert event["payload"]["data"]["data"]["usage_metadata"]["prompt_tokens"] == 10_000


async def test_duplicate_callbacks_give_one_event(bridge: BridgeServer, mavi_conn: str, kit: Any) -> None:
    job_id = kit.new_job_id()
    for _ in range(3):
        kit.post_callback(bridge, kit.frames_callback(job_id))
    events = await run_to_end(MaviJobCallbackTrigger(job_id=job_id, deadline=time.time() + 30))
    assert [e["status"] for e in events] == ["success"]
    assert events[0]["deliveries"] == 3


async def test_failure_callback_gives_failed_with_mavi_message(
    bridge: BridgeServer, mavi_conn: str, kit: Any
) -> None:
    job_id = kit.new_job_id()
    kit.post_callback(bridge, kit.failure_callback(job_id, "Video decoding failed at 00:03"))
    (event,) = await run_to_end(MaviJobCallbackTrigger(job_id=job_id, deadline=time.time() + 30))
    assert event["status"] == "failed"
    assert event["message"] == "Video decoding failed at 00:03"


async def test_callback_without_code_gives_error(bridge: BridgeServer, mavi_conn: str, kit: Any) -> None:
    job_id = kit.new_job_id()
    kit.post_callback(bridge, {"task_id": job_id, "message": "SUCCESS"})
    (event,) = await run_to_end(MaviJobCallbackTrigger(job_id=job_id, deadline=time.time() + 30))
    assert event["status"] == "error"
    assert "'code'" in event["message"]
    assert event["payload"] == {"task_id": job_id, "message": "SUCCESS"}


async def test_timeout_when_nothing_arrives(bridge: BridgeServer, mavi_conn: str, kit: Any) -> None:
    job_id = kit.new_job_id()
    started = time.monotonic()
    (event,) = await run_to_end(MaviJobCallbackTrigger(job_id=job_id, deadline=time.time() + 1.5))
    assert event["status"] == "timeout"
    assert event["job_id"] == job_id
    assert event["detail"]["bridge_url"] == bridge.url
    assert event["detail"]["last_error"] is None
    assert bridge.token not in json.dumps(event)
    assert 1.0 <= time.monotonic() - started < 20


async def test_deadline_in_the_past_still_finds_a_stored_callback(
    bridge: BridgeServer, mavi_conn: str, kit: Any
) -> None:
    job_id = kit.new_job_id()
    kit.post_callback(bridge, kit.frames_callback(job_id))
    (event,) = await run_to_end(MaviJobCallbackTrigger(job_id=job_id, deadline=time.time() - 3600))
    assert event["status"] == "success"


async def test_deadline_in_the_past_with_nothing_stored_times_out_at_once(
    bridge: BridgeServer, mavi_conn: str, kit: Any
) -> None:
    started = time.monotonic()
    (event,) = await run_to_end(MaviJobCallbackTrigger(job_id=kit.new_job_id(), deadline=time.time() - 1))
    assert event["status"] == "timeout"
    assert time.monotonic() - started < 5


async def test_patched_clock_reaching_the_deadline_ends_with_timeout(
    bridge: BridgeServer, mavi_conn: str, kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    deadline = 2_000_000_000.0
    clock = iter([deadline - 0.3, deadline + 5])  # one short wait, then past the deadline
    with_clock(monkeypatch, lambda: next(clock, deadline + 10))
    (event,) = await run_to_end(MaviJobCallbackTrigger(job_id=kit.new_job_id(), deadline=deadline))
    assert event["status"] == "timeout"
    assert event["detail"]["deadline"] == deadline


async def test_patched_clock_callback_stored_at_the_last_moment_is_found(
    bridge: BridgeServer, mavi_conn: str, kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    job_id = kit.new_job_id()
    deadline = 2_000_000_000.0
    moments = iter([deadline - 0.2, deadline + 1])

    def clock() -> float:
        moment = next(moments, deadline + 10)
        if moment > deadline:  # the callback lands as the deadline passes: the last look finds it
            kit.post_callback(bridge, kit.frames_callback(job_id))
        return moment

    with_clock(monkeypatch, clock)
    (event,) = await run_to_end(MaviJobCallbackTrigger(job_id=job_id, deadline=deadline))
    assert event["status"] == "success"


# ------------------------------------------------------------------------------------------ errors


async def test_wrong_token_gives_error_without_the_token(
    bridge: BridgeServer, kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_MAVI_WRONG",
        json.dumps(
            {
                "conn_type": "mavi",
                "password": "sk-test-unit",
                "extra": {"bridge_url": bridge.url, "bridge_token": "wrong-token-value"},
            }
        ),
    )
    (event,) = await run_to_end(
        MaviJobCallbackTrigger(job_id=kit.new_job_id(), deadline=time.time() + 30, mavi_conn_id="mavi_wrong")
    )
    assert event["status"] == "error"
    assert event["detail"]["reason"] == "token_refused"
    assert "401" in event["message"]
    assert "wrong-token-value" not in json.dumps(event)


async def test_connection_without_bridge_gives_error(kit: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_MAVI_NOBRIDGE", json.dumps({"conn_type": "mavi", "password": "sk-test-unit"})
    )
    (event,) = await run_to_end(
        MaviJobCallbackTrigger(
            job_id=kit.new_job_id(), deadline=time.time() + 30, mavi_conn_id="mavi_nobridge"
        )
    )
    assert event["status"] == "error"
    assert event["detail"]["reason"] == "connection"
    assert "bridge_url" in event["message"]


async def test_missing_connection_gives_error(kit: Any) -> None:
    (event,) = await run_to_end(
        MaviJobCallbackTrigger(job_id=kit.new_job_id(), deadline=time.time() + 30, mavi_conn_id="mavi_absent")
    )
    assert event["status"] == "error"
    assert "mavi_absent" in event["message"]


async def test_unreachable_bridge_is_waited_out_until_the_deadline(
    kit: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv(
        "AIRFLOW_CONN_MAVI_DOWN",
        json.dumps(
            {"conn_type": "mavi", "password": "k", "extra": {"bridge_url": closed, "bridge_token": "t0ken"}}
        ),
    )
    caplog.set_level(logging.DEBUG)
    started = time.monotonic()
    policy = {"base_delay": 0.1, "max_delay": 0.4}
    events = await asyncio.gather(
        *(
            run_to_end(
                MaviJobCallbackTrigger(
                    job_id=kit.new_job_id(),
                    deadline=time.time() + 2.0,
                    mavi_conn_id="mavi_down",
                    retry_policy=policy,
                )
            )
            for _ in range(20)
        )
    )
    assert time.monotonic() - started >= 1.5  # waited (with backoff) until the deadline, no early error
    for (event,) in events:
        assert event["status"] == "timeout"
        assert "last look failed" in event["message"]
        assert closed in event["message"]
        assert event["detail"]["bridge_url"] == closed
        assert event["detail"]["last_error"].startswith("MaviBridgeUnavailableError: cannot reach the bridge")
    assert "t0ken" not in caplog.text
    # the 20 waiting triggers share one batch poll: its retries are logged once each, not once per trigger
    retries = [r for r in caplog.records if "batch wait at" in r.getMessage()]
    assert 1 <= len(retries) <= 12


async def test_bridge_restart_during_the_wait(kit: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with BridgeServer() as own:
        monkeypatch.setenv(
            "AIRFLOW_CONN_MAVI_OWN",
            json.dumps(
                {
                    "conn_type": "mavi",
                    "password": "k",
                    "extra": {"bridge_url": own.url, "bridge_token": own.token},
                }
            ),
        )
        job_id = kit.new_job_id()
        waiting = asyncio.ensure_future(
            run_to_end(
                MaviJobCallbackTrigger(job_id=job_id, deadline=time.time() + 60, mavi_conn_id="mavi_own")
            )
        )
        await asyncio.sleep(0.5)
        await asyncio.to_thread(own.kill)
        await asyncio.sleep(1.5)  # the trigger meets a dead bridge and backs off
        assert not waiting.done()
        await asyncio.to_thread(own.start)
        await asyncio.to_thread(kit.post_callback, own, kit.frames_callback(job_id))
        (event,) = await asyncio.wait_for(waiting, 45)
        assert event["status"] == "success"


async def test_trigger_rebuilt_after_a_triggerer_restart_finds_the_callback_that_arrived_meanwhile(
    bridge: BridgeServer, mavi_conn: str, kit: Any
) -> None:
    job_id = kit.new_job_id()
    first = MaviJobCallbackTrigger(job_id=job_id, deadline=time.time() + 60)
    running = asyncio.ensure_future(run_to_end(first))
    await asyncio.sleep(0.3)
    running.cancel()  # the triggerer goes away
    with pytest.raises(asyncio.CancelledError):
        await running
    kit.post_callback(bridge, kit.frames_callback(job_id))  # Mavi delivers while no trigger runs
    (event,) = await run_to_end(rebuild(first))
    assert event["status"] == "success"
    assert event["job_id"] == job_id


async def test_on_kill_marks_the_job_abandoned(bridge: BridgeServer, mavi_conn: str, kit: Any) -> None:
    import httpx

    job_id = kit.new_job_id()
    with httpx.Client(base_url=bridge.url, headers=bridge.headers, timeout=10) as http:
        put = await asyncio.to_thread(
            http.put, f"/v1/jobs/{job_id}", json={"kind": "extract_frames", "asset_id": "re_1"}
        )
        assert put.status_code == 200
        await MaviJobCallbackTrigger(job_id=job_id, deadline=time.time() + 60).on_kill()
        record = (await asyncio.to_thread(http.get, f"/v1/jobs/{job_id}")).json()
    assert record["state"] == "abandoned"


async def test_on_kill_never_raises(kit: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_MAVI_DOWN2",
        json.dumps(
            {
                "conn_type": "mavi",
                "password": "k",
                "extra": {"bridge_url": f"http://127.0.0.1:{free_port()}", "bridge_token": "t0ken"},
            }
        ),
    )
    await MaviJobCallbackTrigger(
        job_id=kit.new_job_id(), deadline=time.time(), mavi_conn_id="mavi_down2"
    ).on_kill()


# ------------------------------------------------------------------------------------------ assets


@pytest.fixture
def mavi_emulator_settings() -> dict[str, Any]:
    return {"qps": 20}


@pytest.fixture
def emulator_conn(monkeypatch: pytest.MonkeyPatch, mavi_emulator: Any, bridge: BridgeServer) -> str:
    monkeypatch.setenv(
        "AIRFLOW_CONN_MAVI_EMU",
        json.dumps(
            {
                "conn_type": "mavi",
                "host": mavi_emulator.base_url,
                "password": mavi_emulator.api_key,
                "extra": {
                    "bridge_url": bridge.url,
                    "bridge_token": bridge.token,
                    "max_requests_per_second": 20,
                },
            }
        ),
    )
    return "mavi_emu"


async def test_asset_trigger_success(emulator_conn: str, sample_video: Any) -> None:
    from airflow_provider_mavi.hooks.mavi import MaviHook

    asset_id = await asyncio.to_thread(MaviHook(emulator_conn).upload_file, str(sample_video))
    (event,) = await run_to_end(
        MaviAssetReadyTrigger(
            asset_id=asset_id, deadline=time.time() + 60, mavi_conn_id=emulator_conn, poll_interval=0.2
        )
    )
    assert event["status"] == "success"
    assert event["metadata"]["asset_id"] == asset_id
    assert event["metadata"]["upload_status"] == "SUCCESS"


async def test_asset_trigger_unknown_asset_fails(emulator_conn: str) -> None:
    (event,) = await run_to_end(
        MaviAssetReadyTrigger(asset_id="re_404", deadline=time.time() + 60, mavi_conn_id=emulator_conn)
    )
    assert event["status"] == "failed"
    assert "re_404" in event["message"]


async def test_asset_trigger_polls_no_faster_than_the_rate_limit(
    monkeypatch: pytest.MonkeyPatch, bridge: BridgeServer, sample_video: Any, tmp_path: Any
) -> None:
    from airflow_provider_mavi.emulator.testing import EmulatorServer
    from airflow_provider_mavi.hooks.mavi import MaviHook

    with EmulatorServer(qps=20, upload_processing_seconds=2.0, data_dir=tmp_path / "emu") as emulator:
        monkeypatch.setenv(
            "AIRFLOW_CONN_MAVI_SLOW",
            json.dumps(
                {
                    "conn_type": "mavi",
                    "host": emulator.base_url,
                    "password": emulator.api_key,
                    "extra": {"max_requests_per_second": 2},
                }
            ),
        )
        asset_id = await asyncio.to_thread(MaviHook("mavi_slow").upload_file, str(sample_video))
        reads: list[float] = []
        real = MaviHook.aget_asset_metadata

        async def timed(self: MaviHook, asset: str) -> Any:
            reads.append(time.monotonic())
            return await real(self, asset)

        monkeypatch.setattr(MaviHook, "aget_asset_metadata", timed)
        (event,) = await run_to_end(
            MaviAssetReadyTrigger(
                asset_id=asset_id, deadline=time.time() + 60, mavi_conn_id="mavi_slow", poll_interval=0.05
            )
        )
    assert event["status"] == "success"
    assert len(reads) >= 2, "the asset was still processing at the first read"
    gaps = [b - a for a, b in itertools.pairwise(reads)]
    assert min(gaps) >= 0.5  # 1 / max_requests_per_second, not the asked 0.05


async def test_asset_trigger_timeout(
    monkeypatch: pytest.MonkeyPatch, sample_video: Any, tmp_path: Any
) -> None:
    from airflow_provider_mavi.emulator.testing import EmulatorServer
    from airflow_provider_mavi.hooks.mavi import MaviHook

    with EmulatorServer(qps=20, upload_processing_seconds=30.0, data_dir=tmp_path / "emu") as emulator:
        monkeypatch.setenv(
            "AIRFLOW_CONN_MAVI_TMO",
            json.dumps({"conn_type": "mavi", "host": emulator.base_url, "password": emulator.api_key}),
        )
        asset_id = await asyncio.to_thread(MaviHook("mavi_tmo").upload_file, str(sample_video))
        (event,) = await run_to_end(
            MaviAssetReadyTrigger(asset_id=asset_id, deadline=time.time() + 1.5, mavi_conn_id="mavi_tmo")
        )
    assert event["status"] == "timeout"
    assert asset_id in event["message"]


async def test_many_triggers_read_the_connection_once(
    bridge: BridgeServer, mavi_conn: str, kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = BaseHook.aget_connection
    calls: list[str] = []

    async def counting(conn_id: str) -> Any:
        calls.append(conn_id)
        return await real(conn_id)

    monkeypatch.setattr(BaseHook, "aget_connection", staticmethod(counting))
    job_ids = [kit.new_job_id() for _ in range(200)]
    for job_id in job_ids[:3]:
        kit.post_callback(bridge, kit.frames_callback(job_id))
    deadline = time.time() + 2
    results = await asyncio.gather(
        *(run_to_end(MaviJobCallbackTrigger(job_id=job_id, deadline=deadline)) for job_id in job_ids)
    )
    assert calls == ["mavi_default"]
    assert [r[0]["status"] for r in results[:3]] == ["success"] * 3
    assert {r[0]["status"] for r in results[3:]} == {"timeout"}


async def test_triggers_share_the_loops_bridge_client(
    bridge: BridgeServer, mavi_conn: str, kit: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every trigger of one event loop waits through the loop's one shared client of the bridge."""
    real = LoopClient.wait_for
    used: set[int] = set()

    async def recording(self: LoopClient, job_id: str, timeout: float) -> Any:
        used.add(id(self))
        return await real(self, job_id, timeout)

    monkeypatch.setattr(LoopClient, "wait_for", recording)
    job_ids = [kit.new_job_id() for _ in range(20)]
    for job_id in job_ids:
        kit.post_callback(bridge, kit.frames_callback(job_id))
    deadline = time.time() + 30
    results = await asyncio.gather(
        *(run_to_end(MaviJobCallbackTrigger(job_id=job_id, deadline=deadline)) for job_id in job_ids)
    )
    assert {r[0]["status"] for r in results} == {"success"}
    assert used == {id(await MaviBridgeHook().shared_client())}


async def test_more_waiters_than_one_batch_all_get_their_callback(
    bridge: BridgeServer, mavi_conn: str, kit: Any
) -> None:
    """6,000 waiting triggers (more than one bridge batch of 5,000): the last ones still get callbacks."""
    job_ids = [kit.new_job_id() for _ in range(6000)]
    deadline = time.time() + 60
    waiting = [
        asyncio.ensure_future(run_to_end(MaviJobCallbackTrigger(job_id=j, deadline=deadline), timeout=90))
        for j in job_ids
    ]
    await asyncio.sleep(3)  # every trigger is in its wait
    late = job_ids[-3:]
    for job_id in late:
        await asyncio.to_thread(kit.post_callback, bridge, kit.frames_callback(job_id))
    done = await asyncio.wait_for(asyncio.gather(*waiting[-3:]), 30)
    assert [events[0]["status"] for events in done] == ["success"] * 3
    for task in waiting[:-3]:
        task.cancel()
    await asyncio.gather(*waiting[:-3], return_exceptions=True)


async def test_asset_trigger_on_a_frame_group(wired: Any, bridge: BridgeServer, sample_video: Any) -> None:
    from airflow_provider_mavi.hooks.mavi import MaviHook

    def frame_group() -> str:
        hook = MaviHook()
        asset = hook.upload_file(str(sample_video))
        hook.wait_for_asset_ready(asset, timeout=60, poll_interval=0.1)
        job_id = hook.extract_frames(asset)
        with MaviBridgeHook() as bridge_hook:
            record = bridge_hook.wait_for(job_id, timeout=60)
        assert record is not None
        return str(record.payload["data"]["asset_id"])

    group = await asyncio.to_thread(frame_group)
    (event,) = await run_to_end(
        MaviAssetReadyTrigger(asset_id=group, deadline=time.time() + 30, poll_interval=0.1)
    )
    assert event["status"] == "success"
    assert event["metadata"]["frames"] >= 5
