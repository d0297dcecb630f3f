"""Fixtures of the operators' unit tests: a paid Mavi behind a ``requests`` adapter, operators wired to it.

``paid_mavi`` answers what the real ``MaviHook`` sends (no socket): a job submit gets a fresh 32-hex
``task_id``, a sync call the answer a test scripted (default: the documented example); every request is
recorded with its JSON body, so tests check the request an operator builds as it goes over HTTP. The bridge
is ``fake_bridge`` (tests/unit/conftest.py).
"""

from __future__ import annotations

import io
import json
import secrets
from typing import Any

import pytest
import requests
import requests.adapters
from requests.structures import CaseInsensitiveDict

from airflow_provider_mavi.hooks.mavi import MaviHook
from airflow_provider_mavi.retry import RetryPolicy

BASE = "http://mavi.test/serve/api/v2"
API_KEY = "sk-mavi-unit-OPS-Jq4-0011"


class PaidMavi(requests.adapters.BaseAdapter):
    """Mavi answering over a ``requests`` adapter; counts every paid request.

    :ivar sent: ``(method, path below the API prefix, JSON body)`` of every request, in order.
    :ivar answers: scripted answers ``(status, body)`` by path, used (and kept) for every request to it.
    :ivar first: answers given once each, before anything else, whatever the path.
    """

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str, Any]] = []
        self.answers: dict[str, tuple[int, Any]] = {}
        self.first: list[tuple[int, Any]] = []
        self.job_ids: list[str] = []

    def paths(self) -> list[str]:
        return [path for _, path, _ in self.sent]

    def bodies(self, path: str) -> list[Any]:
        return [body for _, sent, body in self.sent if sent == path]

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        raw = request.body or b""
        body = json.loads(raw) if raw else None
        path = str(request.url).removeprefix(BASE)
        self.sent.append((str(request.method), path, body))
        if self.first:
            status, answer = self.first.pop(0)
        elif path in self.answers:
            status, answer = self.answers[path]
        else:
            job_id = secrets.token_hex(16)
            self.job_ids.append(job_id)
            status, answer = (
                200,
                {"code": 200, "msg": "success", "data": {"task_id": job_id}, "success": True},
            )
        response = requests.Response()
        response.status_code = status
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json"})
        response.raw = io.BytesIO(json.dumps(answer).encode())
        response.url = str(request.url)
        response.request = request
        return response

    def close(self) -> None:
        pass


class GrantAll:
    """The account's limiter, granting every permit at once."""

    def acquire(self, bucket: str) -> None:
        pass

    async def aacquire(self, bucket: str) -> None:
        pass


@pytest.fixture
def paid_mavi(monkeypatch: pytest.MonkeyPatch) -> PaidMavi:
    """``mavi_default`` pointing at the paid Mavi (no bridge in it: operators get ``fake_bridge``)."""
    monkeypatch.setenv(
        "AIRFLOW_CONN_MAVI_DEFAULT",
        json.dumps({"conn_type": "mavi", "host": BASE, "password": API_KEY, "extra": {"timeout": 5}}),
    )
    return PaidMavi()


@pytest.fixture
def wire(paid_mavi: PaidMavi, fake_bridge: Any) -> Any:
    """``wire(operator)``: the operator on the paid Mavi (a real hook, no backoff) and the fake bridge."""

    def wired(op: Any, *, bridge: bool = True) -> Any:
        hook = MaviHook(retry_policy=RetryPolicy(max_attempts=3, limit_attempts=3, base_delay=0, max_delay=0))
        hook._limiter = GrantAll()
        session = hook.get_conn()
        for prefix in ("http://", "https://"):
            session.mount(prefix, paid_mavi)
        op.hook = hook
        if bridge:
            op.bridge_hook = fake_bridge.hook(retry_policy=op.mavi_retry_policy.with_attempts(1))
        return op

    return wired
