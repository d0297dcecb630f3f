"""A scripted Mavi behind mocked transports: a ``requests`` adapter and an ``httpx.MockTransport`` that answer
from one script, so the hook is tested without a network, a server or a subprocess.

Tests script answers per (method, path) and read back what was sent; the rate limiter is replaced by one that
records the bucket of every permit.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import requests
import requests.adapters
from requests.structures import CaseInsensitiveDict

API_KEY = "sk-mavi-unit-HOOK-Zq8-0007"  # fake, but unique enough to find in any output
BASE = "http://mavi.test/serve/api/v2"


@dataclass
class Reply:
    """One scripted answer (or ``error``: an exception the transport raises instead).

    :param status: HTTP status.
    :param json_body: a JSON body.
    :param body: raw bytes.
    :param headers: headers.
    :param error: raised instead of answering (a timeout, a refused connection).
    """

    status: int = 200
    json_body: Any = None
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    error: Exception | None = None


def ok(data: Any = None, code: Any = 200) -> Reply:
    return Reply(200, {"code": code, "msg": "success", "data": data, "success": True, "failed": False})


def err(status: int, msg: str) -> Reply:
    return Reply(status, {"code": status, "msg": msg, "data": None})


@dataclass
class Seen:
    method: str
    url: str
    path: str
    headers: dict[str, str]
    body: bytes


class ScriptedMavi:
    """Answers from a script; the last reply of a route repeats. Unrouted requests get a 404."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self._routes: dict[tuple[str, str], list[Reply]] = {}

    def route(self, method: str, path: str, *replies: Reply) -> None:
        """``path`` is below the API prefix, or a full URL (a signed upload URL; its query is ignored)."""
        self._routes[(method, path.split("?")[0] if "://" in path else BASE + path)] = list(replies)

    def seen(self, method: str | None = None) -> list[Seen]:
        return [s for s in self.requests if method in (None, s.method)]

    def answer(self, method: str, url: str, headers: dict[str, str], body: bytes) -> Reply:
        parts = urlsplit(url)
        self.requests.append(Seen(method, url, parts.path, headers, body))
        script = self._routes.get((method, f"{parts.scheme}://{parts.netloc}{parts.path}"))
        if script is None:
            return err(404, "no such route in the script")
        reply = script.pop(0) if len(script) > 1 else script[0]
        if reply.error is not None:
            raise reply.error
        return reply

    @staticmethod
    def payload(reply: Reply) -> tuple[dict[str, str], bytes]:
        headers = dict(reply.headers)
        if reply.json_body is not None:
            headers.setdefault("Content-Type", "application/json")
            return headers, json.dumps(reply.json_body).encode()
        return headers, reply.body

    def httpx_handler(self, request: httpx.Request) -> httpx.Response:
        reply = self.answer(request.method, str(request.url), dict(request.headers), request.read())
        headers, body = self.payload(reply)
        return httpx.Response(reply.status, headers=headers, content=body)


class ScriptedAdapter(requests.adapters.BaseAdapter):
    """A ``requests`` transport adapter answering from a :class:`ScriptedMavi`."""

    def __init__(self, mavi: ScriptedMavi) -> None:
        super().__init__()
        self.mavi = mavi

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        body = request.body
        if body is None:
            raw = b""
        elif isinstance(body, (bytes, str)):
            raw = body.encode() if isinstance(body, str) else body
        else:  # a streamed body (our multipart or raw file body)
            raw = b"".join(body)  # type: ignore[arg-type]
        reply = self.mavi.answer(str(request.method), str(request.url), dict(request.headers), raw)
        headers, content = self.mavi.payload(reply)
        response = requests.Response()
        response.status_code = reply.status
        response.headers = CaseInsensitiveDict(headers)
        response.raw = io.BytesIO(content)
        response.url = str(request.url)
        response.request = request
        return response

    def close(self) -> None:
        pass


class RecordingLimiter:
    """Stands in for the account's limiter: grants every permit and records its bucket."""

    def __init__(self) -> None:
        self.buckets: list[str] = []

    def acquire(self, bucket: str) -> None:
        self.buckets.append(bucket)

    async def aacquire(self, bucket: str) -> None:
        self.buckets.append(bucket)


@pytest.fixture
def mavi(monkeypatch: pytest.MonkeyPatch) -> ScriptedMavi:
    """``mavi_default`` pointing at the scripted Mavi."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_MAVI_DEFAULT",
        json.dumps(
            {
                "conn_type": "mavi",
                "host": BASE,
                "password": API_KEY,
                "extra": {"timeout": 5, "max_requests_per_second": 1000},
            }
        ),
    )
    return ScriptedMavi()


def wire(hook: Any, mavi: ScriptedMavi, monkeypatch: pytest.MonkeyPatch) -> RecordingLimiter:
    """Put a hook on the scripted transports; return its recording limiter."""
    limiter = RecordingLimiter()
    hook._limiter = limiter
    session = hook.get_conn()
    for prefix in ("http://", "https://"):
        session.mount(prefix, ScriptedAdapter(mavi))
    monkeypatch.setattr(
        hook,
        "_async_client",
        lambda settings: httpx.AsyncClient(transport=httpx.MockTransport(mavi.httpx_handler)),
    )
    return limiter


@pytest.fixture
def hook(mavi: ScriptedMavi, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A ``MaviHook`` on the scripted Mavi, 3 attempts, no backoff wait; ``hook.limiter`` records permits."""
    from airflow_provider_mavi.hooks.mavi import MaviHook
    from airflow_provider_mavi.retry import RetryPolicy

    hook = MaviHook(retry_policy=RetryPolicy(max_attempts=3, limit_attempts=3, base_delay=0, max_delay=0))
    hook.limiter = wire(hook, mavi, monkeypatch)
    return hook
