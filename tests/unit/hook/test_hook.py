"""MaviHook over mocked transports: call/acall, the one retry engine with per-call overrides, a permit from
the endpoint's bucket per attempt, readiness of frame groups, streamed uploads and downloads."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import traceback

import httpx
import pytest
import requests

from airflow_provider_mavi import endpoints
from airflow_provider_mavi.exceptions import (
    MaviAssetFailedError,
    MaviConnectionError,
    MaviError,
    MaviNotFoundError,
    MaviRateLimitError,
    MaviServerError,
    MaviTimeoutError,
)
from airflow_provider_mavi.hooks.mavi import MaviHook
from airflow_provider_mavi.retry import RetryPolicy

from .conftest import API_KEY, BASE, Reply, err, ok, wire

JOB = "1e8ae1075e054e8abb58e7598c53cbf1"
META = {"total": 1, "resource": [{"asset_id": "re_1", "upload_status": "SUCCESS"}]}


def frames(*statuses: str) -> dict:
    entries = [{"asset_id": f"imc_1_{i}", "upload_status": s} for i, s in enumerate(statuses)]
    return {"total": len(entries), "resource": entries}


# ------------------------------------------------------------------------------------ call and acall


def test_call_submits_a_job_and_takes_a_permit_from_its_bucket(hook, mavi):
    mavi.route("POST", "/video/extract-frames", ok({"task_id": JOB}))
    assert hook.call(endpoints.EXTRACT_FRAMES, asset_id="re_1") == JOB
    (seen,) = mavi.seen()
    assert seen.url == f"{BASE}/video/extract-frames"
    assert seen.headers["Authorization"] == API_KEY
    assert json.loads(seen.body) == {"asset_id": "re_1"}
    assert hook.limiter.buckets == ["Extract Video Frames"]


def test_named_methods_are_the_catalogue_calls(hook, mavi):
    mavi.route("GET", "/re_1/metadata", ok(META))
    mavi.route("DELETE", "/re_1", ok(None))
    mavi.route("POST", "/transcriptions/async-generate-video", ok({"task_id": JOB}))
    mavi.route("POST", "/transcriptions/async-generate-audio", ok({"task_id": JOB}))
    assert hook.get_asset_metadata("re_1") == META["resource"]
    assert hook.delete_asset("re_1") is None
    assert hook.transcribe_video("re_1", model="gemini-2.5-flash") == JOB
    assert hook.transcribe_audio("re_1", speaker=True) == JOB
    assert [json.loads(s.body) for s in mavi.seen("POST")] == [
        {"asset_id": "re_1", "model": "gemini-2.5-flash"},
        {"asset_id": "re_1", "model": "whisper-1", "speaker": True},
    ]
    assert hook.limiter.buckets == [
        "Get Asset Metadata",
        "Delete Asset",
        "Async Generate Video Description",
        "Async Generate Audio Transcription",
    ]


def test_bad_parameters_send_nothing(hook, mavi):
    with pytest.raises(ValueError, match="Unsupported video description model"):
        hook.transcribe_video("re_1", model="openai/gpt-5-mini")
    with pytest.raises(ValueError, match="Not a Mavi asset id"):
        hook.get_asset_metadata("../x")
    with pytest.raises(TypeError, match="fps"):
        hook.call(endpoints.EXTRACT_FRAMES, asset_id="re_1", fps=2)
    with pytest.raises(ValueError, match="download_asset"):
        hook.call(endpoints.DOWNLOAD, asset_id="re_1")
    assert mavi.seen() == []
    assert hook.limiter.buckets == []


def test_acall_retries_with_a_permit_per_attempt(hook, mavi):
    mavi.route(
        "GET", "/re_1/metadata", err(429, "slow"), Reply(error=httpx.ConnectError("refused")), ok(META)
    )
    assert asyncio.run(hook.acall(endpoints.METADATA, asset_id="re_1")) == META["resource"]
    assert len(mavi.seen()) == 3
    assert hook.limiter.buckets == ["Get Asset Metadata"] * 3


def test_async_twin_maps_errors_like_the_sync_one(hook, mavi):
    mavi.route("GET", "/re_1/metadata", err(400, "Asset not found"))
    with pytest.raises(MaviNotFoundError):
        asyncio.run(hook.aget_asset_metadata("re_1"))
    with pytest.raises(MaviNotFoundError):
        hook.get_asset_metadata("re_1")
    assert len(mavi.seen()) == 2  # not retried, either way


def test_async_submit_is_not_retried_after_a_timeout(hook, mavi):
    mavi.route("POST", "/video/extract-frames", Reply(error=httpx.ReadTimeout("slow")), ok({"task_id": JOB}))
    with pytest.raises(MaviTimeoutError, match="NOT resubmitted") as info:
        asyncio.run(hook.acall(endpoints.EXTRACT_FRAMES, asset_id="re_1"))
    assert info.value.outcome_unknown
    assert len(mavi.seen()) == 1


def test_acall_refuses_streamed_files(hook, mavi, tmp_path):
    source = tmp_path / "a.mp4"
    source.write_bytes(b"x")
    with pytest.raises(ValueError, match="streams a file"):
        asyncio.run(hook.acall(endpoints.UPLOAD, source=source))
    assert mavi.seen() == []


# ------------------------------------------------------------------------------------ retries


def test_test_connection_sends_exactly_one_request(hook, mavi):
    mavi.route("GET", "/re_0/metadata", err(503, "busy"))
    good, message = hook.test_connection()
    assert not good
    assert "HTTP 503" in message
    assert len(mavi.seen()) == 1  # the hook's policy would allow 3
    with pytest.raises(MaviServerError):
        hook.get_asset_metadata("re_0")
    assert len(mavi.seen()) == 1 + 3


def test_the_attempts_override_works_both_ways(hook, mavi):
    mavi.route("GET", "/re_1/metadata", err(503, "busy"))
    with pytest.raises(MaviServerError):
        hook.call(endpoints.METADATA, asset_id="re_1", attempts=2)
    assert len(mavi.seen()) == 2
    with pytest.raises(MaviServerError):
        asyncio.run(hook.acall(endpoints.METADATA, asset_id="re_1", attempts=1))
    assert len(mavi.seen()) == 3


def test_test_connection_accepts_asset_not_found(hook, mavi):
    mavi.route("GET", "/re_0/metadata", err(400, "Asset not found"))
    assert hook.test_connection() == (True, "Connection OK: Mavi accepted the API key.")


def test_ambiguous_limit_answer_uses_limit_attempts(mavi, monkeypatch):
    hook = MaviHook(retry_policy=RetryPolicy(max_attempts=6, limit_attempts=2, base_delay=0, max_delay=0))
    wire(hook, mavi, monkeypatch)
    mavi.route("POST", "/video/extract-frames", err(400, "Request has exceeded the limit."))
    with pytest.raises(MaviRateLimitError, match="wrong asset id") as info:
        hook.extract_frames("re_1")
    assert info.value.ambiguous
    assert len(mavi.seen()) == 2


@pytest.mark.parametrize(
    ("failure", "sent"),
    [(requests.ConnectTimeout(), 2), (requests.ReadTimeout(), 1), (requests.ConnectionError("reset"), 1)],
)
def test_a_submit_is_repeated_only_when_it_was_not_sent(hook, mavi, failure, sent):
    mavi.route("POST", "/video/extract-frames", Reply(error=failure), ok({"task_id": JOB}))
    if sent == 2:
        assert hook.extract_frames("re_1") == JOB
    else:
        with pytest.raises(MaviError, match="NOT resubmitted") as info:
            hook.extract_frames("re_1")
        assert info.value.outcome_unknown
    assert len(mavi.seen()) == sent


def test_a_read_is_repeated_after_any_transport_failure(hook, mavi):
    mavi.route(
        "GET",
        "/re_1/metadata",
        Reply(error=requests.ReadTimeout()),
        Reply(error=requests.ConnectionError()),
        ok(META),
    )
    assert hook.get_asset_metadata("re_1") == META["resource"]
    assert hook.limiter.buckets == ["Get Asset Metadata"] * 3


def test_retries_are_logged_without_the_key(hook, mavi, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    mavi.route("GET", "/re_1/metadata", err(500, f"boom {API_KEY}"))
    with pytest.raises(MaviServerError) as info:
        hook.get_asset_metadata("re_1")
    output = caplog.text + "".join(capsys.readouterr())
    assert "GET /re_1/metadata failed (MaviServerError); attempt 1 of 3" in output
    text = output + "".join(traceback.format_exception(info.value)) + repr(info.value)
    assert API_KEY not in text


def test_delete_counts_as_done_when_a_retry_finds_the_asset_gone(hook, mavi):
    mavi.route("DELETE", "/re_1", err(502, "gateway"), err(400, "Asset not found"))
    hook.delete_asset("re_1")
    assert len(mavi.seen()) == 2


# ------------------------------------------------------------------------------------ readiness


def test_wait_for_a_frame_group_ends_when_every_frame_is_ready(hook, mavi):
    mavi.route("GET", "/im_1/metadata", ok(frames("SUCCESS", "UPLOADING")), ok(frames("SUCCESS", "SUCCESS")))
    assert hook.wait_for_asset_ready("im_1", timeout=10, poll_interval=0.01) == {
        "asset_id": "im_1",
        "frames": 2,
    }
    assert len(mavi.seen()) == 2


def test_wait_for_a_frame_group_fails_when_a_frame_failed(hook, mavi):
    mavi.route("GET", "/im_1/metadata", ok(frames("SUCCESS", "FAILED")))
    with pytest.raises(MaviAssetFailedError) as info:
        hook.wait_for_asset_ready("im_1", timeout=10, poll_interval=0.01)
    assert info.value.asset_id == "im_1"


def test_wait_for_an_asset_returns_its_own_entry(hook, mavi):
    waiting = {"total": 1, "resource": [{"asset_id": "re_1", "upload_status": "WAITING"}]}
    mavi.route("GET", "/re_1/metadata", ok(waiting), ok(META))
    assert hook.wait_for_asset_ready("re_1", timeout=10, poll_interval=0.01) == META["resource"][0]


def test_wait_times_out_with_the_last_status(hook, mavi):
    mavi.route(
        "GET",
        "/re_1/metadata",
        ok({"total": 1, "resource": [{"asset_id": "re_1", "upload_status": "UPLOADING"}]}),
    )
    with pytest.raises(MaviTimeoutError, match="last upload_status: UPLOADING"):
        hook.wait_for_asset_ready("re_1", timeout=0.05, poll_interval=0.01)


# ------------------------------------------------------------------------------------ transfers


def test_upload_through_call_streams_the_file(hook, mavi, tmp_path):
    source = tmp_path / "clip.mp4"
    source.write_bytes(b"v" * 3000)
    mavi.route("POST", "/upload", ok({"asset_id": "re_9"}))
    assert hook.call(endpoints.UPLOAD, source=source) == "re_9"
    (seen,) = mavi.seen()
    assert seen.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert int(seen.headers["Content-Length"]) == len(seen.body)
    assert b"v" * 3000 in seen.body
    assert hook.limiter.buckets == ["Upload File"]


@pytest.mark.parametrize(("method", "endpoint"), [("POST", "signed_upload"), ("PUT", "signed_upload_put")])
def test_signed_upload_takes_two_buckets_and_never_sends_the_key(
    mavi, monkeypatch, tmp_path, method, endpoint
):
    source = tmp_path / "big.mp4"
    source.write_bytes(b"b" * 5000)
    signed = "https://storage.example/bucket/re_5.mp4?X-Goog-Signature=SIGSECRET"
    mavi.route("POST", "/upload/signed-url", ok({"asset_id": "re_5", "signed_url": signed}))
    mavi.route(method, signed, Reply(200))
    hook = MaviHook(signed_upload_threshold=1000, signed_upload_method=method)
    limiter = wire(hook, mavi, monkeypatch)
    assert hook.upload_file(source) == "re_5"
    ask, put = mavi.seen()
    assert json.loads(ask.body) == {"original_filename": "big.mp4"}
    assert put.url == signed
    assert "Authorization" not in put.headers
    assert (put.body == b"b" * 5000) is (method == "PUT")  # PUT: the raw bytes; POST: a multipart form
    assert limiter.buckets == ["Get Upload Signed URL", "Upload File Using Signed URL"]


def test_download_streams_to_a_directory(hook, mavi, tmp_path):
    headers = {"Content-Type": "video/mp4", "Content-Disposition": 'attachment; filename="../clip.mp4"'}
    mavi.route("GET", "/re_1/download", Reply(200, body=b"d" * 100_000, headers=headers))
    written = hook.download_asset("re_1", tmp_path)
    assert written == str(tmp_path / "clip.mp4")
    assert os.path.getsize(written) == 100_000
    assert mavi.seen()[0].headers["Accept-Encoding"] == "identity"
    assert hook.limiter.buckets == ["Download Asset"]


def test_download_of_an_error_served_as_a_file_leaves_nothing(hook, mavi, tmp_path):
    body = b'{"code": 400, "msg": "Resource does not exist", "success": false, "failed": true}'
    mavi.route(
        "GET", "/re_1/download", Reply(200, body=body, headers={"Content-Type": "application/octet-stream"})
    )
    with pytest.raises(MaviNotFoundError):
        hook.download_asset("re_1", tmp_path)
    assert os.listdir(tmp_path) == []


def test_a_short_download_leaves_nothing(hook, mavi, tmp_path):
    headers = {"Content-Type": "video/mp4", "Content-Length": "5000"}
    mavi.route("GET", "/re_1/download", Reply(200, body=b"a" * 1000, headers=headers))
    with pytest.raises(MaviConnectionError, match="ended after 1000 of 5000 bytes; nothing was kept"):
        hook.download_asset("re_1", tmp_path / "x.mp4")
    assert os.listdir(tmp_path) == []


def test_hook_repr_and_settings_hide_the_key(hook):
    assert API_KEY not in repr(hook) + repr(hook.get_settings()) + str(hook.get_settings())
