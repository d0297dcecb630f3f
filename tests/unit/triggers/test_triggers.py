"""The triggers without a server: JSON kwargs (with the retry settings), one event per run, the rules."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from typing import Any

import pytest
from airflow.sdk.module_loading import import_string
from airflow.triggers.base import BaseTrigger

from airflow_provider_mavi.exceptions import MaviAuthenticationError, MaviNotFoundError, MaviServerError
from airflow_provider_mavi.hooks.bridge import MaviBridgeHook
from airflow_provider_mavi.hooks.mavi import MaviHook
from airflow_provider_mavi.hooks.settings import MaviConnectionSettings
from airflow_provider_mavi.retry import RetryPolicy
from airflow_provider_mavi.triggers.mavi import MaviAssetReadyTrigger, MaviJobCallbackTrigger

DEFAULT_POLICY = RetryPolicy().to_json()


async def run_to_end(trigger: BaseTrigger, timeout: float = 30) -> list[dict[str, Any]]:
    """Every event the trigger yields until its generator ends (it must end by itself)."""

    async def collect() -> list[dict[str, Any]]:
        return [event.payload async for event in trigger.run()]

    return await asyncio.wait_for(collect(), timeout)


def rebuild(trigger: BaseTrigger) -> BaseTrigger:
    """Re-create a trigger the way the triggerer does: class path + JSON kwargs."""
    classpath, kwargs = trigger.serialize()
    kwargs = json.loads(json.dumps(kwargs))  # JSON primitives only, or this raises
    return import_string(classpath)(**kwargs)


# ------------------------------------------------------------------------------------------ serialize


def test_job_trigger_serializes_to_its_literal_path_and_json_kwargs() -> None:
    trigger = MaviJobCallbackTrigger(job_id="a" * 32, deadline=1_900_000_000.5, mavi_conn_id="mavi_prod")
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_mavi.triggers.mavi.MaviJobCallbackTrigger"
    assert kwargs == {
        "job_id": "a" * 32,
        "deadline": 1_900_000_000.5,
        "mavi_conn_id": "mavi_prod",
        "max_consecutive_errors": 5,
        "retry_policy": DEFAULT_POLICY,
    }
    assert rebuild(trigger).serialize() == trigger.serialize()


def test_asset_trigger_serializes_to_its_literal_path_and_json_kwargs() -> None:
    trigger = MaviAssetReadyTrigger(asset_id="re_1", deadline=1_900_000_000, poll_interval=2)
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_mavi.triggers.mavi.MaviAssetReadyTrigger"
    assert kwargs["asset_id"] == "re_1"
    assert kwargs["deadline"] == 1_900_000_000.0
    assert kwargs["poll_interval"] == 2.0
    assert kwargs["retry_policy"] == DEFAULT_POLICY
    assert rebuild(trigger).serialize() == trigger.serialize()


@pytest.mark.parametrize("cls", [MaviJobCallbackTrigger, MaviAssetReadyTrigger])
def test_the_retry_settings_survive_serialization_and_reach_the_hook(cls: type) -> None:
    policy = RetryPolicy.from_params(5, 0.25)
    ids = {"job_id": "j1"} if cls is MaviJobCallbackTrigger else {"asset_id": "re_1"}
    trigger = rebuild(cls(**ids, deadline=1_900_000_000, retry_policy=policy.to_json()))
    assert trigger.serialize()[1]["retry_policy"] == policy.to_json()
    hook_policy = trigger.hook.retry_policy  # the hook retries this way
    assert (hook_policy.max_attempts, hook_policy.base_delay) == (5, 0.25)


@pytest.mark.parametrize("bad", [{"max_attempts": 0}, {"base_delay": -1}, {"tries": 3}])
def test_bad_retry_settings_are_refused_when_the_trigger_is_made(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        MaviJobCallbackTrigger(job_id="j1", deadline=1, retry_policy=bad)


# -------------------------------------------------------------------------------------- job trigger


@pytest.fixture
def through_fake(monkeypatch: pytest.MonkeyPatch, fake_bridge: Any) -> Any:
    """Job triggers reach the in-memory bridge (their hook keeps their own settings)."""
    made = MaviJobCallbackTrigger.hook

    def hook(self: MaviJobCallbackTrigger) -> MaviBridgeHook:
        real = made.fget(self)  # type: ignore[attr-defined]
        return fake_bridge.hook(retry_policy=real.retry_policy, max_wait_errors=real.max_wait_errors)

    monkeypatch.setattr(MaviJobCallbackTrigger, "hook", property(hook))
    return fake_bridge


async def test_the_job_trigger_yields_the_hooks_event_once(through_fake: Any, kit: Any) -> None:
    job = kit.new_job_id()
    through_fake.deliver(job, kit.frames_callback(job))
    events = await run_to_end(MaviJobCallbackTrigger(job_id=job, deadline=time.time() + 5))
    assert [e["status"] for e in events] == ["success"]
    assert events[0]["payload"] == kit.frames_callback(job)
    json.dumps(events)


async def test_the_job_trigger_times_out_with_a_structured_detail(through_fake: Any, kit: Any) -> None:
    deadline = time.time() + 0.3
    (event,) = await run_to_end(MaviJobCallbackTrigger(job_id=kit.new_job_id(), deadline=deadline))
    assert event["status"] == "timeout"
    assert event["detail"] == {
        "deadline": deadline,
        "bridge_url": through_fake.URL,
        "last_error": None,
        "reason": None,
        "upload_status": None,
    }


async def test_max_consecutive_errors_reaches_the_wait(through_fake: Any, kit: Any) -> None:
    through_fake.script = [through_fake.answer(400)] * 50
    trigger = MaviJobCallbackTrigger(
        job_id=kit.new_job_id(),
        deadline=time.time() + 30,
        max_consecutive_errors=2,
        retry_policy={"base_delay": 0.01},
    )
    (event,) = await run_to_end(trigger)
    assert (event["status"], event["detail"]["reason"]) == ("error", "repeated_errors")
    assert through_fake.count("POST", "/v1/callbacks/wait") == 2


async def test_on_kill_marks_the_job_abandoned_and_never_raises(through_fake: Any, kit: Any) -> None:
    job = kit.new_job_id()
    through_fake.jobs[job] = {"job_id": job, "state": "waiting"}
    await MaviJobCallbackTrigger(job_id=job, deadline=time.time() + 60).on_kill()
    assert through_fake.jobs[job]["state"] == "abandoned"
    through_fake.script = [RuntimeError("boom")] * 10
    await MaviJobCallbackTrigger(job_id=job, deadline=time.time() + 60).on_kill()


# ------------------------------------------------------------------------------------ asset trigger


class FakeMetadata:
    """What MaviHook's metadata reads answer, in order (an exception is raised); the last one repeats."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, rps: float = 50) -> None:
        self.answers: list[Any] = []
        self.reads: list[float] = []
        settings = MaviConnectionSettings("http://mavi", "sk", None, None, 60, rps)

        async def aget_settings(hook: MaviHook) -> MaviConnectionSettings:
            return settings

        async def aget_asset_metadata(hook: MaviHook, asset_id: str) -> Any:
            self.reads.append(time.monotonic())
            answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
            if isinstance(answer, Exception):
                raise answer
            return answer

        monkeypatch.setattr(MaviHook, "aget_settings", aget_settings)
        monkeypatch.setattr(MaviHook, "aget_asset_metadata", aget_asset_metadata)


def entry(status: str, asset_id: str = "re_1") -> list[dict[str, Any]]:
    return [{"asset_id": asset_id, "upload_status": status}]


def asset_trigger(**kwargs: Any) -> MaviAssetReadyTrigger:
    kwargs.setdefault("deadline", time.time() + 10)
    kwargs.setdefault("poll_interval", 0.01)
    kwargs.setdefault("retry_policy", {"base_delay": 0.01, "max_delay": 0.02})
    return MaviAssetReadyTrigger(asset_id=kwargs.pop("asset_id", "re_1"), **kwargs)


async def test_the_asset_trigger_waits_until_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeMetadata(monkeypatch)
    fake.answers = [entry("WAITING"), entry("UPLOADING"), entry("SUCCESS")]
    events = await run_to_end(asset_trigger())
    assert [e["status"] for e in events] == ["success"]
    assert events[0]["metadata"] == {"asset_id": "re_1", "upload_status": "SUCCESS"}
    assert events[0]["detail"]["upload_status"] == "SUCCESS"
    assert len(fake.reads) == 3


@pytest.mark.parametrize(
    ("answers", "status", "reason", "reads"),
    [
        ([entry("FAILED")], "failed", "upload_failed", 1),
        ([MaviNotFoundError("Asset not found")], "failed", "not_found", 1),
        ([MaviAuthenticationError("401")], "error", "key_refused", 1),
        ([MaviServerError("502")] * 2 + [entry("SUCCESS")], "success", None, 3),  # transient: retried
        ([MaviServerError("502")], "error", "repeated_errors", 3),  # max_consecutive_errors=3
    ],
)
async def test_the_asset_trigger_outcomes(
    monkeypatch: pytest.MonkeyPatch, answers: list[Any], status: str, reason: str | None, reads: int
) -> None:
    fake = FakeMetadata(monkeypatch)
    fake.answers = answers
    (event,) = await run_to_end(asset_trigger(max_consecutive_errors=3))
    assert (event["status"], event["detail"]["reason"]) == (status, reason)
    assert len(fake.reads) == reads


async def test_the_asset_trigger_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeMetadata(monkeypatch)
    fake.answers = [entry("UPLOADING")]
    started = time.monotonic()
    (event,) = await run_to_end(asset_trigger(deadline=time.time() + 0.5))
    assert event["status"] == "timeout"
    assert "re_1" in event["message"]
    assert event["detail"]["upload_status"] == "UPLOADING"
    assert 0.4 <= time.monotonic() - started < 5


async def test_the_asset_trigger_polls_no_faster_than_the_rate_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeMetadata(monkeypatch, rps=10)
    fake.answers = [entry("UPLOADING")] * 4 + [entry("SUCCESS")]
    (event,) = await run_to_end(asset_trigger(poll_interval=0.001))
    assert event["status"] == "success"
    gaps = [b - a for a, b in itertools.pairwise(fake.reads)]
    assert min(gaps) >= 0.1  # 1 / max_requests_per_second, not the asked 0.001


@pytest.mark.parametrize(
    ("entries", "asset_id", "status"),
    [
        ([{"asset_id": "re_1", "upload_status": "UPLOADING"}], "re_1", None),
        ([{"asset_id": "imc_1_0", "upload_status": "SUCCESS"}], "imc_1_0", "success"),
        ([{"asset_id": "imc_1_0", "upload_status": "SUCCESS"}] * 3, "im_1", "success"),
        (
            [{"asset_id": "imc_1_0", "upload_status": "SUCCESS"}, {"upload_status": "WAITING"}],
            "im_1",
            None,
        ),
        (
            [{"asset_id": "imc_1_0", "upload_status": "SUCCESS"}, {"upload_status": "FAILED"}],
            "im_1",
            "failed",
        ),
        ([], "re_1", None),
        (["junk"], "re_1", None),
    ],
)
async def test_assets_and_frame_groups_follow_the_one_readiness_rule(
    monkeypatch: pytest.MonkeyPatch, entries: Any, asset_id: str, status: str | None
) -> None:
    fake = FakeMetadata(monkeypatch)
    fake.answers = [entries]
    (event,) = await run_to_end(asset_trigger(asset_id=asset_id, deadline=time.time() + 0.2))
    assert event["status"] == (status or "timeout")


async def test_an_unreadable_connection_is_an_error_event(monkeypatch: pytest.MonkeyPatch) -> None:
    (event,) = await run_to_end(asset_trigger(mavi_conn_id="mavi_absent"))
    assert (event["status"], event["detail"]["reason"]) == ("error", "connection")
    assert "mavi_absent" in event["message"]
