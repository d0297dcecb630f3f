"""The sensors without a server: their retry settings, deferral, pokes and every event's outcome."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from airflow.sdk.bases.sensor import PokeReturnValue

from airflow_provider_mavi import exceptions
from airflow_provider_mavi.compat import TaskDeferred
from airflow_provider_mavi.exceptions import MaviAssetFailedError, MaviJobFailedError, MaviOperatorError
from airflow_provider_mavi.hooks.mavi import MaviHook
from airflow_provider_mavi.retry import RetryPolicy
from airflow_provider_mavi.sensors.mavi import MaviAssetReadySensor, MaviJobSensor
from airflow_provider_mavi.triggers.mavi import MaviAssetReadyTrigger, MaviJobCallbackTrigger


def deferred(sensor: Any, run: Any) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as caught:
        sensor.execute(run.context("sense"))
    return caught.value


@pytest.mark.parametrize(
    ("sensor", "trigger"),
    [
        (
            MaviJobSensor(task_id="s1", job_id="j1", mavi_retry_attempts=5, mavi_retry_delay=0.5),
            MaviJobCallbackTrigger,
        ),
        (
            MaviAssetReadySensor(task_id="s2", asset_id="re_1", mavi_retry_attempts=5, mavi_retry_delay=0.5),
            MaviAssetReadyTrigger,
        ),
    ],
)
def test_retry_settings_reach_the_hooks_and_the_trigger(sensor: Any, trigger: type, run: Any) -> None:
    policy = RetryPolicy.from_params(5, 0.5)
    assert sensor.hook.retry_policy.max_attempts == 5
    assert sensor.bridge_hook.retry_policy == policy
    deferral = deferred(sensor, run)
    assert isinstance(deferral.trigger, trigger)
    assert deferral.trigger.serialize()[1]["retry_policy"] == policy.to_json()


def test_airflows_own_retries_are_left_alone() -> None:
    sensor = MaviJobSensor(task_id="s", job_id="j1", retries=2, retry_delay=timedelta(minutes=3))
    assert (sensor.retries, sensor.retry_delay) == (2, timedelta(minutes=3))
    assert sensor.mavi_retry_policy == RetryPolicy()


@pytest.mark.parametrize(("attempts", "delay"), [(0, None), (None, -1.0), (True, None)])
def test_bad_retry_settings_fail_when_the_dag_is_parsed(attempts: Any, delay: Any) -> None:
    with pytest.raises(ValueError):
        MaviJobSensor(task_id="s", job_id="j1", mavi_retry_attempts=attempts, mavi_retry_delay=delay)


@pytest.mark.parametrize(
    ("event", "error", "match"),
    [
        (
            {"status": "timeout", "job_id": "j1", "detail": {"bridge_url": "http://b:1"}},
            "MaviJobTimeoutError",
            "mavi-bridge show j1",
        ),
        ({"status": "error", "job_id": "j1", "message": "401"}, "MaviWaitError", "401"),
        ({"status": "failed", "job_id": "j1", "message": "broken"}, "MaviJobFailedError", "broken"),
        ({"status": "nope", "job_id": "j1"}, "MaviTriggerEventError", "unknown status"),
        ({"status": "success", "job_id": "j1"}, "MaviTriggerEventError", "no callback payload"),
    ],
)
def test_job_sensor_execute_complete_errors(run: Any, event: Any, error: str, match: str) -> None:
    sensor = MaviJobSensor(task_id="sense", job_id="j1")
    with pytest.raises(getattr(exceptions, error), match=match):
        sensor.execute_complete(run.context("sense"), event, job_id="j1")


def test_job_sensor_returns_the_callback_body(run: Any, kit: Any) -> None:
    payload = kit.frames_callback("j1")
    event = {"status": "success", "job_id": "j1", "payload": payload}
    assert MaviJobSensor(task_id="s", job_id="j1").execute_complete(run.context("s"), event, "j1") == payload


@pytest.mark.parametrize("bad", ["", None, 7])
def test_sensors_refuse_missing_ids(run: Any, bad: Any) -> None:
    with pytest.raises(MaviOperatorError, match="job_id must be a non-empty string"):
        MaviJobSensor(task_id="s", job_id=bad).execute(run.context("s"))
    with pytest.raises(MaviOperatorError, match="asset_id must be a non-empty string"):
        MaviAssetReadySensor(task_id="a", asset_id=bad).execute(run.context("a"))


def test_job_sensor_pokes_the_bridge_once_each_time(run: Any, kit: Any, fake_bridge: Any) -> None:
    sensor = MaviJobSensor(task_id="sense", job_id="j1", deferrable=False)
    sensor.bridge_hook = fake_bridge.hook()
    assert sensor.poke(run.context("sense")) is False
    fake_bridge.deliver("j1", kit.frames_callback("j1"))
    done = sensor.poke(run.context("sense"))
    assert isinstance(done, PokeReturnValue)
    assert done.xcom_value == kit.frames_callback("j1")
    assert len(fake_bridge.requests) == 2
    failed = MaviJobSensor(task_id="s2", job_id="j2", deferrable=False)
    failed.bridge_hook = fake_bridge.hook()
    fake_bridge.deliver("j2", kit.failure_callback("j2", "nope"))
    with pytest.raises(MaviJobFailedError, match="nope"):
        failed.poke(run.context("s2"))


@pytest.mark.parametrize(
    ("entries", "outcome"),
    [
        ([{"asset_id": "re_1", "upload_status": "UPLOADING"}], False),
        ([{"asset_id": "re_1", "upload_status": "SUCCESS"}], "re_1"),
        ([{"asset_id": "re_1", "upload_status": "FAILED"}], MaviAssetFailedError),
        ([], False),
    ],
)
def test_asset_sensor_pokes_with_the_one_readiness_rule(
    run: Any, monkeypatch: pytest.MonkeyPatch, entries: Any, outcome: Any
) -> None:
    monkeypatch.setattr(MaviHook, "get_asset_metadata", lambda self, asset_id: entries)
    sensor = MaviAssetReadySensor(task_id="ready", asset_id="re_1", deferrable=False)
    if outcome is MaviAssetFailedError:
        with pytest.raises(MaviAssetFailedError, match="re_1 is not usable") as caught:
            sensor.poke(run.context("ready"))
        assert caught.value.asset_id == "re_1"
        return
    poked = sensor.poke(run.context("ready"))
    if outcome is False:
        assert poked is False
    else:
        assert isinstance(poked, PokeReturnValue)
        assert poked.xcom_value == outcome


def test_asset_sensor_execute_complete(run: Any) -> None:
    sensor = MaviAssetReadySensor(task_id="ready", asset_id="re_1")
    ok = {"status": "success", "asset_id": "re_1", "message": "SUCCESS"}
    assert sensor.execute_complete(run.context("ready"), ok, asset_id="re_1") == "re_1"
    failed = {"status": "failed", "asset_id": "re_1", "message": "Mavi reports upload_status FAILED"}
    with pytest.raises(MaviAssetFailedError):
        sensor.execute_complete(run.context("ready"), failed, asset_id="re_1")


def test_every_id_field_is_templated() -> None:
    assert {"job_id", "mavi_conn_id"} <= set(MaviJobSensor.template_fields)
    assert {"asset_id", "mavi_conn_id"} <= set(MaviAssetReadySensor.template_fields)
