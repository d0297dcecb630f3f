"""The transport helpers: failure kinds, exception descriptions, log redaction, small reads."""

from __future__ import annotations

import logging

import httpx
import requests
import urllib3.exceptions

from airflow_provider_mavi.envelope import TransportFailure
from airflow_provider_mavi.hooks.transfer import SourceChangedError
from airflow_provider_mavi.hooks.transport import (
    RedactQueryFilter,
    content_length,
    describe,
    httpx_failure,
    read_limited,
    requests_failure,
    source_changed,
)


def test_urllib3_debug_lines_lose_their_query_string():
    record = logging.LogRecord(
        "urllib3.connectionpool", logging.DEBUG, __file__, 1, '%s://%s:%s "%s %s %s" %s %s',
        ("https", "storage.example", 443, "POST", "/b/o?X-Goog-Signature=SECRET", "HTTP/1.1", 200, 0), None,
    )  # fmt: skip
    assert RedactQueryFilter().filter(record)
    assert "SECRET" not in record.getMessage()
    assert "/b/o?<redacted>" in record.getMessage()


def test_failure_kinds():
    refused = requests.ConnectionError(
        urllib3.exceptions.MaxRetryError(None, "/", urllib3.exceptions.NewConnectionError(None, "refused"))
    )
    assert requests_failure(refused) is TransportFailure.NOT_SENT
    assert requests_failure(requests.ConnectTimeout()) is TransportFailure.NOT_SENT
    assert requests_failure(requests.ReadTimeout()) is TransportFailure.TIMEOUT
    assert requests_failure(requests.ConnectionError("reset")) is TransportFailure.BROKEN
    assert httpx_failure(httpx.ConnectError("x")) is TransportFailure.NOT_SENT
    assert httpx_failure(httpx.ReadTimeout("x")) is TransportFailure.TIMEOUT
    assert httpx_failure(httpx.RemoteProtocolError("x")) is TransportFailure.BROKEN


def test_describe_names_classes_never_messages():
    exc = requests.ConnectionError("http://h/x?sig=SECRET")
    exc.__cause__ = OSError("SECRET again")
    assert describe(exc) == "ConnectionError < OSError"


def test_source_changed_is_found_inside_a_wrapped_error():
    inner = SourceChangedError("a.mp4 shrank")
    wrapped = requests.ConnectionError(inner)
    assert source_changed(wrapped) is inner
    assert source_changed(requests.ConnectionError("x")) is None


def test_small_reads_and_lengths():
    assert read_limited([b"ab", b"cd", b"ef"], 3) == b"abc"
    assert content_length("12") == 12
    assert content_length(None) is None
    assert content_length("-1") is None
    assert content_length("x") is None
