"""Every fault, set at start or through /_emulator/faults, by probability or for the next N events."""

from __future__ import annotations

import logging
import time

import httpx
import pytest

from airflow_provider_mavi.emulator.testing import CallbackReceiver


def _extract(server, api, asset_id):
    answer = api.post(server, "/video/extract-frames", {"asset_id": asset_id})
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["task_id"]


def _wait_job(server, job_id, field="callback", timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = next(j for j in server.stats()["jobs"] if j["job_id"] == job_id)
        if field in job:
            return job
        time.sleep(0.05)
    raise TimeoutError(job_id)


def test_callback_delay(make_server, receiver, videos, api):
    server = make_server(webhook_url=receiver.url, faults={"callback_delay": {"next": 1, "seconds": 1.5}})
    asset_id = api.ready(server, videos["silent"])
    started = time.monotonic()
    job = _extract(server, api, asset_id)
    receiver.wait_for(job)
    assert time.monotonic() - started >= 1.5
    faults = httpx.get(server.admin_url + "/faults", headers=api.auth()).json()
    assert faults["callback_delay"]["next"] == 0
    assert faults["callback_delay"]["fired"] == 1


def test_duplicate_delivery(server, receiver, videos, api):
    server.set_faults({"duplicate_callback": {"next": 1, "copies": 3}})
    asset_id = api.ready(server, videos["silent"])
    job = _extract(server, api, asset_id)
    receiver.wait_for(job, count=3)
    bodies = receiver.for_job(job)
    assert len(bodies) == 3
    assert bodies[0] == bodies[1] == bodies[2]
    assert server.stats()["callbacks"]["delivered"] == 3
    # Only the next job was affected.
    second = _extract(server, api, asset_id)
    receiver.wait_for(second)
    _wait_job(server, second)
    assert len(receiver.for_job(second)) == 1


def test_dropped_callback(server, receiver, videos, api):
    server.set_faults({"drop_callback": {"next": 1}})
    asset_id = api.ready(server, videos["silent"])
    job = _extract(server, api, asset_id)
    assert _wait_job(server, job)["callback"] == "dropped"
    assert receiver.for_job(job) == []
    stats = server.stats()
    assert stats["callbacks"]["dropped"] == 1
    assert stats["callbacks"]["sent"] == 0
    assert stats["jobs_by_asset"] == {asset_id: {"extract_frames": 1}}


@pytest.mark.parametrize("path", ["/video/extract-frames", "/transcriptions/async-generate-audio"])
def test_failure_callback(server, receiver, videos, api, path):
    server.set_faults({"failure_callback": {"next": 1, "code": 503, "msg": "boom"}})
    asset_id = api.ready(server, videos["silent"])
    job = api.post(server, path, {"asset_id": asset_id}).json()["data"]["task_id"]
    callback = receiver.wait_for(job)
    assert callback == {
        "code": 503,
        "message": "FAILED",
        "data": {"data": None, "msg": "boom", "success": False},
        "task_id": job,
    }
    assert _wait_job(server, job)["state"] == "failed"


def test_redelivery_until_2xx_with_backoff(make_server, videos, api):
    with CallbackReceiver(statuses=[500, 503, 200]) as flaky:
        server = make_server(webhook_url=flaky.url, callback_backoff=0.2)
        asset_id = api.ready(server, videos["silent"])
        job = _extract(server, api, asset_id)
        flaky.wait_for(job, count=3)
        assert _wait_job(server, job)["callback"] == "delivered"
        stats = server.stats()
        assert stats["callbacks"] == {"sent": 3, "delivered": 1, "failed": 2, "dropped": 0}
        assert stats["callback_answers"] == {"500": 1, "503": 1, "200": 1}


def test_redelivery_gives_up_after_the_attempts(make_server, videos, api):
    with CallbackReceiver(statuses=[500]) as broken:
        server = make_server(webhook_url=broken.url, callback_backoff=0.05, callback_attempts=2)
        asset_id = api.ready(server, videos["silent"])
        job = _extract(server, api, asset_id)
        assert _wait_job(server, job)["callback"] == "failed"
        assert len(broken.for_job(job)) == 2


def test_unreachable_webhook_counts_as_failed(make_server, videos, api):
    server = make_server(webhook_url="http://127.0.0.1:9/hook", callback_backoff=0.05, callback_attempts=2)
    asset_id = api.ready(server, videos["silent"])
    job = _extract(server, api, asset_id)
    assert _wait_job(server, job)["callback"] == "failed"
    assert server.stats()["callbacks"]["failed"] == 2
    assert server.stats()["callback_answers"] == {"ConnectError": 2}


def test_server_error_before_creates_no_job(server, videos, api):
    asset_id = api.ready(server, videos["silent"])
    server.set_faults(
        {"server_error": {"next": 1, "status": 502, "endpoints": ["POST /video/extract-frames"]}}
    )
    answer = api.post(server, "/video/extract-frames", {"asset_id": asset_id})
    assert answer.status_code == 502
    assert answer.json()["code"] == 502
    assert server.stats()["jobs"] == []
    assert api.post(server, "/video/extract-frames", {"asset_id": asset_id}).status_code == 200


def test_server_error_after_has_created_the_job(server, receiver, videos, api):
    asset_id = api.ready(server, videos["silent"])
    server.set_faults({"server_error": {"next": 1, "after": True}})
    answer = api.post(server, "/video/extract-frames", {"asset_id": asset_id})
    assert answer.status_code == 500
    (job,) = server.stats()["jobs"]
    receiver.wait_for(job["job_id"])  # the job ran although the client saw a 5xx


def test_server_error_on_any_endpoint(server, videos, api):
    asset_id = api.ready(server, videos["silent"])
    server.set_faults({"server_error": {"probability": 1.0}})
    assert httpx.get(f"{server.base_url}/{asset_id}/metadata", headers=api.auth()).status_code == 500
    assert httpx.get(f"{server.base_url}/{asset_id}/download", headers=api.auth()).status_code == 500
    assert api.post(server, "/upload/signed-url", {"original_filename": "a.mp4"}).status_code == 500
    server.set_faults({})
    assert httpx.get(f"{server.base_url}/{asset_id}/metadata", headers=api.auth()).status_code == 200


def test_slow_response(server, api):
    server.set_faults({"slow_response": {"next": 1, "seconds": 1.0}})
    started = time.monotonic()
    assert httpx.get(f"{server.base_url}/re_1/metadata", headers=api.auth()).status_code == 400
    assert time.monotonic() - started >= 1.0
    server.set_faults({"slow_response": {"next": 1, "seconds": 2.0}})
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(f"{server.base_url}/re_1/metadata", headers=api.auth(), timeout=0.5)


def test_connection_reset(server, videos, api):
    asset_id = api.ready(server, videos["silent"])
    server.set_faults({"connection_reset": {"next": 1}})
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        api.post(server, "/video/extract-frames", {"asset_id": asset_id})
    assert server.stats()["jobs"] == []
    server.set_faults({"connection_reset": {"next": 1, "after": True}})
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        api.post(server, "/video/extract-frames", {"asset_id": asset_id})
    assert len(server.stats()["jobs"]) == 1  # the answer was lost, the job was not
    assert httpx.get(f"{server.base_url}/{asset_id}/metadata", headers=api.auth()).status_code == 200


def test_rate_limit_fault(server, api):
    server.set_faults({"rate_limit": {"next": 2, "endpoints": ["GET /{asset_id}/metadata"]}})
    for _ in range(2):
        answer = httpx.get(f"{server.base_url}/re_1/metadata", headers=api.auth())
        assert answer.json()["msg"] == "Request has exceeded the limit."
    assert (
        httpx.get(f"{server.base_url}/re_1/metadata", headers=api.auth()).json()["msg"] == "Asset not found"
    )
    server.set_faults({"rate_limit": {"next": 1, "status": 429}})
    assert httpx.get(f"{server.base_url}/re_1/metadata", headers=api.auth()).status_code == 429


def _probability_run(make_server, receiver, videos, api, seed):
    server = make_server(webhook_url=receiver.url, seed=seed, faults={"drop_callback": {"probability": 0.5}})
    asset_id = api.ready(server, videos["silent"])
    jobs = [_extract(server, api, asset_id) for _ in range(8)]
    outcomes = [_wait_job(server, job)["callback"] for job in jobs]
    server.stop()
    return asset_id, jobs, outcomes


def test_probability_faults_are_reproducible_with_a_seed(make_server, receiver, videos, api):
    first = _probability_run(make_server, receiver, videos, api, seed=7)
    second = _probability_run(make_server, receiver, videos, api, seed=7)
    assert first == second  # same ids, same job ids, same drops
    assert set(first[2]) == {"dropped", "delivered"}
    for job, outcome in zip(first[1], first[2], strict=True):
        bodies = receiver.for_job(job)  # one per run, both to the same receiver
        assert len(bodies) == (2 if outcome == "delivered" else 0)
        if bodies:
            assert bodies[0] == bodies[1]  # the same im_ and imc_ ids too


def test_logs_never_show_the_key_or_the_webhook_secret(make_server, receiver, videos, api, caplog):
    caplog.set_level(logging.DEBUG)
    server = make_server(webhook_url=receiver.url + "/callbacks/webhook-secret-123")
    asset_id = api.ready(server, videos["silent"])
    job = _extract(server, api, asset_id)
    receiver.wait_for(job)
    _wait_job(server, job)
    assert "delivered" in caplog.text  # the emulator did log the delivery, by job id
    assert job in caplog.text
    assert "webhook-secret-123" not in caplog.text
    assert api.key not in caplog.text


def test_a_webhook_slower_than_the_timeout_is_not_delivered(make_server, videos, api):
    with CallbackReceiver(delay=1.0) as slow:
        server = make_server(
            webhook_url=slow.url, callback_timeout=0.3, callback_attempts=2, callback_backoff=0.05
        )
        asset_id = api.ready(server, videos["silent"])
        job = _extract(server, api, asset_id)
        assert _wait_job(server, job)["callback"] == "failed"
        assert server.stats()["callback_answers"] == {"TimeoutError": 2}
