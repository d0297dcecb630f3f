"""execute_complete of the operators: every event checked first, then turned into a result or an error."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_mavi.operators.mavi import (
    MaviAssetFailedError,
    MaviDeleteAssetOperator,
    MaviDownloadAssetOperator,
    MaviExtractFramesOperator,
    MaviJobFailedError,
    MaviJobTimeoutError,
    MaviOperatorError,
    MaviTranscribeVideoOperator,
    MaviTriggerEventError,
    MaviUploadOperator,
    MaviWaitError,
)


@pytest.fixture
def op() -> MaviExtractFramesOperator:
    return MaviExtractFramesOperator(task_id="frames", asset_id="re_1")


def test_failed_event_raises_with_mavi_message(op: Any, run: Any) -> None:
    with pytest.raises(MaviJobFailedError, match="Mavi job j1 failed: Video decoding failed") as caught:
        op.execute_complete(
            run.context("frames"),
            {"status": "failed", "job_id": "j1", "message": "Video decoding failed"},
            job_id="j1",
        )
    assert caught.value.mavi_message == "Video decoding failed"


def test_timeout_event_names_bridge_job_and_the_command(op: Any, run: Any) -> None:
    detail = {"deadline": 1.0, "bridge_url": "http://127.0.0.1:8787"}
    event = {"status": "timeout", "job_id": "j1", "detail": detail}
    with pytest.raises(MaviJobTimeoutError) as caught:
        op.execute_complete(run.context("frames"), event, job_id="j1")
    text = str(caught.value)
    assert "http://127.0.0.1:8787" in text
    assert "j1" in text
    assert "mavi-bridge show j1" in text


def test_error_event_raises_a_wait_error(op: Any, run: Any) -> None:
    with pytest.raises(MaviWaitError, match="re-attaches"):
        op.execute_complete(
            run.context("frames"), {"status": "error", "job_id": "j1", "message": "401"}, job_id="j1"
        )


@pytest.mark.parametrize(
    ("event", "match"),
    [
        (None, "not an object"),
        ("success", "not an object"),
        ({"status": "done", "job_id": "j1"}, "unknown status 'done'"),
        ({"job_id": "j1"}, "unknown status None"),
        ({"status": "success", "job_id": "j1"}, "carries no callback payload"),
        ({"status": "success", "job_id": "j1", "payload": "x"}, "carries no callback payload"),
        ({"status": "success", "job_id": "j2", "payload": {}}, "for job 'j2'"),
    ],
)
def test_invalid_events_are_their_own_error(op: Any, run: Any, event: Any, match: str) -> None:
    context = run.context("frames")
    with pytest.raises(MaviTriggerEventError, match=match):
        op.execute_complete(context, event, job_id="j1")
    assert run.xcom("frames", "mavi_cost_usd") is None  # nothing recorded


def test_malformed_success_payload_names_the_field(op: Any, run: Any) -> None:
    from airflow_provider_mavi.exceptions import MaviCallbackError

    payload = {"code": 200, "message": "SUCCESS", "task_id": "j1", "data": {"asset_id": "im_1"}}
    with pytest.raises(MaviCallbackError, match=r"data\.asset_ch_ids"):
        op.execute_complete(
            run.context("frames"), {"status": "success", "job_id": "j1", "payload": payload}, job_id="j1"
        )


def test_running_spend_is_logged_over_the_run(run: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from airflow_provider_mavi.operators.base import log_spend

    op = MaviExtractFramesOperator(task_id="a", asset_id="re_1")
    log_spend(run.context("a"), 0.06, op)
    log_spend(run.context("b"), None, op)
    log_spend(run.context("c"), 0.0135, op)
    assert (
        "of this DAG run so far: $0.0735 over 2 priced task(s) (and 1 task(s) without a known price)"
        in capsys.readouterr().out
    )


def test_template_fields_cover_every_id() -> None:
    assert set(MaviExtractFramesOperator.template_fields) >= {"asset_id", "video_duration_seconds"}
    assert set(MaviTranscribeVideoOperator.template_fields) >= {"asset_id", "model", "output_path"}


def test_operators_expand() -> None:
    from airflow.sdk import DAG

    with DAG("expand_check", schedule=None):
        mapped = MaviExtractFramesOperator.partial(task_id="frames", video_duration_seconds=6).expand(
            asset_id=["re_1", "re_2"]
        )
    assert mapped.task_id == "frames"


def test_keyword_only_init() -> None:
    with pytest.raises(TypeError):
        MaviExtractFramesOperator("frames", "re_1")  # type: ignore[misc]
    with pytest.raises(ValueError, match="callback_timeout"):
        MaviExtractFramesOperator(task_id="frames", asset_id="re_1", callback_timeout=0)


def test_timeout_error_keeps_why_the_last_look_failed(op: Any, run: Any) -> None:
    event = {
        "status": "timeout",
        "job_id": "j1",
        "message": "no callback in time",
        "detail": {
            "bridge_url": "http://127.0.0.1:1",
            "last_error": "MaviBridgeError: 404 from x: is bridge_url right?",
        },
    }
    with pytest.raises(
        MaviJobTimeoutError, match=r"could not be asked at the deadline: MaviBridgeError: 404"
    ):
        op.execute_complete(run.context("frames"), event, job_id="j1")


@pytest.mark.parametrize(
    ("event", "error", "match"),
    [
        ({"status": "failed", "asset_id": "re_1", "message": "FAILED"}, MaviAssetFailedError, "not usable"),
        (
            {"status": "timeout", "asset_id": "re_1", "message": "late"},
            MaviOperatorError,
            "not ready in time",
        ),
        ({"status": "maybe", "asset_id": "re_1"}, MaviTriggerEventError, "unknown status"),
        ({"status": "success", "asset_id": "re_2"}, MaviTriggerEventError, "not 're_1'"),
        ([], MaviTriggerEventError, "not an object"),
    ],
)
def test_upload_execute_complete_rejects_bad_events(run: Any, event: Any, error: type, match: str) -> None:
    op = MaviUploadOperator(task_id="upload", source="/x.mp4")
    with pytest.raises(error, match=match):
        op.execute_complete(run.context("upload"), event, asset_id="re_1")


def test_every_id_field_is_templated() -> None:
    assert "source" in MaviUploadOperator.template_fields
    assert {"asset_id", "destination"} <= set(MaviDownloadAssetOperator.template_fields)
    assert "asset_id" in MaviDeleteAssetOperator.template_fields
    json.dumps(list(MaviUploadOperator.template_fields))
