"""The sensors against a real bridge (job callbacks) and the emulator (asset readiness)."""

from __future__ import annotations

from typing import Any

import pytest
from airflow.sdk.bases.sensor import PokeReturnValue

from airflow_provider_mavi.bridge.testing import BridgeServer
from airflow_provider_mavi.compat import TaskDeferred
from airflow_provider_mavi.exceptions import MaviJobFailedError
from airflow_provider_mavi.hooks.mavi import MaviHook
from airflow_provider_mavi.sensors.mavi import MaviAssetReadySensor, MaviJobSensor
from airflow_provider_mavi.triggers.mavi import MaviAssetReadyTrigger, MaviJobCallbackTrigger


@pytest.fixture
def asset_id(wired: Any, sample_video: Any) -> str:
    hook = MaviHook()
    asset = hook.upload_file(str(sample_video))
    hook.wait_for_asset_ready(asset, timeout=60, poll_interval=0.1)
    return asset


def test_job_sensor_defers_then_returns_the_callback(
    bridge: BridgeServer, mavi_conn: str, kit: Any, run: Any
) -> None:
    job_id = kit.new_job_id()
    sensor = MaviJobSensor(task_id="sense", job_id=job_id, timeout=120)
    with pytest.raises(TaskDeferred) as caught:
        sensor.execute(run.context("sense"))
    trigger = caught.value.trigger
    assert isinstance(trigger, MaviJobCallbackTrigger)
    assert trigger.job_id == job_id
    payload = kit.frames_callback(job_id)
    event = {"status": "success", "job_id": job_id, "payload": payload}
    assert sensor.execute_complete(run.context("sense"), event, job_id=job_id) == payload
    with pytest.raises(MaviJobFailedError, match="broken"):
        sensor.execute_complete(
            run.context("sense"), {"status": "failed", "job_id": job_id, "message": "broken"}, job_id=job_id
        )


def test_job_sensor_pokes_the_bridge(bridge: BridgeServer, mavi_conn: str, kit: Any, run: Any) -> None:
    job_id = kit.new_job_id()
    sensor = MaviJobSensor(task_id="sense", job_id=job_id, deferrable=False)
    assert sensor.poke(run.context("sense")) is False
    kit.post_callback(bridge, kit.frames_callback(job_id))
    done = sensor.poke(run.context("sense"))
    assert isinstance(done, PokeReturnValue)
    assert done.xcom_value == kit.frames_callback(job_id)
    failed = kit.new_job_id()
    kit.post_callback(bridge, kit.failure_callback(failed, "nope"))
    with pytest.raises(MaviJobFailedError, match="nope"):
        MaviJobSensor(task_id="s2", job_id=failed, deferrable=False).poke(run.context("s2"))


def test_asset_sensor(wired: Any, asset_id: str, run: Any) -> None:
    sensor = MaviAssetReadySensor(task_id="ready", asset_id=asset_id, timeout=60)
    with pytest.raises(TaskDeferred) as caught:
        sensor.execute(run.context("ready"))
    assert isinstance(caught.value.trigger, MaviAssetReadyTrigger)
    poked = MaviAssetReadySensor(task_id="ready", asset_id=asset_id, deferrable=False).poke(
        run.context("ready")
    )
    assert isinstance(poked, PokeReturnValue)
    assert poked.xcom_value == asset_id
    event = {"status": "success", "asset_id": asset_id, "message": "SUCCESS"}
    assert sensor.execute_complete(run.context("ready"), event, asset_id=asset_id) == asset_id
