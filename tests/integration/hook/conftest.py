"""A small scripted stand-in for Mavi: a real HTTP server on loopback (http.server in a thread).

Tests script answers per (method, path) and read back what the server saw (method, path, headers, body size
and hash, arrival time). Bodies are read and hashed in chunks, so large uploads never sit in memory.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

API_KEY = "sk-mavi-test-Zq8-TOPSECRET-4242"  # fake, but unique enough to find in any output
API_PREFIX = "/serve/api/v2"


@dataclass
class Reply:
    """One scripted answer.

    :param status: HTTP status.
    :param json_body: a JSON body (sent as application/json).
    :param body: raw bytes.
    :param chunks: a callable producing the body in chunks (for large downloads).
    :param headers: extra headers.
    :param delay: seconds to wait before answering (to provoke client timeouts).
    :param close: close the connection without answering.
    """

    status: int = 200
    json_body: Any = None
    body: bytes = b""
    chunks: Callable[[], Iterator[bytes]] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    close: bool = False


def ok(data: Any = None, code: Any = 200, msg_key: str = "msg") -> Reply:
    """A success envelope."""
    return Reply(200, {"code": code, msg_key: "success", "data": data, "success": True, "failed": False})


def err(status: int, msg: str, code: Any = None, **extra: Any) -> Reply:
    """An error envelope as Mavi documents it."""
    return Reply(status, {"code": status if code is None else code, "msg": msg, "data": None, **extra})


@dataclass
class Seen:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body_size: int
    body_sha256: str
    body_head: bytes
    at: float
    body: bytes | None = None  # the whole body when it is at most 1 MiB


class FakeMavi:
    """The scripted server. ``base_url`` ends in ``/serve/api/v2``."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self._routes: dict[tuple[str, str], list[Reply] | Callable[[Seen], Reply]] = {}
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _handle(self) -> None:
                fake._serve(self)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.origin = f"http://127.0.0.1:{self.port}"
        self.base_url = self.origin + API_PREFIX
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def route(
        self, method: str, path: str, *replies: Reply, handler: Callable[[Seen], Reply] | None = None
    ) -> None:
        """Script answers for ``method path`` (path below the API prefix unless it starts with ``//``).

        Replies are used in order; the last one repeats.
        """
        full = path[1:] if path.startswith("//") else API_PREFIX + path
        with self._lock:
            self._routes[(method, full)] = handler if handler else list(replies)

    def seen(self, method: str | None = None, path: str | None = None) -> list[Seen]:
        full = None if path is None else (path[1:] if path.startswith("//") else API_PREFIX + path)
        with self._lock:
            return [r for r in self.requests if (method in (None, r.method)) and (full in (None, r.path))]

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        digest = hashlib.sha256()
        size = 0
        head = b""
        small: list[bytes] = []
        length = int(h.headers.get("Content-Length") or 0)
        remaining = length
        while remaining > 0:
            chunk = h.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            digest.update(chunk)
            if len(head) < 4096:
                head += chunk[: 4096 - len(head)]
            size += len(chunk)
            if size <= 1 << 20:
                small.append(chunk)
            remaining -= len(chunk)
        seen = Seen(
            h.command,
            parts.path,
            parts.query,
            dict(h.headers.items()),
            size,
            digest.hexdigest(),
            head,
            time.time(),
            b"".join(small) if size <= 1 << 20 else None,
        )
        with self._lock:
            self.requests.append(seen)
            script = self._routes.get((h.command, parts.path))
            if script is None:
                reply = Reply(404, {"code": 404, "msg": "no such route in the test server", "data": None})
            elif callable(script):
                reply = script(seen)
            else:
                reply = script.pop(0) if len(script) > 1 else script[0]
        if reply.delay:
            time.sleep(reply.delay)
        if reply.close:
            h.close_connection = True
            with contextlib.suppress(OSError):
                h.connection.shutdown(socket.SHUT_RDWR)
            return
        body = reply.body
        headers = dict(reply.headers)
        if reply.json_body is not None:
            body = json.dumps(reply.json_body).encode()
            headers.setdefault("Content-Type", "application/json")
        try:
            h.send_response(reply.status)
            for name, value in headers.items():
                h.send_header(name, value)
            if reply.chunks is None:
                h.send_header("Content-Length", str(len(body)))
                h.end_headers()
                h.wfile.write(body)
            else:
                if "Content-Length" not in headers:
                    h.send_header("Connection", "close")
                    h.close_connection = True
                h.end_headers()
                for chunk in reply.chunks():
                    h.wfile.write(chunk)
            h.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture
def fake_mavi() -> Iterator[FakeMavi]:
    server = FakeMavi()
    try:
        yield server
    finally:
        server.close()


def connection_json(base_url: str, api_key: str = API_KEY, **extra: Any) -> str:
    """An ``AIRFLOW_CONN_*`` value in Airflow's JSON form."""
    return json.dumps({"conn_type": "mavi", "host": base_url, "password": api_key, "extra": extra})


@pytest.fixture
def mavi_conn(fake_mavi: FakeMavi, monkeypatch: pytest.MonkeyPatch, tmp_path_factory: Any) -> FakeMavi:
    """``mavi_default`` pointing at the fake server (fast limiter, short timeout); returns the server."""
    monkeypatch.setenv("MAVI_RATE_LIMIT_DIR", str(tmp_path_factory.mktemp("ratelimit")))
    monkeypatch.setenv(
        "AIRFLOW_CONN_MAVI_DEFAULT",
        connection_json(fake_mavi.base_url, timeout=2, max_requests_per_second=200),
    )
    return fake_mavi


def free_port() -> int:
    """A loopback port nobody listens on (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def hook(mavi_conn: FakeMavi) -> Any:
    """A ``MaviHook`` on ``mavi_default`` with fast backoff (delays of a few ms)."""
    from airflow_provider_mavi.hooks.mavi import MaviHook
    from airflow_provider_mavi.retry import RetryPolicy

    return MaviHook(
        retry_policy=RetryPolicy(max_attempts=3, limit_attempts=3, base_delay=0.01, max_delay=0.05)
    )
