"""The API key never appears in a log line, an exception (text, repr, traceback) or a repr."""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import traceback

import pytest

from airflow_provider_mavi.exceptions import MaviError
from airflow_provider_mavi.hooks.mavi import MaviHook, settings_from_connection
from airflow_provider_mavi.retry import RetryPolicy

from .conftest import API_KEY, Reply, connection_json, err, free_port, ok

FAST = RetryPolicy(max_attempts=2, limit_attempts=2, base_delay=0.01, max_delay=0.02)
KEY_PARTS = (API_KEY, API_KEY[8:20])


def exception_text(error: BaseException) -> str:
    return "".join(traceback.format_exception(error)) + repr(error) + str(error) + repr(error.args)


def test_key_absent_everywhere(mavi_conn, tmp_path, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "httpx", "httpcore", "requests", "airflow"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    mavi_conn.route("GET", "/re_1/metadata", ok({"total": 0, "resource": []}))
    mavi_conn.route("GET", "/re_2/metadata", err(401, "Unauthorized"))
    mavi_conn.route("POST", "/video/extract-frames", err(500, "boom"))
    mavi_conn.route("POST", "/transcriptions/async-generate-audio", Reply(delay=2.5, json_body={}))
    mavi_conn.route(
        "POST",
        "/transcriptions/async-generate-video",
        err(400, "An async request requires at least one webhook."),
    )
    mavi_conn.route("GET", "/re_3/download", err(402, "Payment required"))
    mavi_conn.route("POST", "/upload", ok({"asset_id": "re_9"}))
    source = tmp_path / "v.mp4"
    source.write_bytes(b"0" * 2048)

    hook = MaviHook(retry_policy=FAST)
    texts: list[str] = [
        repr(hook),
        repr(hook.get_settings()),
        str(hook.get_settings()),
        repr(hook._rate_limiter(hook.get_settings())),
    ]
    hook.get_asset_metadata("re_1")
    hook.upload_file(source)
    asyncio.run(hook.aget_asset_metadata("re_1"))
    failing = [
        lambda: hook.get_asset_metadata("re_2"),
        lambda: hook.extract_frames("re_1"),
        lambda: hook.transcribe_audio("re_1"),
        lambda: hook.transcribe_video("re_1"),
        lambda: hook.download_asset("re_3", tmp_path),
        lambda: asyncio.run(hook.aget_asset_metadata("re_2")),
    ]
    for call in failing:
        with pytest.raises(MaviError) as info:
            call()
        texts.append(exception_text(info.value))
    texts.append(str(hook.test_connection()))
    texts.append(caplog.text)
    captured = capsys.readouterr()
    texts += [captured.out, captured.err]
    texts += os.listdir(tempfile.gettempdir()) + os.listdir(os.environ["MAVI_RATE_LIMIT_DIR"])
    blob = "\n".join(texts)
    assert "Unauthorized" in blob  # the capture did see the failures
    for part in KEY_PARTS:
        assert part not in blob


def test_key_absent_when_mavi_is_unreachable(monkeypatch, tmp_path, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("MAVI_RATE_LIMIT_DIR", str(tmp_path))
    url = f"http://127.0.0.1:{free_port()}/serve/api/v2"
    monkeypatch.setenv("AIRFLOW_CONN_MAVI_DEFAULT", connection_json(url, max_requests_per_second=100))
    hook = MaviHook(retry_policy=FAST)
    with pytest.raises(MaviError) as sync_info:
        hook.extract_frames("re_1")
    with pytest.raises(MaviError) as async_info:
        asyncio.run(hook.aget_asset_metadata("re_1"))
    blob = exception_text(sync_info.value) + exception_text(async_info.value) + caplog.text
    blob += "".join(capsys.readouterr())
    for part in KEY_PARTS:
        assert part not in blob


@pytest.mark.parametrize("bad_key", [f"{API_KEY}\n", f" {API_KEY} x", f"{API_KEY}\x00"])
def test_malformed_key_is_refused_without_echoing_it(monkeypatch, bad_key):
    from airflow.sdk import Connection

    conn = Connection(conn_id="m", conn_type="mavi", host="http://127.0.0.1:1", password=bad_key)
    if bad_key.strip() == API_KEY:  # surrounding whitespace is trimmed, not an error
        assert settings_from_connection(conn).api_key == API_KEY
        return
    with pytest.raises(MaviError, match="spaces or control characters") as info:
        settings_from_connection(conn)
    assert API_KEY not in exception_text(info.value)


def test_missing_key_is_a_clear_error():
    from airflow.sdk import Connection

    conn = Connection(conn_id="m", conn_type="mavi", host="http://127.0.0.1:1")
    with pytest.raises(MaviError, match="no API key"):
        settings_from_connection(conn)


def test_a_key_echoed_back_by_mavi_is_scrubbed(hook, mavi_conn):
    mavi_conn.route("GET", "/re_1/metadata", err(401, f"Invalid API key {API_KEY}"))
    with pytest.raises(MaviError) as info:
        hook.get_asset_metadata("re_1")
    assert API_KEY not in exception_text(info.value)
    assert info.value.mavi_message == "Invalid API key <API key>"
    with pytest.raises(MaviError) as async_info:
        asyncio.run(hook.aget_asset_metadata("re_1"))
    assert API_KEY not in exception_text(async_info.value)
