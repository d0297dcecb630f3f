"""What the job operators record in the bridge for the Mavi page: the task instance, the deadline, the price.

The bridge is tests/unit/conftest.py's in-memory ``fake_bridge``; Mavi a stand-in that hands out job ids.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from airflow_provider_mavi.compat import TaskDeferred
from airflow_provider_mavi.exceptions import MaviError
from airflow_provider_mavi.operators.mavi import MaviExtractFramesOperator


class OneJobMavi:
    def extract_frames(self, asset_id: str) -> str:
        return "job-1"


def operator(fake_bridge: Any, **kwargs: Any) -> MaviExtractFramesOperator:
    op = MaviExtractFramesOperator(task_id="frames", asset_id="re_1", **kwargs)
    op.hook = OneJobMavi()
    op.bridge_hook = fake_bridge.hook(retry_policy=op.mavi_retry_policy.with_attempts(1))
    return op


def test_the_job_record_names_the_task_instance_and_the_deadline(fake_bridge: Any, run: Any) -> None:
    before = time.time()
    with pytest.raises(TaskDeferred):
        operator(fake_bridge, callback_timeout=600).execute(run.context("frames", map_index=3))
    record = fake_bridge.jobs["job-1"]
    assert (record["dag_id"], record["run_id"], record["task_id"], record["map_index"]) == (
        "mavi_unit",
        "manual__unit",
        "frames",
        3,
    )
    assert before + 600 - 1 <= record["deadline"] <= time.time() + 600
    assert (record["kind"], record["asset_id"]) == ("extract_frames", "re_1")


def test_a_successful_job_records_its_price(fake_bridge: Any, run: Any, kit: Any) -> None:
    with pytest.raises(TaskDeferred):
        operator(fake_bridge, video_duration_seconds=6).execute(run.context("frames"))
    fake_bridge.deliver("job-1", kit.frames_callback("job-1"))
    event = {"status": "success", "job_id": "job-1", "payload": kit.frames_callback("job-1")}
    result = operator(fake_bridge, video_duration_seconds=6).execute_complete(run.context("frames"), event)
    assert result["cost_usd"] == fake_bridge.jobs["job-1"]["cost_usd"] == 0.06


def test_an_unknown_price_is_recorded_as_null_never_a_guess(fake_bridge: Any, run: Any, kit: Any) -> None:
    with pytest.raises(TaskDeferred):
        operator(fake_bridge).execute(run.context("frames"))  # no video duration: the price is unknown
    event = {"status": "success", "job_id": "job-1", "payload": kit.frames_callback("job-1")}
    assert operator(fake_bridge).execute_complete(run.context("frames"), event)["cost_usd"] is None
    assert fake_bridge.jobs["job-1"]["cost_usd"] is None
    assert fake_bridge.count("POST", "/v1/jobs/job-1/cost") == 1


def test_a_failed_job_records_no_price(fake_bridge: Any, run: Any, kit: Any) -> None:
    with pytest.raises(TaskDeferred):
        operator(fake_bridge).execute(run.context("frames"))
    event = {"status": "success", "job_id": "job-1", "payload": kit.failure_callback("job-1")}
    with pytest.raises(MaviError, match="Video decoding failed"):
        operator(fake_bridge).execute_complete(run.context("frames"), event)
    assert fake_bridge.count("POST", "/v1/jobs/job-1/cost") == 0
    assert "cost_usd" not in fake_bridge.jobs["job-1"]


def test_a_bridge_that_cannot_record_the_price_does_not_fail_the_paid_task(
    fake_bridge: Any, run: Any, kit: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(TaskDeferred):
        operator(fake_bridge, video_duration_seconds=6).execute(run.context("frames"))
    fake_bridge.script = [httpx.ConnectError("refused")] * 5
    event = {"status": "success", "job_id": "job-1", "payload": kit.frames_callback("job-1")}
    result = operator(fake_bridge, video_duration_seconds=6).execute_complete(run.context("frames"), event)
    assert result["frame_count"] == 3
    out = capsys.readouterr().out
    assert "Could not record the price of Mavi job job-1 in the bridge: MaviBridgeUnavailableError" in out
    assert fake_bridge.token not in out
