"""Every endpoint of the hook against a real HTTP server on loopback, and every row of mavi-api.md §7/§8."""

from __future__ import annotations

import asyncio
import json

import pytest

from airflow_provider_mavi.endpoints import DEFAULT_VIDEO_MODEL, SUPPORTED_VIDEO_MODELS
from airflow_provider_mavi.exceptions import (
    MaviAssetFailedError,
    MaviAuthenticationError,
    MaviBadRequestError,
    MaviInsufficientBalanceError,
    MaviNotFoundError,
    MaviRateLimitError,
    MaviServerError,
    MaviTimeoutError,
    MaviWebhookNotConfiguredError,
)
from airflow_provider_mavi.hooks.mavi import MaviHook

from .conftest import API_KEY, Reply, err, ok

JOB = "1e8ae1075e054e8abb58e7598c53cbf1"
ASSET = "re_660727003963174912"
META = {
    "total": 1,
    "resource": [
        {
            "extension": "mp4",
            "asset_id": ASSET,
            "original_filename": "clip.mp4",
            "file_size": "1234",
            "upload_status": "SUCCESS",
            "create_time": "1766989317192",
            "modify_time": "1766989317192",
        }
    ],
}


def test_metadata_sends_raw_key_and_returns_resources(hook, mavi_conn):
    mavi_conn.route("GET", f"/{ASSET}/metadata", ok(META))
    assert hook.get_asset_metadata(ASSET) == META["resource"]
    (seen,) = mavi_conn.seen("GET", f"/{ASSET}/metadata")
    assert seen.headers["Authorization"] == API_KEY  # the raw key, no "Bearer "


async def test_async_twin_aget_asset_metadata(hook, mavi_conn):
    mavi_conn.route("GET", f"/{ASSET}/metadata", ok(META, code="0000"))
    assert await hook.aget_asset_metadata(ASSET) == META["resource"]
    assert mavi_conn.seen("GET", f"/{ASSET}/metadata")[0].headers["Authorization"] == API_KEY


async def test_async_twin_maps_errors_like_the_sync_one(hook, mavi_conn):
    mavi_conn.route("GET", f"/{ASSET}/metadata", err(400, "Asset not found", success=False, failed=True))
    with pytest.raises(MaviNotFoundError):
        await hook.aget_asset_metadata(ASSET)
    with pytest.raises(MaviNotFoundError):
        hook.get_asset_metadata(ASSET)


def test_async_twin_works_in_successive_event_loops(hook, mavi_conn):
    mavi_conn.route("GET", f"/{ASSET}/metadata", ok(META))
    for _ in range(2):  # a client must never be cached across loops
        assert asyncio.run(hook.aget_asset_metadata(ASSET)) == META["resource"]


def test_delete(hook, mavi_conn):
    mavi_conn.route("DELETE", f"/{ASSET}", ok(None, code="0000"))
    assert hook.delete_asset(ASSET) is None
    assert len(mavi_conn.seen("DELETE", f"/{ASSET}")) == 1


def test_extract_frames(hook, mavi_conn):
    mavi_conn.route("POST", "/video/extract-frames", ok({"task_id": JOB}))
    assert hook.extract_frames(ASSET) == JOB
    (seen,) = mavi_conn.seen("POST", "/video/extract-frames")
    assert json.loads(seen.body_head) == {"asset_id": ASSET}


@pytest.mark.parametrize("model", SUPPORTED_VIDEO_MODELS)
def test_transcribe_video_models(hook, mavi_conn, model):
    mavi_conn.route("POST", "/transcriptions/async-generate-video", ok({"task_id": JOB}))
    assert hook.transcribe_video(ASSET, model=model) == JOB
    assert json.loads(mavi_conn.seen()[-1].body_head) == {"asset_id": ASSET, "model": model}


def test_transcribe_video_default_model(hook, mavi_conn):
    mavi_conn.route("POST", "/transcriptions/async-generate-video", ok({"task_id": JOB}))
    hook.transcribe_video(ASSET)
    assert (
        json.loads(mavi_conn.seen()[-1].body_head)["model"] == DEFAULT_VIDEO_MODEL == "gemini-2.5-flash-lite"
    )


def test_transcribe_video_rejects_unknown_model_before_sending(hook, mavi_conn):
    with pytest.raises(ValueError, match="Unsupported video description model 'openai/gpt-5-mini'"):
        hook.transcribe_video(ASSET, model="openai/gpt-5-mini")
    assert mavi_conn.seen() == []


@pytest.mark.parametrize("speaker", [False, True])
def test_transcribe_audio(hook, mavi_conn, speaker):
    mavi_conn.route("POST", "/transcriptions/async-generate-audio", ok({"task_id": JOB}))
    assert hook.transcribe_audio(ASSET, speaker=speaker) == JOB
    body = json.loads(mavi_conn.seen()[-1].body_head)
    assert body == {"asset_id": ASSET, "model": "whisper-1", "speaker": speaker}


@pytest.mark.parametrize("bad", ["", "re_1/../x", "re 1", "re_1?x=1", "..", "re_1#"])
def test_unsafe_asset_ids_are_refused_before_sending(hook, mavi_conn, bad):
    with pytest.raises(ValueError, match="Not a Mavi asset id"):
        hook.get_asset_metadata(bad)
    with pytest.raises(ValueError):
        hook.extract_frames(bad)
    assert mavi_conn.seen() == []


def test_wait_for_asset_ready_polls_until_success(hook, mavi_conn):
    waiting = {"total": 1, "resource": [{**META["resource"][0], "upload_status": "WAITING"}]}
    uploading = {"total": 1, "resource": [{**META["resource"][0], "upload_status": "UPLOADING"}]}
    mavi_conn.route("GET", f"/{ASSET}/metadata", ok(waiting), ok(uploading), ok(META))
    entry = hook.wait_for_asset_ready(ASSET, timeout=10, poll_interval=0.01)
    assert entry == META["resource"][0]
    assert len(mavi_conn.seen("GET", f"/{ASSET}/metadata")) == 3


def test_wait_for_asset_ready_failed(hook, mavi_conn):
    failed = {"total": 1, "resource": [{**META["resource"][0], "upload_status": "FAILED"}]}
    mavi_conn.route("GET", f"/{ASSET}/metadata", ok(failed))
    with pytest.raises(MaviAssetFailedError, match="upload the file again") as info:
        hook.wait_for_asset_ready(ASSET, timeout=10, poll_interval=0.01)
    assert info.value.asset_id == ASSET


def test_wait_for_asset_ready_times_out(hook, mavi_conn):
    waiting = {"total": 1, "resource": [{**META["resource"][0], "upload_status": "UPLOADING"}]}
    mavi_conn.route("GET", f"/{ASSET}/metadata", ok(waiting))
    with pytest.raises(MaviTimeoutError, match="last upload_status: UPLOADING"):
        hook.wait_for_asset_ready(ASSET, timeout=0.2, poll_interval=0.05)


def test_test_connection_key_accepted(hook, mavi_conn):
    mavi_conn.route("GET", "/re_0/metadata", err(400, "Asset not found", success=False, failed=True))
    assert hook.test_connection() == (True, "Connection OK: Mavi accepted the API key.")


def test_test_connection_key_refused(hook, mavi_conn):
    mavi_conn.route("GET", "/re_0/metadata", err(401, "Unauthorized"))
    good, message = hook.test_connection()
    assert not good
    assert "HTTP 401" in message
    assert API_KEY not in message


def test_test_connection_wrong_base_url(hook, mavi_conn):  # nothing routed: the server answers 404
    good, message = hook.test_connection()
    assert good is False
    assert "Check the Base URL" in message


def test_ui_field_behaviour():
    behaviour = MaviHook.get_ui_field_behaviour()
    assert behaviour["hidden_fields"] == ["login", "schema", "port"]
    assert behaviour["relabeling"] == {"host": "Base URL", "password": "API Key"}


# ------------------------------------------------------------------ mavi-api.md §7 (error codes), over HTTP

SEVEN = [
    (err(400, "Asset not found"), MaviNotFoundError, None),
    (err(400, "asset_id cannot be null or empty"), MaviBadRequestError, None),
    (err(400, "Request has exceeded the limit."), MaviRateLimitError, "wrong asset id"),
    (
        err(400, "An async request requires at least one webhook."),
        MaviWebhookNotConfiguredError,
        "mavi-bridge url",
    ),
    (err(401, "Unauthorized"), MaviAuthenticationError, "API Key"),
    (err(402, "Insufficient balance"), MaviInsufficientBalanceError, "Top up"),
    (err(403, "Forbidden"), MaviAuthenticationError, None),
    (err(405, "Method not allowed"), MaviBadRequestError, None),
    (err(409, "Duplicate request"), MaviBadRequestError, None),
    (err(415, "Unsupported media type"), MaviBadRequestError, None),
    (err(429, "Too many requests"), MaviRateLimitError, None),
    (err(500, "Internal error"), MaviServerError, None),
    (
        Reply(502, body=b"<html>bad gateway</html>", headers={"Content-Type": "text/html"}),
        MaviServerError,
        "bad gateway",
    ),
    (err(404, "Not found"), MaviNotFoundError, None),
]


@pytest.mark.parametrize(("reply", "error", "hint"), SEVEN)
def test_error_rows_on_submit(hook, mavi_conn, reply, error, hint):
    mavi_conn.route("POST", "/video/extract-frames", reply)
    with pytest.raises(error) as info:
        hook.extract_frames(ASSET)
    assert info.value.status == reply.status
    if reply.json_body:
        assert info.value.mavi_message == reply.json_body["msg"]
        assert info.value.code == reply.json_body["code"]
    if hint:
        assert hint in str(info.value)
    retried = error is MaviRateLimitError  # the only class a submit retries
    assert len(mavi_conn.seen("POST", "/video/extract-frames")) == (3 if retried else 1)


def test_webhook_error_names_console_and_bridge(hook, mavi_conn):
    mavi_conn.route(
        "POST",
        "/transcriptions/async-generate-audio",
        err(400, "An async request requires at least one webhook."),
    )
    with pytest.raises(MaviWebhookNotConfiguredError) as info:
        hook.transcribe_audio(ASSET)
    assert "https://api-platform.memories.ai/webhooks" in str(info.value)
    assert "mavi-bridge url" in str(info.value)


def test_error_envelope_with_http_200_is_an_error(hook, mavi_conn):
    mavi_conn.route(
        "GET", f"/{ASSET}/metadata", Reply(200, {"code": 401, "msg": "Unauthorized", "data": None})
    )
    with pytest.raises(MaviAuthenticationError):
        hook.get_asset_metadata(ASSET)


def test_failed_flag_overrides_success_code(hook, mavi_conn):
    body = {"code": 200, "msg": "weird", "data": None, "success": False, "failed": True}
    mavi_conn.route("GET", f"/{ASSET}/metadata", Reply(200, body))
    with pytest.raises(MaviServerError, match="weird"):
        hook.get_asset_metadata(ASSET)


def test_non_json_200_is_a_server_error(hook, mavi_conn):
    mavi_conn.route(
        "GET", f"/{ASSET}/metadata", Reply(200, body=b"hello", headers={"Content-Type": "text/plain"})
    )
    with pytest.raises(MaviServerError, match="without its JSON envelope"):
        hook.get_asset_metadata(ASSET)


def test_missing_task_id_is_a_server_error(hook, mavi_conn):
    mavi_conn.route("POST", "/video/extract-frames", ok({}))
    with pytest.raises(MaviServerError, match=r"data\.task_id"):
        hook.extract_frames(ASSET)


# ------------------------------------------------------------------ mavi-api.md §8 (disagreements)


@pytest.mark.parametrize("code", [200, "200", "0000"])
@pytest.mark.parametrize("msg_key", ["msg", "message"])
def test_both_success_codes_and_message_keys(hook, mavi_conn, code, msg_key):
    mavi_conn.route("POST", "/video/extract-frames", ok({"task_id": JOB}, code=code, msg_key=msg_key))
    assert hook.extract_frames(ASSET) == JOB


def test_message_key_in_errors(hook, mavi_conn):
    mavi_conn.route(
        "GET", f"/{ASSET}/metadata", Reply(400, {"code": 400, "message": "Asset not found", "data": None})
    )
    with pytest.raises(MaviNotFoundError) as info:
        hook.get_asset_metadata(ASSET)
    assert info.value.mavi_message == "Asset not found"


def test_rate_limit_429_and_400_limit_are_both_rate_limit_errors(hook, mavi_conn):
    mavi_conn.route("GET", f"/{ASSET}/metadata", err(429, "Too many requests"))
    with pytest.raises(MaviRateLimitError) as first:
        hook.get_asset_metadata(ASSET)
    assert first.value.ambiguous is False
    mavi_conn.route("GET", f"/{ASSET}/metadata", err(400, "Request has exceeded the limit."))
    with pytest.raises(MaviRateLimitError) as second:
        hook.get_asset_metadata(ASSET)
    assert second.value.ambiguous is True
    assert "not ready" in str(second.value)
    assert "unsupported model" in str(second.value)


def test_v1_style_0429_code_is_rate_limit(hook, mavi_conn):
    mavi_conn.route(
        "GET", f"/{ASSET}/metadata", Reply(200, {"code": "0429", "msg": "too busy", "data": None})
    )
    with pytest.raises(MaviRateLimitError):
        hook.get_asset_metadata(ASSET)
