"""What the two HTTP clients need beyond the pure helpers: how a request failed (before sending, by
timeout, or after sending), exception descriptions that carry no URL or header, the shared TLS context,
and a filter that keeps signed-URL query strings out of ``urllib3``'s debug log."""

from __future__ import annotations

import functools
import logging
import ssl
from typing import TYPE_CHECKING

import certifi
import httpx
import requests
import urllib3.exceptions

from airflow_provider_mavi.envelope import TransportFailure
from airflow_provider_mavi.hooks.transfer import SourceChangedError

if TYPE_CHECKING:
    from collections.abc import Iterable


class RedactQueryFilter(logging.Filter):
    """Drops the query string of URLs in ``urllib3``'s debug lines (a signed URL's query is its secret)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(isinstance(a, str) and "?" in a for a in record.args):
            record.args = tuple(
                a.split("?", 1)[0] + "?<redacted>" if isinstance(a, str) and "?" in a else a
                for a in record.args
            )
        return True


@functools.lru_cache(maxsize=1)
def ssl_context() -> ssl.SSLContext:
    """One TLS context per process for the async clients: loading the CA bundle takes a while, and a
    client is made per call (contexts are not bound to an event loop)."""
    return ssl.create_default_context(cafile=certifi.where())


def requests_failure(exc: requests.RequestException) -> TransportFailure:
    """How a ``requests`` call failed: before sending, by timeout, or broken after sending."""
    if isinstance(
        exc, (requests.ConnectTimeout, requests.exceptions.SSLError, requests.exceptions.ProxyError)
    ):
        return TransportFailure.NOT_SENT
    if isinstance(exc, requests.Timeout):
        return TransportFailure.TIMEOUT
    if isinstance(exc, requests.ConnectionError):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        u3 = urllib3.exceptions
        if isinstance(reason, (u3.NewConnectionError, u3.ConnectTimeoutError, u3.NameResolutionError)):
            return TransportFailure.NOT_SENT
    return TransportFailure.BROKEN


def httpx_failure(exc: httpx.TransportError) -> TransportFailure:
    """How an ``httpx`` call failed: before sending, by timeout, or broken after sending."""
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)):
        return TransportFailure.NOT_SENT
    if isinstance(exc, httpx.TimeoutException):
        return TransportFailure.TIMEOUT
    return TransportFailure.BROKEN


def source_changed(exc: BaseException) -> SourceChangedError | None:
    """The :class:`SourceChangedError` that ``requests`` wrapped while sending a body, if any."""
    stack: list[object] = [exc]
    seen: set[int] = set()
    while stack:
        item = stack.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, SourceChangedError):
            return item
        stack.extend([*item.args, item.__cause__, item.__context__])
    return None


def describe(exc: BaseException) -> str:
    """Exception class names down the cause chain: no messages, so no URL, header or key."""
    names: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(names) < 4:
        names.append(type(seen).__name__)
        inner = getattr(seen, "reason", None) if not seen.__cause__ else seen.__cause__
        if inner is None and seen.args and isinstance(seen.args[0], BaseException):
            inner = seen.args[0]
        seen = inner if isinstance(inner, BaseException) and inner is not seen else None
    return " < ".join(names)


def read_limited(chunks: Iterable[bytes], limit: int) -> bytes:
    """Read at most ``limit`` bytes of an answer that should be small JSON."""
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        parts.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(parts)[:limit]


def content_length(value: str | None) -> int | None:
    """``Content-Length`` as an int, or None when absent or invalid."""
    try:
        length = int(value) if value is not None else None
    except ValueError:
        return None
    return length if length is None or length >= 0 else None
