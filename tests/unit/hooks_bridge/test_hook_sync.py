"""MaviBridgeHook, blocking side, over httpx.MockTransport: the connection, every call, retries, the wait."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from airflow_provider_mavi.events import ERROR, FAILED, SUCCESS, TIMEOUT, Reason
from airflow_provider_mavi.exceptions import (
    MaviBridgeError,
    MaviBridgeNotConfiguredError,
    MaviBridgeUnavailableError,
)
from airflow_provider_mavi.hooks.bridge import MaviBridgeHook
from airflow_provider_mavi.retry import RetryPolicy

# ---------------------------------------------------------------------------------------- connection


def set_conn(monkeypatch: pytest.MonkeyPatch, conn_id: str, extra: dict[str, Any]) -> None:
    conn = {"conn_type": "mavi", "password": "sk-unit", "extra": extra}
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


def test_the_connection_names_the_bridge(monkeypatch: pytest.MonkeyPatch) -> None:
    set_conn(monkeypatch, "mavi_plain", {"bridge_url": "http://b:8787/", "bridge_token": "tok-plain-123456"})
    set_conn(
        monkeypatch,
        "mavi_prefixed",
        {"extra__mavi__bridge_url": "http://b:1", "extra__mavi__bridge_token": "tok-prefixed-123"},
    )
    plain = MaviBridgeHook("mavi_plain").get_settings()
    assert (plain.url, plain.token) == ("http://b:8787", "tok-plain-123456")
    assert MaviBridgeHook("mavi_prefixed").get_settings().url == "http://b:1"


@pytest.mark.parametrize(
    "extra", [{}, {"bridge_url": "http://b:1"}, {"bridge_token": "t" * 20}, {"bridge_url": " "}]
)
def test_a_connection_without_a_bridge_says_so(
    monkeypatch: pytest.MonkeyPatch, extra: dict[str, Any]
) -> None:
    set_conn(monkeypatch, "mavi_nobridge", extra)
    with pytest.raises(
        MaviBridgeNotConfiguredError, match="'mavi_nobridge' has no bridge_url or no bridge_token"
    ):
        MaviBridgeHook("mavi_nobridge").get_settings()


def test_url_and_token_go_together_and_never_show() -> None:
    with pytest.raises(ValueError, match="go together"):
        MaviBridgeHook(bridge_url="http://b:1")
    with pytest.raises(ValueError, match="must not be empty"):
        MaviBridgeHook.from_url("", "tok-0123456789")
    hook = MaviBridgeHook.from_url("https://user:pw@b.example/mavi", "tok-secret-0123456789")
    assert "tok-secret" not in repr(hook) + repr(hook.get_settings())
    assert "pw" not in repr(hook)
    assert hook.get_settings().public_url == "https://b.example/mavi"


# --------------------------------------------------------------------------------------------- calls


def test_every_call_round_trips(fake_bridge: Any, kit: Any) -> None:
    job = kit.new_job_id()
    with fake_bridge.hook() as hook:
        assert hook.get_callback(job) is None
        assert hook.check_job(job) is None
        hook.put_job(job, kind="extract_frames", asset_id="re_1", key="k1")
        assert hook.find_job("k1")["state"] == "waiting"
        assert hook.find_job("nope") is None
        fake_bridge.deliver(job, kit.frames_callback(job))
        record = hook.get_callback(job)
        assert record.payload == kit.frames_callback(job)
        assert hook.wait_many([job, kit.new_job_id()], 1) == [record]
        assert hook.check_job(job).status == SUCCESS
        assert hook.find_job("k1")["state"] == "delivered"
        hook.abandon_job(job)
        assert fake_bridge.jobs[job]["state"] == "abandoned"
        hook.abandon_job("unknown")  # ignored
        records, cursor = hook.list_callbacks("0", 10)
        assert [r.job_id for r in records] == [job]
        assert cursor == "1"


@pytest.mark.parametrize("bad", ["", ".", "..", "x/abandon", "a\x00", "j" * 201])
def test_a_bad_job_id_sends_nothing(fake_bridge: Any, bad: str) -> None:
    with fake_bridge.hook() as hook:
        for call in (
            lambda: hook.get_callback(bad),
            lambda: hook.put_job(bad, kind="extract_frames", asset_id="re_1"),
            lambda: hook.abandon_job(bad),
            lambda: hook.check_job(bad),
            lambda: hook.wait_many([bad], 0),
            lambda: hook.wait_for(bad, 1),
            lambda: hook.wait_for_job(bad, time.time() + 5),
        ):
            with pytest.raises(ValueError, match="job id"):
                call()
    assert fake_bridge.requests == []


# ------------------------------------------------------------------------------------------- retries


def test_transient_errors_are_retried_by_the_policy(fake_bridge: Any) -> None:
    fake_bridge.script = [fake_bridge.answer(503), httpx.ConnectError("refused")]
    with fake_bridge.hook() as hook:
        assert hook.find_job("k") is None  # the 3rd request (of 3 allowed) answers
    assert fake_bridge.count("GET", "/v1/jobs") == 3


def test_the_policy_bounds_the_attempts(fake_bridge: Any) -> None:
    fake_bridge.script = [fake_bridge.answer(503)] * 10
    hook = fake_bridge.hook(retry_policy=RetryPolicy(max_attempts=3, base_delay=0.01))
    with hook, pytest.raises(MaviBridgeUnavailableError, match="answered 503"):
        hook.find_job("k")
    assert len(fake_bridge.requests) == 3
    fake_bridge.requests.clear()
    hook = fake_bridge.hook(retry_policy=RetryPolicy().with_attempts(1))
    with hook, pytest.raises(MaviBridgeUnavailableError):
        hook.find_job("k")
    assert len(fake_bridge.requests) == 1


def test_retry_after_is_honoured(fake_bridge: Any) -> None:
    fake_bridge.script = [fake_bridge.answer(429, retry_after="0.3")]
    started = time.monotonic()
    with fake_bridge.hook() as hook:
        hook.find_job("k")
    assert time.monotonic() - started >= 0.3  # not the policy's 0.01 s backoff
    assert len(fake_bridge.requests) == 2


@pytest.mark.parametrize("status", [401, 400, 404, 409])
def test_other_errors_are_not_retried(fake_bridge: Any, status: int) -> None:
    fake_bridge.script = [fake_bridge.answer(status)]
    with fake_bridge.hook() as hook, pytest.raises(MaviBridgeError):
        hook.put_job("j", kind="extract_frames", asset_id="re_1")
    assert len(fake_bridge.requests) == 1


# ---------------------------------------------------------------------------------------- the wait


def test_the_wait_ends_with_the_callbacks_event(fake_bridge: Any, kit: Any) -> None:
    ok, failed, broken = kit.new_job_id(), kit.new_job_id(), kit.new_job_id()
    fake_bridge.deliver(ok, kit.frames_callback(ok))
    fake_bridge.deliver(failed, kit.failure_callback(failed, "Video decoding failed"))
    fake_bridge.deliver(broken, {"task_id": broken, "message": "SUCCESS"})  # no code
    with fake_bridge.hook() as hook:
        event = hook.wait_for_job(ok, time.time() + 5)
        assert (event.status, event.payload, event.deliveries) == (SUCCESS, kit.frames_callback(ok), 1)
        assert event.detail.bridge_url == fake_bridge.URL
        event = hook.wait_for_job(failed, time.time() + 5)
        assert (event.status, event.message) == (FAILED, "Video decoding failed")
        event = hook.wait_for_job(broken, time.time() + 5)
        assert (event.status, event.detail.reason) == (ERROR, Reason.MALFORMED_CALLBACK)
        assert "'code'" in event.message


def test_a_callback_arriving_during_the_wait(fake_bridge: Any, kit: Any) -> None:
    import threading

    job = kit.new_job_id()
    threading.Timer(0.3, fake_bridge.deliver, (job, kit.frames_callback(job))).start()
    with fake_bridge.hook() as hook:
        assert hook.wait_for_job(job, time.time() + 10).status == SUCCESS


def test_nothing_by_the_deadline_is_a_timeout_after_one_last_look(fake_bridge: Any, kit: Any) -> None:
    job = kit.new_job_id()
    deadline = time.time() + 0.4
    with fake_bridge.hook() as hook:
        event = hook.wait_for_job(job, deadline)
    assert (event.status, event.detail.deadline, event.detail.last_error) == (TIMEOUT, deadline, None)
    assert fake_bridge.requests[-1] == ("GET", f"/v1/callbacks/{job}")  # the final look, wait=0


def test_a_deadline_already_passed_still_finds_a_stored_callback(fake_bridge: Any, kit: Any) -> None:
    job = kit.new_job_id()
    fake_bridge.deliver(job, kit.frames_callback(job))
    with fake_bridge.hook() as hook:
        assert hook.wait_for_job(job, time.time() - 3600).status == SUCCESS
    assert len(fake_bridge.requests) == 1


def test_a_callback_stored_as_the_deadline_passes_is_found_by_the_last_look(
    fake_bridge: Any, kit: Any
) -> None:
    job = kit.new_job_id()
    deadline = 2_000_000_000.0
    moments = iter([deadline - 0.2, deadline + 1])

    def clock() -> float:
        moment = next(moments, deadline + 10)
        if moment > deadline:
            fake_bridge.deliver(job, kit.frames_callback(job))
        return moment

    with fake_bridge.hook() as hook:
        hook.clock = clock
        assert hook.wait_for_job(job, deadline).status == SUCCESS


def test_a_bridge_down_is_waited_out_until_the_deadline(fake_bridge: Any, kit: Any) -> None:
    job = kit.new_job_id()
    fake_bridge.script = [httpx.ConnectError("refused")] * 3
    fake_bridge.deliver(job, kit.frames_callback(job))
    with fake_bridge.hook() as hook:
        assert hook.wait_for_job(job, time.time() + 10).status == SUCCESS
    assert len(fake_bridge.requests) == 4


def test_a_bridge_down_at_the_deadline_is_a_timeout_with_the_last_error(fake_bridge: Any, kit: Any) -> None:
    fake_bridge.script = [httpx.ConnectError("refused")] * 1000
    started = time.monotonic()
    with fake_bridge.hook() as hook:
        event = hook.wait_for_job(kit.new_job_id(), time.time() + 0.5)
    assert 0.4 <= time.monotonic() - started < 5
    assert event.status == TIMEOUT
    assert (
        event.detail.last_error
        == f"MaviBridgeUnavailableError: cannot reach the bridge at {fake_bridge.URL}: ConnectError"
    )
    assert "the last look failed" in event.message


def test_a_refused_token_ends_the_wait_at_once(fake_bridge: Any, kit: Any) -> None:
    hook = MaviBridgeHook.from_url(
        fake_bridge.URL, "wrong-token-0123456789", transport=httpx.MockTransport(fake_bridge.handle)
    )
    event = hook.wait_for_job(kit.new_job_id(), time.time() + 30)
    assert (event.status, event.detail.reason) == (ERROR, Reason.TOKEN_REFUSED)
    assert "401" in event.message
    assert "wrong-token" not in json.dumps(event.to_json())
    assert len(fake_bridge.requests) == 1


def test_repeated_unexpected_errors_end_the_wait(fake_bridge: Any, kit: Any) -> None:
    fake_bridge.script = [fake_bridge.answer(400)] * 100
    with fake_bridge.hook(max_wait_errors=4) as hook:
        event = hook.wait_for_job(kit.new_job_id(), time.time() + 30)
    assert (event.status, event.detail.reason) == (ERROR, Reason.REPEATED_ERRORS)
    assert event.message.startswith("4 errors in a row reading the bridge at http://bridge.test/mavi")
    assert event.detail.last_error.startswith("MaviBridgeError: the bridge at")
    assert len(fake_bridge.requests) == 4


def test_a_connection_without_a_bridge_ends_the_wait_as_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    set_conn(monkeypatch, "mavi_nobridge", {})
    event = MaviBridgeHook("mavi_nobridge").wait_for_job("job-1", time.time() + 30)
    assert (event.status, event.detail.reason) == (ERROR, Reason.CONNECTION)
    assert "bridge_url" in event.message
    event = MaviBridgeHook("mavi_absent").wait_for_job("job-1", time.time() + 30)
    assert "mavi_absent" in event.message


def test_wait_for_returns_none_in_time_and_raises_if_the_bridge_stays_down(
    fake_bridge: Any, kit: Any
) -> None:
    with fake_bridge.hook() as hook:
        assert hook.wait_for(kit.new_job_id(), 0.2) is None
        fake_bridge.script = [httpx.ConnectError("refused")] * 1000
        with pytest.raises(MaviBridgeUnavailableError):
            hook.wait_for(kit.new_job_id(), 0.2)
