"""Retries over loopback: count what the server saw. Reads retry freely; a submit retries only when Mavi
certainly created nothing (429, the 400 limit answer, a connection refused before sending)."""

from __future__ import annotations

import itertools
import socket
import threading
import time

import pytest

from airflow_provider_mavi.exceptions import (
    MaviConnectionError,
    MaviRateLimitError,
    MaviServerError,
    MaviTimeoutError,
)
from airflow_provider_mavi.hooks.mavi import MaviHook
from airflow_provider_mavi.retry import RetryPolicy

from .conftest import FakeMavi, Reply, connection_json, err, free_port, ok

ASSET = "re_1"
JOB = "ec2449885ba84c4f943a80ff0633158e"
META = {"total": 1, "resource": [{"asset_id": ASSET, "upload_status": "SUCCESS"}]}
FAST = RetryPolicy(max_attempts=3, limit_attempts=3, base_delay=0.01, max_delay=0.05)


@pytest.mark.parametrize(
    "failure",
    [
        err(429, "Too many requests"),
        err(500, "boom"),
        err(503, "busy"),
        err(400, "Request has exceeded the limit."),
    ],
)
def test_read_retries_then_succeeds(hook, mavi_conn, failure):
    mavi_conn.route("GET", f"/{ASSET}/metadata", failure, failure, ok(META))
    assert hook.get_asset_metadata(ASSET) == META["resource"]
    assert len(mavi_conn.seen("GET", f"/{ASSET}/metadata")) == 3


def test_read_gives_up_after_max_attempts(hook, mavi_conn):
    mavi_conn.route("GET", f"/{ASSET}/metadata", err(500, "boom"))
    with pytest.raises(MaviServerError, match="HTTP 500"):
        hook.get_asset_metadata(ASSET)
    assert len(mavi_conn.seen()) == 3


def test_test_connection_sends_exactly_one_request_to_a_failing_server(hook, mavi_conn):
    """A regression on main sent 3: the per-call override (attempts=1) was ignored for error answers."""
    mavi_conn.route("GET", "/re_0/metadata", err(503, "busy"))
    good, message = hook.test_connection()
    assert good is False
    assert "HTTP 503" in message
    assert len(mavi_conn.seen()) == 1
    mavi_conn.route("GET", "/re_0/metadata", err(429, "slow down"))
    assert hook.test_connection()[0] is False
    assert len(mavi_conn.seen()) == 2  # not even a 429 is repeated


def test_max_attempts_is_configurable(mavi_conn):
    mavi_conn.route("GET", f"/{ASSET}/metadata", err(503, "busy"))
    hook = MaviHook(retry_policy=RetryPolicy(max_attempts=5, base_delay=0.01, max_delay=0.02))
    with pytest.raises(MaviServerError):
        hook.get_asset_metadata(ASSET)
    assert len(mavi_conn.seen()) == 5


def test_ambiguous_limit_answer_is_bounded_separately(mavi_conn):
    mavi_conn.route("POST", "/video/extract-frames", err(400, "Request has exceeded the limit."))
    hook = MaviHook(
        retry_policy=RetryPolicy(max_attempts=6, limit_attempts=2, base_delay=0.01, max_delay=0.02)
    )
    with pytest.raises(MaviRateLimitError, match="wrong asset id") as info:
        hook.extract_frames(ASSET)
    assert info.value.ambiguous
    assert len(mavi_conn.seen()) == 2


def test_read_retries_a_timeout(hook, mavi_conn):
    mavi_conn.route("GET", f"/{ASSET}/metadata", Reply(delay=2.5, json_body={}), ok(META))
    assert hook.get_asset_metadata(ASSET) == META["resource"]
    assert len(mavi_conn.seen()) == 2


def test_read_retries_a_dropped_connection(hook, mavi_conn):
    mavi_conn.route("GET", f"/{ASSET}/metadata", Reply(close=True), ok(META))
    assert hook.get_asset_metadata(ASSET) == META["resource"]
    assert len(mavi_conn.seen()) == 2


@pytest.mark.parametrize("failure", [err(429, "slow down"), err(400, "Request has exceeded the limit.")])
def test_submit_retries_when_mavi_created_nothing(hook, mavi_conn, failure):
    mavi_conn.route("POST", "/video/extract-frames", failure, ok({"task_id": JOB}))
    assert hook.extract_frames(ASSET) == JOB
    assert len(mavi_conn.seen("POST", "/video/extract-frames")) == 2


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_submit_is_not_retried_after_5xx(hook, mavi_conn, status):
    mavi_conn.route("POST", "/transcriptions/async-generate-video", err(status, "oops"), ok({"task_id": JOB}))
    with pytest.raises(MaviServerError, match="NOT resubmitted") as info:
        hook.transcribe_video(ASSET)
    assert info.value.outcome_unknown
    assert len(mavi_conn.seen()) == 1


def test_submit_is_not_retried_after_a_timeout(hook, mavi_conn):
    mavi_conn.route(
        "POST", "/transcriptions/async-generate-audio", Reply(delay=2.5, json_body={}), ok({"task_id": JOB})
    )
    with pytest.raises(MaviTimeoutError, match="NOT resubmitted") as info:
        hook.transcribe_audio(ASSET)
    assert info.value.outcome_unknown
    time.sleep(0.1)
    assert len(mavi_conn.seen()) == 1


def test_submit_is_not_retried_after_a_dropped_connection(hook, mavi_conn):
    mavi_conn.route("POST", "/video/extract-frames", Reply(close=True), ok({"task_id": JOB}))
    with pytest.raises(MaviConnectionError, match="NOT resubmitted") as info:
        hook.extract_frames(ASSET)
    assert info.value.outcome_unknown
    assert len(mavi_conn.seen()) == 1


def test_upload_is_not_retried_after_5xx(hook, mavi_conn, tmp_path):
    source = tmp_path / "a.mp4"
    source.write_bytes(b"\0" * 1000)
    mavi_conn.route("POST", "/upload", err(500, "oops"), ok({"asset_id": ASSET}))
    with pytest.raises(MaviServerError):
        hook.upload_file(source)
    assert len(mavi_conn.seen()) == 1


def test_submit_retries_a_refused_connection_and_sends_once(monkeypatch, tmp_path):
    """Nothing listens on the port at first (refused before sending); the server comes up meanwhile."""
    port = free_port()
    monkeypatch.setenv("MAVI_RATE_LIMIT_DIR", str(tmp_path))
    monkeypatch.setenv(
        "AIRFLOW_CONN_MAVI_DEFAULT",
        connection_json(f"http://127.0.0.1:{port}/serve/api/v2", timeout=2, max_requests_per_second=200),
    )
    started: list[FakeMavi] = []

    def start_later() -> None:
        time.sleep(0.3)
        started.append(_server_on(port))

    thread = threading.Thread(target=start_later)
    thread.start()
    hook = MaviHook(retry_policy=RetryPolicy(max_attempts=8, base_delay=0.2, max_delay=0.3))
    try:
        job = hook.extract_frames(ASSET)
    finally:
        thread.join()
    try:
        assert job == JOB
        assert len(started[0].seen("POST", "/video/extract-frames")) == 1
    finally:
        started[0].close()


def _server_on(port: int) -> FakeMavi:
    """A FakeMavi bound to a given port, answering extract-frames."""
    import http.server

    original = http.server.ThreadingHTTPServer.__init__

    def bind_port(self, address, handler, *args, **kwargs):  # type: ignore[no-untyped-def]
        original(self, ("127.0.0.1", port), handler, *args, **kwargs)

    http.server.ThreadingHTTPServer.__init__ = bind_port  # type: ignore[method-assign]
    try:
        server = FakeMavi()
    finally:
        http.server.ThreadingHTTPServer.__init__ = original  # type: ignore[method-assign]
    server.route("POST", "/video/extract-frames", ok({"task_id": JOB}))
    return server


def test_refused_connection_for_a_read_ends_in_a_clear_error(monkeypatch, tmp_path):
    port = free_port()
    monkeypatch.setenv("MAVI_RATE_LIMIT_DIR", str(tmp_path))
    monkeypatch.setenv("AIRFLOW_CONN_MAVI_DEFAULT", connection_json(f"http://127.0.0.1:{port}/serve/api/v2"))
    hook = MaviHook(retry_policy=FAST)
    with pytest.raises(MaviConnectionError, match=r"Could not connect to Mavi .* after 3 attempts") as info:
        hook.get_asset_metadata(ASSET)
    assert not info.value.outcome_unknown


def test_retry_after_seconds_is_honoured(hook, mavi_conn):
    mavi_conn.route(
        "GET",
        f"/{ASSET}/metadata",
        Reply(429, {"code": 429, "msg": "slow"}, headers={"Retry-After": "1"}),
        ok(META),
    )
    hook.get_asset_metadata(ASSET)
    first, second = mavi_conn.seen()
    assert second.at - first.at >= 0.95


def test_retry_after_http_date_is_honoured(hook, mavi_conn):
    from email.utils import formatdate

    when = formatdate(time.time() + 2, usegmt=True)  # whole seconds: between 1 and 2 s from now
    mavi_conn.route(
        "GET",
        f"/{ASSET}/metadata",
        Reply(503, {"code": 503, "msg": "busy"}, headers={"Retry-After": when}),
        ok(META),
    )
    hook.get_asset_metadata(ASSET)
    first, second = mavi_conn.seen()
    assert second.at - first.at >= 0.9


def test_without_retry_after_backoff_is_short_and_grows(mavi_conn):
    mavi_conn.route("GET", f"/{ASSET}/metadata", err(500, "a"), err(500, "b"), err(500, "c"), ok(META))
    hook = MaviHook(retry_policy=RetryPolicy(max_attempts=4, base_delay=0.2, max_delay=5))
    hook.get_asset_metadata(ASSET)
    times = [s.at for s in mavi_conn.seen()]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(gaps) == 3
    assert gaps[0] >= 0.1
    assert gaps[1] >= 0.2
    assert gaps[2] >= 0.4


def test_async_twin_uses_the_same_retry_rule(hook, mavi_conn):
    import asyncio

    mavi_conn.route("GET", f"/{ASSET}/metadata", err(429, "x"), Reply(close=True), ok(META))
    assert asyncio.run(hook.aget_asset_metadata(ASSET)) == META["resource"]
    assert len(mavi_conn.seen()) == 3


def test_async_twin_gives_up_on_a_refused_connection(monkeypatch, tmp_path):
    import asyncio

    port = free_port()
    monkeypatch.setenv("MAVI_RATE_LIMIT_DIR", str(tmp_path))
    monkeypatch.setenv("AIRFLOW_CONN_MAVI_DEFAULT", connection_json(f"http://127.0.0.1:{port}/serve/api/v2"))
    with pytest.raises(MaviConnectionError, match="after 3 attempts"):
        asyncio.run(MaviHook(retry_policy=FAST).aget_asset_metadata(ASSET))


def test_delete_that_may_have_happened_is_done_when_retry_says_not_found(hook, mavi_conn):
    mavi_conn.route("DELETE", f"/{ASSET}", err(502, "gateway"), err(400, "Asset not found"))
    hook.delete_asset(ASSET)
    assert len(mavi_conn.seen()) == 2


def test_delete_of_unknown_asset_is_not_found(hook, mavi_conn):
    from airflow_provider_mavi.exceptions import MaviNotFoundError

    mavi_conn.route("DELETE", f"/{ASSET}", err(400, "Asset not found"))
    with pytest.raises(MaviNotFoundError):
        hook.delete_asset(ASSET)


def test_socket_is_really_closed_after_port_probe():
    port = free_port()
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("127.0.0.1", port))
