"""Bad inputs get the documented answers, and nothing stored is lost or changed by them."""

from __future__ import annotations

import httpx
import pytest

LIMIT = {"code": 400, "msg": "Request has exceeded the limit.", "data": None}
NOT_FOUND = {"code": 400, "msg": "Asset not found", "data": None, "success": False, "failed": True}
UNAUTHORIZED = {"code": 401, "msg": "Unauthorized", "data": None}
NO_WEBHOOK = {"code": 400, "msg": "An async request requires at least one webhook.", "data": None}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "sk-wrong"}, {"Authorization": "Bearer sk-mavi-test-0123456789"}],
    ids=["missing", "wrong", "bearer-prefix"],
)
def test_wrong_key_is_401_and_the_key_never_echoed(server, api, headers):
    for method, path in [("GET", "/re_1/metadata"), ("POST", "/video/extract-frames"), ("DELETE", "/re_1")]:
        answer = httpx.request(method, server.base_url + path, headers=headers, json={"asset_id": "re_1"})
        assert answer.status_code == 401
        assert answer.json() == UNAUTHORIZED
        assert api.key not in answer.text
    admin = httpx.get(server.admin_url + "/stats", headers=headers)
    assert admin.status_code == 401
    assert server.stats()["jobs"] == []


def test_repr_of_server_and_settings_hide_the_key(server, api):
    assert api.key not in repr(server)
    assert api.key not in repr(server.settings)


def test_missing_fields(server, api):
    for path in (
        "/video/extract-frames",
        "/transcriptions/async-generate-video",
        "/transcriptions/async-generate-audio",
    ):
        for body in ({}, {"asset_id": ""}, {"asset_id": None}, ["not", "an", "object"]):
            answer = api.post(server, path, body)
            assert answer.status_code == 400
            assert answer.json() == {"code": 400, "msg": "asset_id cannot be null or empty", "data": None}
    answer = api.post(server, "/transcriptions/async-generate-video", {"asset_id": "re_1"})
    assert answer.json() == {"code": 400, "msg": "model cannot be null or empty", "data": None}
    answer = httpx.post(f"{server.base_url}/upload", data={"other": "x"}, headers=api.auth())
    assert answer.status_code == 400
    assert answer.json()["msg"] == "file cannot be null or empty"
    answer = api.post(server, "/upload/signed-url", {})
    assert answer.status_code == 400
    assert answer.json()["msg"] == "original_filename cannot be null or empty"
    answer = api.post(server, "/upload/signed-url", {"original_filename": "no-extension"})
    assert answer.status_code == 400
    assert answer.json() == LIMIT
    assert server.stats()["jobs"] == []


def test_unknown_asset(server, api):
    for path in ("/re_404/metadata", "/re_404/download", "/im_404/metadata", "/imc_404_0/download"):
        answer = httpx.get(server.base_url + path, headers=api.auth())
        assert answer.status_code == 400
        assert answer.json() == NOT_FOUND
    answer = httpx.delete(server.base_url + "/re_404", headers=api.auth())
    assert answer.status_code == 400
    assert answer.json() == NOT_FOUND
    answer = api.post(server, "/video/extract-frames", {"asset_id": "re_404"})
    assert answer.status_code == 400
    assert answer.json() == LIMIT


def test_deleted_asset(server, receiver, videos, api):
    asset_id = api.ready(server, videos["small"])
    job = api.post(server, "/video/extract-frames", {"asset_id": asset_id}).json()["data"]["task_id"]
    frames = receiver.wait_for(job)["data"]
    keep = api.ready(server, videos["wide"])
    assert httpx.delete(f"{server.base_url}/{asset_id}", headers=api.auth()).status_code == 200
    assert httpx.get(f"{server.base_url}/{asset_id}/download", headers=api.auth()).json() == NOT_FOUND
    assert httpx.delete(f"{server.base_url}/{asset_id}", headers=api.auth()).json() == NOT_FOUND
    assert api.post(server, "/video/extract-frames", {"asset_id": asset_id}).json() == LIMIT
    # Frames are their own assets: deleting the video keeps them; deleting the group removes every frame.
    assert (
        httpx.get(f"{server.base_url}/{frames['asset_id']}/metadata", headers=api.auth()).status_code == 200
    )
    assert httpx.delete(f"{server.base_url}/{frames['asset_id']}", headers=api.auth()).status_code == 200
    for frame in frames["asset_ch_ids"]:
        assert httpx.get(f"{server.base_url}/{frame}/download", headers=api.auth()).json() == NOT_FOUND
    # The other asset is untouched.
    assert api.wait_status(server, keep)["upload_status"] == "SUCCESS"
    assert (
        httpx.get(f"{server.base_url}/{keep}/download", headers=api.auth()).content
        == videos["wide"].read_bytes()
    )


def test_non_video_file_fails_and_cannot_be_processed(server, videos, api):
    asset_id = api.upload(server, videos["not_video"])
    entry = api.wait_status(server, asset_id)
    assert entry["upload_status"] == "FAILED"
    for path, body in [
        ("/video/extract-frames", {"asset_id": asset_id}),
        ("/transcriptions/async-generate-video", {"asset_id": asset_id, "model": "gemini-2.5-flash"}),
        ("/transcriptions/async-generate-audio", {"asset_id": asset_id}),
    ]:
        answer = api.post(server, path, body)
        assert answer.status_code == 400
        assert answer.json() == LIMIT
    download = httpx.get(f"{server.base_url}/{asset_id}/download", headers=api.auth())
    assert download.status_code == 400
    assert download.json()["failed"] is True
    assert server.stats()["jobs"] == []


def test_async_call_with_no_webhook(make_server, videos, api):
    server = make_server()
    asset_id = api.ready(server, videos["small"])
    for path, body in [
        ("/video/extract-frames", {"asset_id": asset_id}),
        ("/transcriptions/async-generate-video", {"asset_id": asset_id, "model": "gemini-2.5-flash"}),
        ("/transcriptions/async-generate-audio", {"asset_id": asset_id}),
    ]:
        answer = api.post(server, path, body)
        assert answer.status_code == 400
        assert answer.json() == NO_WEBHOOK
    assert server.stats()["jobs"] == []


def test_validation_order_body_then_webhook_then_asset(make_server, api):
    server = make_server()
    assert api.post(server, "/video/extract-frames", {}).json() == {
        "code": 400,
        "msg": "asset_id cannot be null or empty",
        "data": None,
    }
    # An unknown asset with no webhook: the webhook is checked first.
    assert api.post(server, "/video/extract-frames", {"asset_id": "re_404"}).json() == NO_WEBHOOK
    server.set_webhook("http://127.0.0.1:9/hook")
    assert api.post(server, "/video/extract-frames", {"asset_id": "re_404"}).json() == LIMIT


def test_unsupported_models(server, videos, api):
    asset_id = api.ready(server, videos["small"])
    for model in ("gpt-4o", "openai/gpt-5-mini", "GEMINI-2.5-FLASH", 7):
        answer = api.post(
            server, "/transcriptions/async-generate-video", {"asset_id": asset_id, "model": model}
        )
        assert answer.status_code == 400
        assert answer.json() == LIMIT
    for body in ({"model": "whisper-2"}, {"speaker": "yes"}):
        answer = api.post(server, "/transcriptions/async-generate-audio", {"asset_id": asset_id, **body})
        assert answer.status_code == 400
        assert answer.json() == LIMIT
    for model in (
        "gemini-2.5-flash-lite",
        "gemini-2.5-flash",
        "gemini-2.5-flash-preview-09-2025",
        "gemini-2.5-flash-lite-preview-09-2025",
    ):
        answer = api.post(
            server, "/transcriptions/async-generate-video", {"asset_id": asset_id, "model": model}
        )
        assert answer.status_code == 200
    assert server.stats()["jobs_by_asset"] == {asset_id: {"transcribe_video": 4}}


def test_frames_of_frames_is_refused(server, receiver, videos, api):
    asset_id = api.ready(server, videos["small"])
    job = api.post(server, "/video/extract-frames", {"asset_id": asset_id}).json()["data"]["task_id"]
    group = receiver.wait_for(job)["data"]["asset_id"]
    assert api.post(server, "/video/extract-frames", {"asset_id": group}).json() == LIMIT


def test_not_ready_asset_is_refused(make_server, receiver, videos, api):
    server = make_server(webhook_url=receiver.url, upload_waiting_seconds=30)
    asset_id = api.upload(server, videos["small"])
    assert api.wait_status(server, asset_id, timeout=0)["upload_status"] == "WAITING"
    assert api.post(server, "/video/extract-frames", {"asset_id": asset_id}).json() == LIMIT
    download = httpx.get(f"{server.base_url}/{asset_id}/download", headers=api.auth())
    assert download.status_code == 400
    assert download.headers["content-type"] == "application/json"


def test_signed_url_with_bad_token_or_missing_field(server, videos, api):
    assert httpx.put(f"{server.root_url}/signed-upload/not-a-token", content=b"x").status_code == 403
    data = api.post(server, "/upload/signed-url", {"original_filename": "a.mp4"}).json()["data"]
    missing = httpx.post(data["signed_url"], files={"wrong": ("a.mp4", b"abc")})
    assert missing.status_code == 400
    # The URL is still usable after a malformed attempt.
    ok = httpx.post(data["signed_url"], files={"file": ("a.mp4", videos["small"].read_bytes())})
    assert ok.status_code == 200
    assert api.wait_status(server, data["asset_id"])["upload_status"] == "SUCCESS"


def test_admin_rejects_bad_bodies_and_keeps_settings(server, receiver, api):
    bad_faults = [
        [],
        {"explode": {}},
        {"drop_callback": {"probability": 2}},
        {"drop_callback": {"next": -1}},
        {"server_error": {"status": "x"}},
        {"drop_callback": {"endpoints": ["GET /x"]}},
        {"server_error": {"after": "yes"}},
        {"slow_response": {"colour": 1}},
    ]
    server.set_faults({"drop_callback": {"next": 1}})
    for body in bad_faults:
        answer = httpx.put(server.admin_url + "/faults", json=body, headers=api.auth())
        assert answer.status_code == 400, body
        assert answer.json()["msg"]
    assert httpx.get(server.admin_url + "/faults", headers=api.auth()).json()["drop_callback"]["next"] == 1
    for body in ({"url": "ftp://x"}, {"url": "not a url"}, {}, [1]):
        answer = httpx.put(server.admin_url + "/webhook", json=body, headers=api.auth())
        assert answer.status_code == 400
    assert httpx.get(server.admin_url + "/webhook", headers=api.auth()).json() == {"url": receiver.url}
