"""Extract-frames and transcribe operators: deferral, submit-once, blocking mode, against real servers.

Mavi is the emulator (real media work) sending callbacks to a real bridge subprocess; the Airflow runtime
context (XCom, task state store) is the small in-memory stand-in of tests/conftest.py.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import webvtt

from airflow_provider_mavi.bridge.testing import BridgeServer, free_port
from airflow_provider_mavi.compat import TaskDeferred
from airflow_provider_mavi.hooks.bridge import MaviBridgeHook
from airflow_provider_mavi.hooks.mavi import MaviHook
from airflow_provider_mavi.operators.mavi import (
    MaviBridgeNotConfiguredError,
    MaviExtractFramesOperator,
    MaviJobFailedError,
    MaviJobTimeoutError,
    MaviOperatorError,
    MaviTranscribeVideoOperator,
    MaviWaitError,
)
from airflow_provider_mavi.triggers.mavi import MaviJobCallbackTrigger


@pytest.fixture
def asset_id(wired: Any, sample_video: Any) -> str:
    hook = MaviHook()
    asset = hook.upload_file(str(sample_video))
    hook.wait_for_asset_ready(asset, timeout=60, poll_interval=0.1)
    return asset


def jobs_submitted(emulator: Any, kind: str = "extract_frames") -> int:
    return sum(1 for job in emulator.stats()["jobs"] if job["kind"] == kind)


def wait_for_callback(bridge: BridgeServer, job_id: str) -> dict[str, Any]:
    with MaviBridgeHook.from_url(bridge.url, bridge.token) as hook:
        record = hook.wait_for(job_id, timeout=60)
    assert record is not None, f"no callback for {job_id}"
    return record.payload


def deferred(operator: Any, context: dict[str, Any]) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as caught:
        operator.execute(context)
    return caught.value


# ------------------------------------------------------------------------------------------ deferral


def test_extract_frames_pushes_the_job_id_and_defers(
    wired: Any, bridge: BridgeServer, asset_id: str, run: Any
) -> None:
    op = MaviExtractFramesOperator(task_id="frames", asset_id=asset_id, video_duration_seconds=6.0)
    context = run.context("frames")
    before = time.time()
    deferral = deferred(op, context)
    trigger = deferral.trigger
    assert isinstance(trigger, MaviJobCallbackTrigger)
    job_id = run.xcom("frames", "job_id")
    assert trigger.job_id == job_id
    assert before + 3600 - 5 <= trigger.deadline <= time.time() + 3600
    assert deferral.method_name == "execute_complete"
    assert deferral.kwargs == {"job_id": job_id}
    assert context["task_state_store"].get("mavi_job")["job_id"] == job_id
    with MaviBridgeHook.from_url(bridge.url, bridge.token) as hook:
        recorded = hook.find_job(f"mavi_unit/manual__unit/frames/-1|extract_frames:{asset_id}")
    assert recorded is not None
    assert recorded["job_id"] == job_id
    assert jobs_submitted(wired) == 1


def test_extract_frames_success_event(wired: Any, bridge: BridgeServer, asset_id: str, run: Any) -> None:
    op = MaviExtractFramesOperator(task_id="frames", asset_id=asset_id, video_duration_seconds=6.0)
    context = run.context("frames")
    job_id = deferred(op, context).trigger.job_id
    payload = wait_for_callback(bridge, job_id)
    result = op.execute_complete(
        context, {"status": "success", "job_id": job_id, "payload": payload}, job_id=job_id
    )
    assert set(result) == {"job_id", "frames_asset_id", "frame_asset_ids", "frame_count", "cost_usd"}
    assert result["job_id"] == job_id
    assert result["frames_asset_id"].startswith("im_")
    assert result["frame_count"] == len(result["frame_asset_ids"]) >= 5
    assert all(f.startswith("imc_") for f in result["frame_asset_ids"])
    assert result["cost_usd"] == 0.06
    assert run.xcom("frames", "frames_asset_id") == result["frames_asset_id"]
    assert run.xcom("frames", "mavi_cost_usd") == 0.06
    json.dumps(result)


def test_unknown_duration_gives_null_cost_and_says_why(
    wired: Any, bridge: BridgeServer, asset_id: str, run: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    op = MaviExtractFramesOperator(task_id="frames", asset_id=asset_id)
    context = run.context("frames")
    job_id = deferred(op, context).trigger.job_id
    payload = wait_for_callback(bridge, job_id)
    result = op.execute_complete(
        context, {"status": "success", "job_id": job_id, "payload": payload}, job_id=job_id
    )
    assert result["cost_usd"] is None
    assert "cost_usd is null: the video's duration is unknown" in capsys.readouterr().out


def test_duration_from_the_upload_media_xcom(
    wired: Any, bridge: BridgeServer, asset_id: str, run: Any
) -> None:
    media = {"asset_id": asset_id, "source": "/x.mp4", "size_bytes": 10, "duration_seconds": 12.5}
    op = MaviExtractFramesOperator(task_id="frames", asset_id=asset_id, video_duration_seconds=media)
    context = run.context("frames")
    job_id = deferred(op, context).trigger.job_id
    payload = wait_for_callback(bridge, job_id)
    result = op.execute_complete(
        context, {"status": "success", "job_id": job_id, "payload": payload}, job_id=job_id
    )
    assert result["cost_usd"] == 0.125


@pytest.mark.parametrize("bad", ["six", -1, float("nan"), True, [6]])
def test_unreadable_duration_fails_before_anything_is_paid(
    wired: Any, asset_id: str, run: Any, bad: Any
) -> None:
    op = MaviExtractFramesOperator(task_id="frames", asset_id=asset_id, video_duration_seconds=bad)
    with pytest.raises(MaviOperatorError, match="video_duration_seconds"):
        op.execute(run.context("frames"))
    assert jobs_submitted(wired) == 0


@pytest.mark.parametrize("bad", ["", "   ", None, 5])
def test_missing_asset_id_fails_before_anything_is_sent(wired: Any, run: Any, bad: Any) -> None:
    with pytest.raises(MaviOperatorError, match="asset_id must be a non-empty string"):
        MaviExtractFramesOperator(task_id="frames", asset_id=bad).execute(run.context("frames"))
    assert wired.stats()["jobs"] == []


# ------------------------------------------------------------------------------------------ events


# ------------------------------------------------------------------------------------------ submit once


def test_retry_re_attaches_through_the_state_store(wired: Any, asset_id: str, run: Any) -> None:
    wired.set_faults({"callback_delay": {"seconds": 30, "probability": 1}})
    first = deferred(MaviExtractFramesOperator(task_id="frames", asset_id=asset_id), run.context("frames"))
    second = deferred(MaviExtractFramesOperator(task_id="frames", asset_id=asset_id), run.context("frames"))
    assert second.trigger.job_id == first.trigger.job_id
    assert second.trigger.deadline == first.trigger.deadline  # the deadline is not reset either
    assert jobs_submitted(wired) == 1


def test_retry_re_attaches_through_the_bridge_without_a_state_store(
    wired: Any, asset_id: str, run: Any
) -> None:
    wired.set_faults({"callback_delay": {"seconds": 30, "probability": 1}})
    first = deferred(
        MaviExtractFramesOperator(task_id="frames", asset_id=asset_id),
        run.context("frames", state_store=False),
    )
    second = deferred(
        MaviExtractFramesOperator(task_id="frames", asset_id=asset_id),
        run.context("frames", state_store=False),
    )
    assert second.trigger.job_id == first.trigger.job_id
    assert jobs_submitted(wired) == 1


def test_mapped_instances_are_separate_jobs(wired: Any, asset_id: str, run: Any) -> None:
    wired.set_faults({"callback_delay": {"seconds": 30, "probability": 1}})
    ids = {
        deferred(
            MaviExtractFramesOperator(task_id="frames", asset_id=asset_id),
            run.context("frames", map_index=index, state_store=False),
        ).trigger.job_id
        for index in (0, 1)
    }
    assert len(ids) == 2


def test_retry_uses_a_delivered_callback_without_deferring(
    wired: Any, bridge: BridgeServer, asset_id: str, run: Any
) -> None:
    first = deferred(MaviExtractFramesOperator(task_id="frames", asset_id=asset_id), run.context("frames"))
    wait_for_callback(bridge, first.trigger.job_id)
    result = MaviExtractFramesOperator(task_id="frames", asset_id=asset_id).execute(run.context("frames"))
    assert result["job_id"] == first.trigger.job_id
    assert result["frame_count"] >= 5
    assert jobs_submitted(wired) == 1


def test_retry_after_a_failure_callback_submits_again(
    wired: Any, bridge: BridgeServer, asset_id: str, run: Any
) -> None:
    wired.set_faults({"failure_callback": {"next": 1, "msg": "Video decoding failed"}})
    first = deferred(MaviExtractFramesOperator(task_id="frames", asset_id=asset_id), run.context("frames"))
    payload = wait_for_callback(bridge, first.trigger.job_id)
    assert payload["code"] != 200
    second = deferred(MaviExtractFramesOperator(task_id="frames", asset_id=asset_id), run.context("frames"))
    assert second.trigger.job_id != first.trigger.job_id
    assert jobs_submitted(wired) == 2


def test_retry_after_the_deadline_submits_again(wired: Any, asset_id: str, run: Any) -> None:
    wired.set_faults({"drop_callback": {"next": 1}})
    first = deferred(
        MaviExtractFramesOperator(task_id="frames", asset_id=asset_id, callback_timeout=0.5),
        run.context("frames"),
    )
    time.sleep(0.7)
    second = deferred(
        MaviExtractFramesOperator(task_id="frames", asset_id=asset_id, callback_timeout=0.5),
        run.context("frames"),
    )
    assert second.trigger.job_id != first.trigger.job_id
    assert jobs_submitted(wired) == 2


def test_a_retry_asking_for_another_asset_does_not_re_attach(
    wired: Any, sample_video: Any, asset_id: str, run: Any
) -> None:
    wired.set_faults({"callback_delay": {"seconds": 30, "probability": 1}})
    hook = MaviHook()
    other = hook.upload_file(str(sample_video))
    hook.wait_for_asset_ready(other, timeout=60, poll_interval=0.1)
    first = deferred(MaviExtractFramesOperator(task_id="frames", asset_id=asset_id), run.context("frames"))
    second = deferred(MaviExtractFramesOperator(task_id="frames", asset_id=other), run.context("frames"))
    assert second.trigger.job_id != first.trigger.job_id


def test_unreachable_bridge_fails_before_submitting(
    wired: Any, asset_id: str, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_MAVI_DEFAULT",
        json.dumps(
            {
                "conn_type": "mavi",
                "host": wired.base_url,
                "password": wired.api_key,
                "extra": {"bridge_url": f"http://127.0.0.1:{free_port()}", "bridge_token": "t0ken"},
            }
        ),
    )
    with pytest.raises(MaviWaitError, match="Nothing was submitted") as caught:
        MaviExtractFramesOperator(task_id="frames", asset_id=asset_id).execute(run.context("frames"))
    assert "t0ken" not in str(caught.value)
    assert jobs_submitted(wired) == 0


def test_connection_without_bridge_fails_before_submitting(
    wired: Any, asset_id: str, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_MAVI_DEFAULT",
        json.dumps({"conn_type": "mavi", "host": wired.base_url, "password": wired.api_key}),
    )
    with pytest.raises(MaviBridgeNotConfiguredError, match="nothing was submitted"):
        MaviExtractFramesOperator(task_id="frames", asset_id=asset_id).execute(run.context("frames"))
    assert jobs_submitted(wired) == 0


# ------------------------------------------------------------------------------------------ blocking


def test_blocking_mode_waits_in_the_worker(wired: Any, asset_id: str, run: Any) -> None:
    op = MaviExtractFramesOperator(
        task_id="frames", asset_id=asset_id, deferrable=False, video_duration_seconds="6"
    )
    result = op.execute(run.context("frames"))
    assert result["frames_asset_id"].startswith("im_")
    assert result["cost_usd"] == 0.06
    assert run.xcom("frames", "job_id") == result["job_id"]


def test_blocking_mode_failure_callback(wired: Any, asset_id: str, run: Any) -> None:
    wired.set_faults({"failure_callback": {"next": 1, "msg": "Out of credits for frames"}})
    op = MaviExtractFramesOperator(task_id="frames", asset_id=asset_id, deferrable=False)
    with pytest.raises(MaviJobFailedError, match="Out of credits for frames"):
        op.execute(run.context("frames"))


def test_blocking_mode_timeout(wired: Any, bridge: BridgeServer, asset_id: str, run: Any) -> None:
    wired.set_faults({"drop_callback": {"next": 1}})
    op = MaviExtractFramesOperator(
        task_id="frames", asset_id=asset_id, deferrable=False, callback_timeout=1.5
    )
    with pytest.raises(MaviJobTimeoutError) as caught:
        op.execute(run.context("frames"))
    job_id = run.xcom("frames", "job_id")
    assert f"mavi-bridge show {job_id}" in str(caught.value)
    assert bridge.url in str(caught.value)
    assert bridge.token not in str(caught.value)


# ------------------------------------------------------------------------------------------ transcribe


def test_transcribe_defers_and_returns_segments(
    wired: Any, bridge: BridgeServer, asset_id: str, run: Any
) -> None:
    op = MaviTranscribeVideoOperator(task_id="describe", asset_id=asset_id)
    context = run.context("describe")
    job_id = deferred(op, context).trigger.job_id
    payload = wait_for_callback(bridge, job_id)
    result = op.execute_complete(
        context, {"status": "success", "job_id": job_id, "payload": payload}, job_id=job_id
    )
    assert set(result) == {"job_id", "model", "segments", "usage", "cost_usd"}
    assert result["model"] == "gemini-2.5-flash-lite"
    assert result["segments"]
    assert set(result["segments"][0]) == {"start_time", "end_time", "text", "speaker"}
    usage = result["usage"]
    expected = round(usage["prompt_tokens"] * 0.45e-6 + usage["output_tokens"] * 3.75e-6, 6)
    assert result["cost_usd"] == expected


def test_transcribe_to_output_path_keeps_a_summary(
    wired: Any, asset_id: str, run: Any, tmp_path: Any
) -> None:
    out = tmp_path / "transcripts"
    op = MaviTranscribeVideoOperator(
        task_id="describe", asset_id=asset_id, output_path=str(out), deferrable=False
    )
    result = op.execute(run.context("describe"))
    assert "segments" not in result
    assert set(result) == {"job_id", "model", "usage", "cost_usd", "segment_count", "json_path", "vtt_path"}
    with open(result["json_path"]) as handle:
        document = json.load(handle)
    assert document["job_id"] == result["job_id"]
    assert len(document["segments"]) == result["segment_count"] > 0
    captions = webvtt.read(result["vtt_path"]).captions
    assert len(captions) == result["segment_count"]
    assert captions[0].text == document["segments"][0]["text"].strip()


def test_transcribe_rejects_an_unsupported_model_before_sending(wired: Any, asset_id: str, run: Any) -> None:
    op = MaviTranscribeVideoOperator(task_id="describe", asset_id=asset_id, model="gpt-4o")
    with pytest.raises(MaviOperatorError, match="model 'gpt-4o' is not supported"):
        op.execute(run.context("describe"))
    assert wired.stats()["jobs"] == []


def test_a_retry_with_another_model_does_not_re_attach(wired: Any, asset_id: str, run: Any) -> None:
    wired.set_faults({"callback_delay": {"seconds": 30, "probability": 1}})
    first = deferred(MaviTranscribeVideoOperator(task_id="d", asset_id=asset_id), run.context("d"))
    second = deferred(
        MaviTranscribeVideoOperator(task_id="d", asset_id=asset_id, model="gemini-2.5-flash"),
        run.context("d"),
    )
    assert first.trigger.job_id != second.trigger.job_id


# ------------------------------------------------------------------------------------------ spend


def test_transcribe_writes_through_object_storage(wired: Any, asset_id: str, run: Any) -> None:
    import fsspec
    from airflow.sdk import ObjectStoragePath
    from airflow.sdk.io import attach

    attach("memory", fs=fsspec.filesystem("memory"))
    op = MaviTranscribeVideoOperator(
        task_id="describe", asset_id=asset_id, output_path="memory://results/run1/", deferrable=False
    )
    result = op.execute(run.context("describe"))
    assert result["json_path"] == f"memory://results/run1/{result['job_id']}.json"
    stored = json.loads(ObjectStoragePath(result["json_path"]).read_text())
    assert len(stored["segments"]) == result["segment_count"]
    assert ObjectStoragePath(result["vtt_path"]).read_text().startswith("WEBVTT")


def test_retry_after_the_deadline_uses_a_callback_that_came_late(
    wired: Any, bridge: BridgeServer, asset_id: str, run: Any
) -> None:
    wired.set_faults({"callback_delay": {"seconds": 1.5, "probability": 1}})
    first = deferred(
        MaviExtractFramesOperator(task_id="frames", asset_id=asset_id, callback_timeout=0.5),
        run.context("frames"),
    )
    wait_for_callback(bridge, first.trigger.job_id)  # arrives after the 0.5 s deadline
    assert time.time() > first.trigger.deadline
    result = MaviExtractFramesOperator(task_id="frames", asset_id=asset_id, callback_timeout=0.5).execute(
        run.context("frames")
    )
    assert result["job_id"] == first.trigger.job_id
    assert jobs_submitted(wired) == 1
