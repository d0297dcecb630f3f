"""Quirk switches, the per-endpoint rate limit and the account balance."""

from __future__ import annotations

import time

import httpx
import pytest


def test_success_code_0000_everywhere(make_server, receiver, videos, api):
    server = make_server(webhook_url=receiver.url, success_code="0000")
    asset_id = api.upload(server, videos["small"])
    metadata = httpx.get(f"{server.base_url}/{asset_id}/metadata", headers=api.auth()).json()
    assert metadata["code"] == "0000"
    assert metadata["msg"] == "success"
    api.wait_status(server, asset_id)
    answer = api.post(server, "/video/extract-frames", {"asset_id": asset_id}).json()
    assert answer["code"] == "0000"
    callback = receiver.wait_for(answer["data"]["task_id"])
    assert callback["code"] == "0000"
    assert callback["message"] == "SUCCESS"
    # Errors keep their numeric code.
    assert httpx.get(f"{server.base_url}/re_1/metadata", headers=api.auth()).json()["code"] == 400


def test_rate_limit_one_per_second_per_endpoint(make_server, videos, api):
    server = make_server(qps=1)
    asset_id = api.upload(server, videos["small"])
    time.sleep(1.05)
    url = f"{server.base_url}/{asset_id}/metadata"
    first = httpx.get(url, headers=api.auth())
    second = httpx.get(url, headers=api.auth())
    other = httpx.get(f"{server.base_url}/{asset_id}/download", headers=api.auth())  # another endpoint
    assert first.status_code == 200
    assert other.status_code == 200
    assert second.status_code == 400
    assert second.json() == {"code": 400, "msg": "Request has exceeded the limit.", "data": None}
    time.sleep(1.05)
    assert httpx.get(url, headers=api.auth()).status_code == 200
    stats = server.stats()
    assert stats["rate_limited"] == {"GET /{asset_id}/metadata": 1}
    assert stats["requests"]["GET /{asset_id}/metadata"] == 3


def test_rate_limit_never_admits_more_than_n_in_any_window(make_server, api):
    server = make_server(qps=3)
    admitted: list[float] = []
    with httpx.Client(headers=api.auth()) as client:
        deadline = time.monotonic() + 2.5
        while time.monotonic() < deadline:
            answer = client.get(f"{server.base_url}/re_1/metadata")
            if answer.json()["msg"] == "Asset not found":
                admitted.append(time.monotonic())
    assert len(admitted) >= 6
    for i in range(len(admitted) - 3):
        assert (
            admitted[i + 3] - admitted[i] >= 0.8
        )  # client clock, with jitter; unit tests check the exact window
    assert server.stats()["rate_limited"]["GET /{asset_id}/metadata"] > 0


def test_rate_limit_style_429(make_server, api):
    server = make_server(qps=1, rate_limit_style=429)
    httpx.get(f"{server.base_url}/re_1/metadata", headers=api.auth())
    answer = httpx.get(f"{server.base_url}/re_1/metadata", headers=api.auth())
    assert answer.status_code == 429
    assert answer.json()["code"] == 429


def test_rate_limit_counts_rejected_async_calls_without_creating_jobs(make_server, receiver, videos, api):
    server = make_server(webhook_url=receiver.url, qps=1)
    asset_id = api.upload(server, videos["small"])
    time.sleep(1.05)
    api.wait_status(server, asset_id)
    first = api.post(server, "/video/extract-frames", {"asset_id": asset_id})
    second = api.post(server, "/video/extract-frames", {"asset_id": asset_id})
    assert first.status_code == 200
    assert second.status_code == 400
    assert server.stats()["jobs_by_asset"] == {asset_id: {"extract_frames": 1}}


def test_balance_runs_out(make_server, receiver, videos, api):
    # 6 s of frames cost $0.06: the first job fits in $0.10, the second does not.
    server = make_server(webhook_url=receiver.url, balance_usd=0.10)
    asset_id = api.ready(server, videos["small"])
    first = api.post(server, "/video/extract-frames", {"asset_id": asset_id})
    assert first.status_code == 200
    group = receiver.wait_for(first.json()["data"]["task_id"])["data"]["asset_id"]
    second = api.post(server, "/video/extract-frames", {"asset_id": asset_id})
    assert second.status_code == 402
    assert second.json()["code"] == 402
    assert server.stats()["spend_usd"] == pytest.approx(0.06, abs=1e-4)

    broke = make_server(webhook_url=receiver.url, balance_usd=0.0)
    other = api.ready(broke, videos["small"])
    download = httpx.get(f"{broke.base_url}/{other}/download", headers=api.auth())
    assert download.status_code == 402
    assert download.json() == {
        "code": 402,
        "msg": "Insufficient balance to download the resource. Please recharge and try again.",
        "data": None,
        "success": False,
        "failed": True,
    }
    # The first account can still download its frames: downloads cost $0.12/GB, well within what is left.
    assert httpx.get(f"{server.base_url}/{group}/download", headers=api.auth()).status_code == 200


def test_frame_interval_setting(make_server, receiver, videos, api):
    server = make_server(webhook_url=receiver.url, frame_interval=0.5)
    asset_id = api.ready(server, videos["wide"])  # 3.5 s
    job = api.post(server, "/video/extract-frames", {"asset_id": asset_id}).json()["data"]["task_id"]
    assert len(receiver.wait_for(job)["data"]["asset_ch_ids"]) == 7


def test_upload_delays_show_waiting_then_uploading(make_server, videos, api):
    server = make_server(upload_waiting_seconds=0.6, upload_processing_seconds=0.6)
    asset_id = api.upload(server, videos["small"])
    seen = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = api.wait_status(server, asset_id, timeout=0)["upload_status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == "SUCCESS":
            break
        time.sleep(0.05)
    assert seen == ["WAITING", "UPLOADING", "SUCCESS"]
