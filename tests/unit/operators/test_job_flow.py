"""The job operators' flow without a server: submit once, re-attach, defer or wait, on the in-memory bridge.

Mavi is a stand-in that counts paid submits; the bridge is tests/unit/conftest.py's ``fake_bridge``.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest

from airflow_provider_mavi.compat import TaskDeferred
from airflow_provider_mavi.operators.mavi import (
    MaviBridgeNotConfiguredError,
    MaviExtractFramesOperator,
    MaviJobFailedError,
    MaviJobTimeoutError,
    MaviTranscribeVideoOperator,
    MaviWaitError,
)
from airflow_provider_mavi.retry import RetryPolicy
from airflow_provider_mavi.triggers.mavi import MaviJobCallbackTrigger


class PaidMavi:
    """Counts the paid jobs submitted; answers each with a fresh job id."""

    def __init__(self) -> None:
        self.submitted: list[tuple[str, str]] = []

    def extract_frames(self, asset_id: str) -> str:
        self.submitted.append(("extract_frames", asset_id))
        return f"job-{len(self.submitted)}"

    def transcribe_video(self, asset_id: str, model: str) -> str:
        self.submitted.append(("transcribe_video", asset_id))
        return f"job-{len(self.submitted)}"


@pytest.fixture
def mavi() -> PaidMavi:
    return PaidMavi()


@pytest.fixture
def make(fake_bridge: Any, mavi: PaidMavi) -> Any:
    """``make(**kwargs)``: an extract-frames operator wired to the stand-in Mavi and the in-memory bridge."""

    def build(cls: type = MaviExtractFramesOperator, **kwargs: Any) -> Any:
        kwargs.setdefault("task_id", "frames")
        kwargs.setdefault("asset_id", "re_1")
        op = cls(**kwargs)
        op.hook = mavi
        op.bridge_hook = fake_bridge.hook(retry_policy=op.mavi_retry_policy.with_attempts(1))
        return op

    return build


def deferred(op: Any, context: dict[str, Any]) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as caught:
        op.execute(context)
    return caught.value


def test_submit_records_the_job_and_defers(make: Any, run: Any, fake_bridge: Any, mavi: PaidMavi) -> None:
    context = run.context("frames")
    before = time.time()
    deferral = deferred(make(mavi_retry_attempts=5, mavi_retry_delay=0.5), context)
    trigger = deferral.trigger
    assert isinstance(trigger, MaviJobCallbackTrigger)
    assert trigger.job_id == run.xcom("frames", "job_id") == "job-1"
    assert before + 3600 - 5 <= trigger.deadline <= time.time() + 3600
    assert trigger.serialize()[1]["retry_policy"] == RetryPolicy.from_params(5, 0.5).to_json()
    assert deferral.kwargs == {"job_id": "job-1"}
    assert 3890 < deferral.timeout.total_seconds() <= 3900  # the deadline plus the backstop grace
    assert context["task_state_store"].get("mavi_job")["job_id"] == "job-1"
    assert fake_bridge.jobs["job-1"]["key"] == "mavi_unit/manual__unit/frames/-1|extract_frames:re_1"
    assert mavi.submitted == [("extract_frames", "re_1")]


def test_a_retry_re_attaches_through_the_state_store(make: Any, run: Any, mavi: PaidMavi) -> None:
    first = deferred(make(), run.context("frames")).trigger
    second = deferred(make(), run.context("frames")).trigger
    assert (second.job_id, second.deadline) == (first.job_id, first.deadline)  # the deadline is not reset
    assert len(mavi.submitted) == 1


def test_a_retry_re_attaches_through_the_bridge_without_a_state_store(
    make: Any, run: Any, mavi: PaidMavi
) -> None:
    first = deferred(make(), run.context("frames", state_store=False)).trigger
    second = deferred(make(), run.context("frames", state_store=False)).trigger
    assert second.job_id == first.job_id
    assert len(mavi.submitted) == 1


def test_a_delivered_callback_is_used_without_deferring(
    make: Any, run: Any, fake_bridge: Any, mavi: PaidMavi, kit: Any
) -> None:
    job = deferred(make(video_duration_seconds=6), run.context("frames")).trigger.job_id
    fake_bridge.deliver(job, kit.frames_callback(job))
    result = make(video_duration_seconds=6).execute(run.context("frames"))
    assert (result["job_id"], result["frame_count"], result["cost_usd"]) == (job, 3, 0.06)
    assert len(mavi.submitted) == 1


def test_a_failed_callback_or_a_passed_deadline_submits_again(
    make: Any, run: Any, fake_bridge: Any, mavi: PaidMavi, kit: Any
) -> None:
    job = deferred(make(), run.context("frames")).trigger.job_id
    fake_bridge.deliver(job, kit.failure_callback(job))
    assert deferred(make(), run.context("frames")).trigger.job_id != job
    assert len(mavi.submitted) == 2
    later = deferred(make(callback_timeout=0.1), run.context("late")).trigger.job_id
    time.sleep(0.2)
    assert deferred(make(callback_timeout=0.1), run.context("late")).trigger.job_id != later
    assert len(mavi.submitted) == 4


def test_another_request_never_re_attaches(make: Any, run: Any, mavi: PaidMavi) -> None:
    deferred(make(), run.context("d"))
    deferred(make(asset_id="re_2"), run.context("d"))
    deferred(make(MaviTranscribeVideoOperator), run.context("d"))
    deferred(make(MaviTranscribeVideoOperator, model="gemini-2.5-flash"), run.context("d"))
    assert len(mavi.submitted) == 4


def test_a_bridge_that_cannot_be_asked_means_nothing_is_submitted(
    make: Any, run: Any, fake_bridge: Any, mavi: PaidMavi
) -> None:
    fake_bridge.script = [httpx.ConnectError("refused")] * 10
    with pytest.raises(MaviWaitError, match="Nothing was submitted") as caught:
        make().execute(run.context("frames"))
    assert fake_bridge.token not in str(caught.value)
    assert mavi.submitted == []
    fake_bridge.script = [fake_bridge.answer(401)]
    with pytest.raises(MaviWaitError, match="refused the bridge_token"):
        make().execute(run.context("frames"))
    assert mavi.submitted == []


def test_a_connection_without_a_bridge_means_nothing_is_submitted(
    run: Any, mavi: PaidMavi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_MAVI_NOBRIDGE", json.dumps({"conn_type": "mavi", "password": "sk"}))
    op = MaviExtractFramesOperator(task_id="frames", asset_id="re_1", mavi_conn_id="mavi_nobridge")
    op.hook = mavi
    with pytest.raises(MaviBridgeNotConfiguredError, match="nothing was submitted"):
        op.execute(run.context("frames"))
    assert mavi.submitted == []


def test_blocking_mode_waits_in_the_worker(make: Any, run: Any, fake_bridge: Any, kit: Any) -> None:
    threading.Timer(0.3, lambda: fake_bridge.deliver("job-1", kit.frames_callback("job-1"))).start()
    result = make(deferrable=False, video_duration_seconds="6").execute(run.context("frames"))
    assert (result["job_id"], result["cost_usd"]) == ("job-1", 0.06)
    assert run.xcom("frames", "job_id") == "job-1"
    assert run.xcom("frames", "frames_asset_id") == "im_1234"


def test_blocking_mode_failure_and_timeout(make: Any, run: Any, fake_bridge: Any, kit: Any) -> None:
    fake_bridge.deliver("job-1", kit.failure_callback("job-1", "Out of credits for frames"))
    with pytest.raises(MaviJobFailedError, match="Out of credits for frames"):
        make(deferrable=False).execute(run.context("a"))
    with pytest.raises(MaviJobTimeoutError) as caught:
        make(deferrable=False, callback_timeout=0.3).execute(run.context("b"))
    assert "mavi-bridge show job-2" in str(caught.value)
    assert fake_bridge.URL in str(caught.value)
    assert fake_bridge.token not in str(caught.value)


def test_on_kill_marks_the_waited_job_abandoned(make: Any, run: Any, fake_bridge: Any) -> None:
    op = make(deferrable=False, callback_timeout=0.2)
    with pytest.raises(MaviJobTimeoutError):
        op.execute(run.context("frames"))
    op.on_kill()
    assert fake_bridge.jobs["job-1"]["state"] == "abandoned"
    fake_bridge.script = [RuntimeError("boom")]
    op.on_kill()  # never raises


def test_retry_settings_reach_both_hooks_and_leave_airflows_alone() -> None:
    op = MaviExtractFramesOperator(
        task_id="frames",
        asset_id="re_1",
        mavi_retry_attempts=4,
        mavi_retry_delay=0.2,
        retries=2,
        retry_delay=timedelta(seconds=30),
    )
    assert op.hook.retry_policy.max_attempts == 4
    assert op.bridge_hook.retry_policy == RetryPolicy.from_params(4, 0.2)
    assert (op.retries, op.retry_delay) == (2, timedelta(seconds=30))
    with pytest.raises(ValueError, match="attempts"):
        MaviExtractFramesOperator(task_id="frames", asset_id="re_1", mavi_retry_attempts=0)
