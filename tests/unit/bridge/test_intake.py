"""Pure checks of callback bodies, settings, path redaction and the in-process waiter hub."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_mavi.bridge.intake import Rejection, canonical_json, parse_callback
from airflow_provider_mavi.bridge.redact import RedactingFilter, redact_path
from airflow_provider_mavi.bridge.settings import BridgeConfigError, BridgeSettings, parse_duration
from airflow_provider_mavi.bridge.store import IncomingCallback, is_terminal, iso_utc
from airflow_provider_mavi.bridge.waits import WaitHub

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def outcome(body: bytes) -> IncomingCallback | Rejection:
    try:
        return parse_callback(body, 0.0)
    except Rejection as rejection:
        return rejection


@given(body=st.binary(max_size=200))
def test_any_bytes_are_stored_or_refused_with_a_reason(body: bytes) -> None:
    result = outcome(body)
    if isinstance(result, Rejection):
        assert result.status == 400
        assert result.reason in {"not_json", "not_utf8", "not_object", "no_task_id", "bad_task_id"}
    else:
        assert result.payload == body


@given(
    extra=st.dictionaries(st.text(max_size=10), json_values, max_size=5), job=st.text(min_size=1, max_size=50)
)
def test_hash_ignores_whitespace_and_key_order(extra: dict, job: str) -> None:
    job = job.strip() or "j"
    body = {**extra, "task_id": job}
    try:
        compact = parse_callback(json.dumps(body).encode(), 0)
    except Rejection:
        return  # lone surrogates or a NUL in the id
    spaced = parse_callback(json.dumps(dict(reversed(list(body.items()))), indent=3).encode(), 0)
    assert compact.body_sha256 == spaced.body_sha256
    assert compact.job_id == job


def test_canonical_json_refuses_lone_surrogates() -> None:
    with pytest.raises(ValueError, match="not valid Unicode"):
        canonical_json({"x": "\ud800"})


def test_terminal_or_progress() -> None:
    assert is_terminal({"code": 200, "task_id": "x"})
    assert not is_terminal({"status": "processing"})
    assert not is_terminal({"data": {"status": "Running"}})
    assert is_terminal({"status": "completed"})
    assert iso_utc(0) == "1970-01-01T00:00:00.000+00:00"


def test_settings_from_env_and_checks(tmp_path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("f" * 40 + "\n")
    env = {
        "MAVI_BRIDGE_DB_URL": "sqlite:///x.db",
        "MAVI_BRIDGE_CALLBACK_SECRET_FILE": str(secret_file),
        "MAVI_BRIDGE_API_TOKEN": "t" * 40,
        "MAVI_BRIDGE_MAX_BODY": "2048",
        "MAVI_BRIDGE_RELAY_URLS": "http://a/x, https://b/y",
        "MAVI_BRIDGE_ALLOWED_NETWORKS": "10.0.0.0/8,2001:db8::/32",
        "MAVI_BRIDGE_RETENTION": "30d",
    }
    s = BridgeSettings.from_env(env, port=9999).checked()
    assert s.callback_secret == "f" * 40
    assert (s.max_body, s.port, s.retention_seconds) == (2048, 9999, 30 * 86400)
    assert s.relay_urls == ("http://a/x", "https://b/y")
    assert [str(n) for n in s.allowed_networks] == ["10.0.0.0/8", "2001:db8::/32"]
    assert "f" * 40 not in repr(s)
    assert "t" * 40 not in repr(s)
    for bad, message in (
        ({"MAVI_BRIDGE_MAX_BODY": "lots"}, "MAVI_BRIDGE_MAX_BODY: 'lots' is not a number"),
        ({"MAVI_BRIDGE_ALLOWED_NETWORKS": "everyone"}, "'everyone' is not a network"),
        ({"MAVI_BRIDGE_RELAY_URLS": "ftp://x"}, "must start with http"),
        ({"MAVI_BRIDGE_CALLBACK_SECRET_FILE": str(tmp_path / "none")}, "cannot read"),
    ):
        with pytest.raises(BridgeConfigError, match=message):
            BridgeSettings.from_env({**env, "MAVI_BRIDGE_CALLBACK_SECRET": "", **bad}).checked()


def test_durations() -> None:
    assert parse_duration("30d") == 30 * 86400
    assert parse_duration("12h") == 12 * 3600
    assert parse_duration("90") == 90
    for bad in ("soon", "-1d", "0"):
        with pytest.raises(BridgeConfigError):
            parse_duration(bad)


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ("/callbacks/abc", "/callbacks/***"),
        ("/mavi/callbacks/abc/extra", "/mavi/callbacks/***"),
        ("/callbacks/abc?x=1", "/callbacks/***"),
        ("/v1/callbacks/job-1?wait=30", "/v1/callbacks/job-1?wait=30"),
        ("/v1/callbacks/job-1?token=t&wait=3", "/v1/callbacks/job-1?token=***&wait=3"),
        ("/mavi/v1/callbacks/wait", "/mavi/v1/callbacks/wait"),
        ("/healthz", "/healthz"),
    ],
)
def test_redact_path(path: str, shown: str) -> None:
    assert redact_path(path) == shown


def test_redacting_filter_hides_relay_urls() -> None:
    record = logging.LogRecord(
        "httpx", logging.INFO, "", 0, "HTTP Request: %s %s", ("POST", "https://x.io/hook/s3cret"), None
    )
    RedactingFilter(("https://x.io/hook/s3cret",)).filter(record)
    assert "s3cret" not in record.getMessage()


async def test_hub_wakes_only_the_right_waiters() -> None:
    hub = WaitHub()
    a, b = hub.register(["j1", "j2"]), hub.register(["j3"])
    assert hub.open_waits == 2
    assert sorted(hub.waited_ids()) == ["j1", "j2", "j3"]
    assert hub.notify(["j2", "unknown"]) == 1
    await asyncio.wait_for(a.event.wait(), 1)
    assert not b.event.is_set()
    assert a.take_notified() == ["j2"]
    assert not a.event.is_set()
    hub.unregister(a)
    hub.unregister(b)
    assert hub.open_waits == 0
    assert hub.waited_ids() == []


@settings(max_examples=50)
@given(job=st.text(max_size=300))
def test_job_ids_are_checked(job: str) -> None:
    result = outcome(json.dumps({"task_id": job}).encode())
    if isinstance(result, Rejection):
        assert result.reason in {"no_task_id", "bad_task_id", "not_utf8"}
    else:
        assert 0 < len(result.job_id) <= 200
        assert result.job_id == result.job_id.strip()


def test_wait_is_capped_and_checked() -> None:
    from airflow_provider_mavi.bridge.checks import parse_wait as _parse_wait

    assert _parse_wait(None, 60) == 0
    assert _parse_wait("2.5", 60) == 2.5
    assert _parse_wait("3600", 60) == 60
    assert _parse_wait(1e9, 60) == 60
    for bad in ("-1", "nan", "x", True, "", "inf", "1e309", float("inf"), [1]):
        with pytest.raises(ValueError):
            _parse_wait(bad, 60)
