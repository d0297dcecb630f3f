"""The arrival-ordered list as event triggers use it: ``wait`` (long-poll), per-record ``cursor``, ``kind``
and ``terminal``, and named consumers; against a real bridge on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import threading
import time
import uuid

import httpx
import pytest

from airflow_provider_mavi.bridge.store import CallbackStore
from airflow_provider_mavi.bridge.testing import BridgeServer

#: PostgreSQL holds back the list's last two seconds (replicas may commit a lower cursor later).
SETTLE = 2.0


def frames_callback(job_id: str, asset: str = "im_1") -> dict:
    return {
        "code": 200,
        "message": "SUCCESS",
        "data": {"asset_id": asset, "asset_ch_ids": [f"{asset}_0"]},
        "task_id": job_id,
    }


def post(bridge: BridgeServer, body: dict) -> None:
    assert httpx.post(bridge.callback_url, json=body, timeout=10).status_code == 200


def page(bridge: BridgeServer, after: str, wait: float = 0, limit: int = 100) -> httpx.Response:
    return httpx.get(
        f"{bridge.url}/v1/callbacks",
        params={"after": after, "limit": limit, "wait": wait},
        headers=bridge.headers,
        timeout=wait + 15,
    )


def end_cursor(bridge: BridgeServer) -> str:
    """The list's end now (everything settled): where a test starts reading."""
    time.sleep(SETTLE + 0.2)
    cursor = "0"
    while True:
        answer = page(bridge, cursor, limit=1000).json()
        if not answer["callbacks"]:
            return cursor
        cursor = answer["next"]


def test_an_empty_wait_answers_an_empty_page_when_it_runs_out(bridge: BridgeServer) -> None:
    cursor = end_cursor(bridge)
    started = time.monotonic()
    answer = page(bridge, cursor, wait=1.5)
    took = time.monotonic() - started
    assert answer.status_code == 200
    assert answer.json() == {"callbacks": [], "next": cursor}
    assert took >= 1.4  # held, not answered at once


def test_a_callback_ends_the_wait_with_its_cursor_kind_and_terminal_flag(
    bridge: BridgeServer, store: CallbackStore
) -> None:
    cursor = end_cursor(bridge)
    known, unknown = f"known-{uuid.uuid4().hex}", f"unknown-{uuid.uuid4().hex}"
    put = httpx.put(
        f"{bridge.url}/v1/jobs/{known}",
        json={"kind": "extract_frames", "asset_id": "re_1"},
        headers=bridge.headers,
    )
    assert put.status_code == 200
    results: list[httpx.Response] = []
    waiter = threading.Thread(target=lambda: results.append(page(bridge, cursor, wait=30)))
    started = time.monotonic()
    waiter.start()
    time.sleep(0.5)
    post(bridge, frames_callback(known))
    post(bridge, frames_callback(unknown))
    waiter.join(40)
    took = time.monotonic() - started
    assert took < 0.5 + SETTLE + 5  # answered when the callback could be listed, long before 30 s
    answer = results[0].json()
    first = answer["callbacks"][0]
    assert first["job_id"] == known
    assert first["kind"] == "extract_frames"
    assert first["terminal"] is True
    assert first["payload"] == frames_callback(known)
    assert int(first["cursor"]) > int(cursor)
    assert answer["next"] == answer["callbacks"][-1]["cursor"]
    rest = page(bridge, first["cursor"], wait=10).json()["callbacks"]
    assert [(r["job_id"], r["kind"]) for r in rest] == [(unknown, None)]  # no job record: kind unknown


def test_a_progress_body_is_listed_as_not_terminal(bridge: BridgeServer) -> None:
    cursor = end_cursor(bridge)
    job = f"progress-{uuid.uuid4().hex}"
    post(bridge, {"code": 200, "message": "ok", "status": "processing", "task_id": job})
    records = page(bridge, cursor, wait=10).json()["callbacks"]
    assert [(r["job_id"], r["terminal"]) for r in records] == [(job, False)]


@pytest.mark.parametrize(
    "params", [{"wait": "-1"}, {"wait": "soon"}, {"wait": "nan"}, {"after": "x"}, {"limit": "0"}]
)
def test_bad_list_parameters_are_refused(bridge: BridgeServer, params: dict) -> None:
    answer = httpx.get(f"{bridge.url}/v1/callbacks", params=params, headers=bridge.headers)
    assert answer.status_code == 400
    assert "must be" in answer.json()["detail"]


def test_the_list_and_consumers_need_the_token(bridge: BridgeServer) -> None:
    for method, path in (
        ("GET", "/v1/callbacks?wait=5"),
        ("GET", "/v1/consumers/c1"),
        ("POST", "/v1/consumers/c1"),
        ("PUT", "/v1/consumers/c1"),
    ):
        started = time.monotonic()
        answer = httpx.request(method, f"{bridge.url}{path}", json={"start": "latest"})
        assert answer.status_code == 401
        assert time.monotonic() - started < 2  # refused before any wait


# -- consumers ----------------------------------------------------------------------------------------------


def consumer(bridge: BridgeServer, method: str, name: str, body: object = None) -> httpx.Response:
    kwargs = {"content": json.dumps(body).encode()} if body is not None else {}
    return httpx.request(
        method, f"{bridge.url}/v1/consumers/{name}", headers=bridge.headers, timeout=10, **kwargs
    )


def test_a_new_consumer_starts_at_the_end_or_the_start_and_then_keeps_its_place(bridge: BridgeServer) -> None:
    post(bridge, frames_callback(f"before-{uuid.uuid4().hex}"))
    end = end_cursor(bridge)
    latest, earliest = f"latest-{uuid.uuid4().hex[:8]}", f"earliest-{uuid.uuid4().hex[:8]}"
    assert consumer(bridge, "GET", latest).status_code == 404
    created = consumer(bridge, "POST", latest, {"start": "latest"}).json()
    assert (created["name"], created["cursor"]) == (latest, end)
    assert consumer(bridge, "POST", earliest, {"start": "earliest"}).json()["cursor"] == "0"
    # starting again (a restarted trigger) returns the position as it is, whatever start says
    moved = consumer(bridge, "PUT", latest, {"cursor": str(int(end) + 5)}).json()
    assert moved["cursor"] == str(int(end) + 5)
    assert consumer(bridge, "POST", latest, {"start": "earliest"}).json()["cursor"] == str(int(end) + 5)
    assert consumer(bridge, "GET", latest).json()["cursor"] == str(int(end) + 5)


def test_a_consumer_never_moves_back(bridge: BridgeServer) -> None:
    name = f"fwd-{uuid.uuid4().hex[:8]}"
    assert consumer(bridge, "PUT", name, {"cursor": "40"}).json()["cursor"] == "40"  # created there
    assert consumer(bridge, "PUT", name, {"cursor": "12"}).json()["cursor"] == "40"  # a stale commit
    assert consumer(bridge, "PUT", name, {"cursor": "41"}).json()["cursor"] == "41"


def test_concurrent_commits_keep_the_furthest(bridge: BridgeServer) -> None:
    name = f"race-{uuid.uuid4().hex[:8]}"
    cursors = list(range(1, 41))
    threads = [
        threading.Thread(target=consumer, args=(bridge, "PUT", name, {"cursor": str(c)})) for c in cursors
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert consumer(bridge, "GET", name).json()["cursor"] == "40"


@pytest.mark.parametrize(
    ("method", "name", "body", "message"),
    [
        ("POST", "c1", {"start": "now"}, "start"),
        ("POST", "c1", None, "the body is not JSON"),
        ("POST", "c1", {"start": "latest", "x": float("inf")}, "not a JSON number"),
        ("PUT", "c1", {"cursor": "9" * 5000}, "cursor"),
        ("POST", "c1", [], "start"),
        ("PUT", "c1", {"cursor": -1}, "cursor"),
        ("PUT", "c1", {"cursor": "-1"}, "cursor"),
        ("PUT", "c1", {"cursor": "1e3"}, "cursor"),
        ("PUT", "c1", {"cursor": "\uff11\uff12"}, "cursor"),  # full-width digits: isdigit(), not ASCII
        ("PUT", "c1", {"cursor": str(2**63)}, "cursor"),
        ("PUT", "c1", {}, "cursor"),
        ("GET", ".hidden", None, "consumer name"),
        ("GET", "a%20b", None, "consumer name"),
        ("GET", "x" * 201, None, "consumer name"),
        ("GET", "%C3%28", None, "consumer name"),
        ("PUT", "c%00", {"cursor": "1"}, "consumer name"),
    ],
)
def test_bad_consumer_requests_are_refused_and_change_nothing(
    bridge: BridgeServer, store: CallbackStore, method: str, name: str, body: object, message: str
) -> None:
    before = store.get_consumer("c1")
    answer = consumer(bridge, method, name, body)
    assert answer.status_code == 400
    assert message in answer.json()["detail"]
    assert store.get_consumer("c1") == before
