"""Fixtures of the unit tests: no network, no subprocess.

``fake_bridge`` is the bridge's ``/v1`` read API in memory behind an ``httpx.MockTransport``: the hook's
requests reach it without a socket, long-polls are held (a thread sleeps, or a coroutine waits), and every
request is recorded. The real bridge is exercised in ``tests/integration``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote

import httpx
import pytest

from airflow_provider_mavi.hooks.bridge import MaviBridgeHook
from airflow_provider_mavi.retry import RetryPolicy

#: A retry policy whose backoffs take milliseconds.
FAST = RetryPolicy(base_delay=0.01, max_delay=0.05)

Answer = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


class FakeBridge:
    """The bridge's read API in memory (the answers of design.md's contract), for ``httpx.MockTransport``.

    :param token: the bearer token it accepts.
    """

    URL = "http://bridge.test/mavi"
    FAST = FAST

    @staticmethod
    def answer(status: int, body: Any = None, **headers: str) -> httpx.Response:
        """A scripted answer (``headers`` with ``_`` for ``-``: ``retry_after="0"``)."""
        detail = body if body is not None else {"detail": f"scripted {status}"}
        return _json(status, detail, {k.replace("_", "-"): v for k, v in headers.items()})

    def __init__(self, token: str = "unit-bridge-token-0123456789") -> None:
        self.token = token
        self.callbacks: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []
        self.jobs: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []  # (method, raw path below the base URL)
        self.batches: list[list[str]] = []  # the ids of every batch long-poll received
        self.script: list[Answer] = []  # answers given first, in order, whatever the request
        self.version = 0

    # -- test side --------------------------------------------------------------------------------

    def hook(self, **kwargs: Any) -> MaviBridgeHook:
        """A bridge hook talking to this fake (fast retries unless ``retry_policy`` is given)."""
        kwargs.setdefault("retry_policy", FAST)
        return MaviBridgeHook.from_url(
            self.URL, self.token, transport=httpx.MockTransport(self.handle), **kwargs
        )

    def deliver(self, job_id: str, payload: dict[str, Any]) -> None:
        """Store a callback as if Mavi had posted it."""
        record = self.callbacks.get(job_id)
        if record is None:
            self.callbacks[job_id] = {
                "job_id": job_id,
                "received_at": "2026-01-01T00:00:00.000+00:00",
                "deliveries": 1,
                "payload": payload,
            }
            self.order.append(job_id)
        else:
            record["deliveries"] += 1
        if job_id in self.jobs and self.jobs[job_id]["state"] == "waiting":
            self.jobs[job_id]["state"] = "delivered"
        self.version += 1

    def count(self, method: str, prefix: str = "") -> int:
        """How many requests of ``method`` under ``prefix`` reached the fake."""
        return sum(1 for m, path in self.requests if m == method and path.startswith(prefix))

    # -- bridge side ------------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> Any:
        raw = request.url.raw_path.decode()
        base = httpx.URL(self.URL).raw_path.decode()
        path = raw.partition("?")[0][len(base) :]
        self.requests.append((request.method, path))
        if self.script:
            answer = self.script.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer(request) if callable(answer) else answer
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return _json(401, {"detail": "missing or wrong bearer token"})
        segments = [unquote(s) for s in path.split("/")[1:]]
        query = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
        body = json.loads(request.content) if request.content else None
        return self._route(request.method, segments, query, body)

    def _route(self, method: str, seg: list[str], query: dict[str, str], body: Any) -> Any:
        if seg[:2] == ["v1", "callbacks"] and len(seg) == 3 and method == "GET":
            job_id, wait = seg[2], float(query.get("wait", 0))
            return self._hold([job_id], wait, lambda found: _json(200, found[0]) if found else _missing())
        if seg == ["v1", "callbacks", "wait"] and method == "POST":
            self.batches.append(list(body["job_ids"]))
            return self._hold(body["job_ids"], body["wait"], lambda found: _json(200, {"callbacks": found}))
        if seg == ["v1", "callbacks"] and method == "GET":
            after, limit = int(query.get("after", 0)), int(query.get("limit", 100))
            chosen = self.order[after : after + limit]
            records = [self.callbacks[j] for j in chosen]
            return _json(200, {"callbacks": records, "next": str(after + len(chosen))})
        if seg[:2] == ["v1", "jobs"] and len(seg) == 3 and method == "PUT":
            state = "delivered" if seg[2] in self.callbacks else "waiting"
            self.jobs[seg[2]] = {"job_id": seg[2], **body, "state": state, "submitted_at": _now_iso()}
            return _json(200, self.jobs[seg[2]])
        if seg == ["v1", "jobs"] and method == "GET":
            jobs = [j for j in self.jobs.values() if j.get("key") == query.get("key")]
            return _json(200, {"jobs": jobs[::-1]})
        if seg[:2] == ["v1", "jobs"] and len(seg) == 4 and seg[3] == "cost" and method == "POST":
            if seg[2] not in self.jobs:
                return _json(404, {"detail": "unknown job"})
            self.jobs[seg[2]]["cost_usd"] = body["cost_usd"]
            return _json(200, self.jobs[seg[2]])
        if seg[:2] == ["v1", "jobs"] and len(seg) == 4 and seg[3] == "abandon" and method == "POST":
            if seg[2] not in self.jobs:
                return _json(404, {"detail": "unknown job"})
            self.jobs[seg[2]]["state"] = "abandoned"
            return _json(200, self.jobs[seg[2]])
        return _json(404, {"detail": "Not Found"})

    def _hold(self, ids: list[str], wait: float, answer: Callable[[list[Any]], httpx.Response]) -> Any:
        """Answer at once when a callback among ``ids`` is stored, else after one arrives or ``wait`` ends."""

        def found() -> list[Any]:
            return [self.callbacks[j] for j in ids if j in self.callbacks]

        if found() or wait <= 0:
            return answer(found())
        end = time.monotonic() + wait
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # the blocking client, in a thread without a loop
            while time.monotonic() < end and not found():
                time.sleep(0.005)
            return answer(found())

        async def later() -> httpx.Response:
            seen = self.version
            while time.monotonic() < end:
                if self.version != seen:
                    seen = self.version
                    if found():
                        break
                await asyncio.sleep(0.005)
            return answer(found())

        return later()


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def _missing() -> httpx.Response:
    return _json(404, {"detail": "no callback for this job yet"})


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime())


@pytest.fixture
def fake_bridge() -> FakeBridge:
    """A fresh in-memory bridge."""
    return FakeBridge()


@pytest.fixture
def memory_fs() -> None:
    """Make ``memory://`` paths work on every Airflow (3.1's ``ObjectStoragePath`` knows providers' only)."""
    from airflow.sdk.io.store import attach
    from fsspec.implementations.memory import MemoryFileSystem

    attach("memory", fs=MemoryFileSystem())
