"""Media given by URL (speech-to-text ``url``/``source_url``, VLM ``file_uri``/``video_url``) or as a
base64 data URI.

``http``/``https`` URLs are fetched with a size cap and an overall time cap; loopback and private
addresses are allowed (the emulator is a local test tool, and tests serve files on loopback). Redirects are
followed (at most :data:`MAX_REDIRECTS`). The URL is never logged: signed URLs carry secrets. Everything
here blocks: the app runs it in its worker pool.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import httpx

if TYPE_CHECKING:
    from pathlib import Path

MAX_REDIRECTS = 5
_DATA_URI = re.compile(
    r"data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?:;[\w-]+=[\w.-]+)*;base64,(?P<data>.*)", re.DOTALL
)


class FetchError(Exception):
    """The media could not be had; the message says why (never the URL)."""


def is_http_url(value: object) -> bool:
    """Say whether a value is an absolute ``http(s)`` URL.

    :param value: any JSON value.
    """
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def is_data_uri(value: object) -> bool:
    """Say whether a value is a base64 ``data:`` URI.

    :param value: any JSON value.
    """
    return isinstance(value, str) and _DATA_URI.fullmatch(value.strip()) is not None


def fetch_url(url: str, target: Path, *, max_bytes: int, timeout: float) -> Path:
    """Download ``url`` to ``target``.

    :param url: an ``http(s)`` URL.
    :param target: the file to write (removed again on failure).
    :param max_bytes: the largest body accepted.
    :param timeout: seconds for the whole download.
    :raises FetchError: on a non-200 answer, a body over the cap, a timeout or a connection error.
    """
    deadline = time.monotonic() + timeout
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with httpx.HTTPTransport() as transport:
            for _ in range(MAX_REDIRECTS + 1):
                if not is_http_url(url):
                    raise FetchError("only http(s) URLs can be fetched")
                left = max(0.1, deadline - time.monotonic())
                request = httpx.Request(
                    "GET",
                    url,
                    headers={"User-Agent": "mavi-emulator"},
                    extensions={"timeout": {"connect": left, "read": left, "write": left, "pool": left}},
                )
                response = transport.handle_request(request)
                try:
                    if response.status_code in (301, 302, 303, 307, 308) and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code != 200:
                        raise FetchError(f"the URL answered HTTP {response.status_code}")
                    _save(response, target, max_bytes, deadline)
                    return target
                finally:
                    response.close()
            raise FetchError(f"more than {MAX_REDIRECTS} redirects")
    except httpx.HTTPError as exc:
        target.unlink(missing_ok=True)
        raise FetchError(f"the URL could not be fetched ({type(exc).__name__})") from exc
    except FetchError:
        target.unlink(missing_ok=True)
        raise


def _save(response: httpx.Response, target: Path, max_bytes: int, deadline: float) -> None:
    """Stream a body to disk within the caps.

    :param response: the open response.
    :param target: the file.
    :param max_bytes: the largest body accepted.
    :param deadline: monotonic time by which it must be done.
    """
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"the file is larger than the emulator's limit of {max_bytes} bytes")
    size = 0
    with target.open("wb") as out:
        for chunk in response.iter_raw():
            size += len(chunk)
            if size > max_bytes:
                raise FetchError(f"the file is larger than the emulator's limit of {max_bytes} bytes")
            if time.monotonic() > deadline:
                raise FetchError("the download took longer than the emulator's time limit")
            out.write(chunk)


def decode_data_uri(uri: str, target: Path, *, max_bytes: int) -> Path:
    """Write the bytes of a base64 ``data:`` URI to ``target``.

    :param uri: the URI.
    :param target: the file to write.
    :param max_bytes: the largest decoded size accepted.
    :raises FetchError: when it is not valid base64 or too large.
    """
    match = _DATA_URI.fullmatch(uri.strip())
    if match is None:
        raise FetchError("not a base64 data URI")
    data = match.group("data")
    if len(data) * 3 // 4 > max_bytes:
        raise FetchError(f"the file is larger than the emulator's limit of {max_bytes} bytes")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FetchError("the data URI is not valid base64") from exc
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(raw)
    return target


def obtain(source: str, target: Path, *, max_bytes: int, timeout: float) -> Path:
    """Write the media of an ``http(s)`` URL or a base64 data URI to ``target``.

    :param source: the URL or data URI.
    :param target: the file to write.
    :param max_bytes: the largest size accepted.
    :param timeout: seconds for a download.
    :raises FetchError: when it cannot be had.
    """
    if is_data_uri(source):
        return decode_data_uri(source, target, max_bytes=max_bytes)
    return fetch_url(source, target, max_bytes=max_bytes, timeout=timeout)
