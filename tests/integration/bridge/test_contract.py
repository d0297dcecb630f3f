"""Every row of design.md's "Bridge HTTP contract", against a real bridge on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid

import httpx
import pytest

from airflow_provider_mavi.bridge.store import CallbackStore
from airflow_provider_mavi.bridge.testing import BridgeServer


def frames_callback(job_id: str, asset: str = "im_1") -> dict:
    return {
        "code": 200,
        "message": "SUCCESS",
        "data": {"asset_id": asset, "asset_ch_ids": [f"{asset}_0", f"{asset}_1"]},
        "task_id": job_id,
    }


def post(bridge: BridgeServer, body: object | bytes, **kwargs) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(
        bridge.callback_url, content=content, headers={"Content-Type": "application/json"}, **kwargs
    )


# -- POST /callbacks/{secret} -------------------------------------------------------------------------------


def test_callback_is_stored_and_read_back(bridge: BridgeServer, store: CallbackStore, job_id: str) -> None:
    body = frames_callback(job_id)
    answer = post(bridge, body)
    assert answer.status_code == 200
    assert answer.json() == {"job_id": job_id, "deliveries": 1, "duplicate": False}

    record = httpx.get(f"{bridge.url}/v1/callbacks/{job_id}", headers=bridge.headers).json()
    assert record["job_id"] == job_id
    assert record["deliveries"] == 1
    assert record["payload"] == body
    received = dt.datetime.fromisoformat(record["received_at"])
    assert received.utcoffset() == dt.timedelta(0)
    assert abs((dt.datetime.now(dt.timezone.utc) - received).total_seconds()) < 60
    assert [(r.job_id, r.deliveries, json.loads(r.payload)) for r in store.get_callbacks([job_id])] == [
        (job_id, 1, body)
    ]


def test_identical_redelivery_stores_nothing_new_but_counts(
    bridge: BridgeServer, store: CallbackStore, table_rows, job_id: str
) -> None:
    body = frames_callback(job_id)
    assert post(bridge, body).status_code == 200
    rows = table_rows()
    # the same JSON with other whitespace and key order is the same callback
    again = json.dumps(dict(reversed(list(body.items()))), indent=4).encode()
    answer = post(bridge, again)
    assert answer.status_code == 200
    assert answer.json() == {"job_id": job_id, "deliveries": 2, "duplicate": True}
    assert table_rows() == rows
    deliveries = store.get_deliveries(job_id)
    assert len(deliveries) == 1
    assert deliveries[0].count == 2
    record = httpx.get(f"{bridge.url}/v1/callbacks/{job_id}", headers=bridge.headers).json()
    assert record["deliveries"] == 2
    assert record["payload"] == body


def test_different_body_is_kept_and_readers_get_the_first(
    bridge: BridgeServer, store: CallbackStore, job_id: str
) -> None:
    first, second = frames_callback(job_id, "im_first"), frames_callback(job_id, "im_second")
    assert post(bridge, first).json()["duplicate"] is False
    answer = post(bridge, second)
    assert answer.status_code == 200
    assert answer.json() == {"job_id": job_id, "deliveries": 2, "duplicate": False}
    assert [json.loads(d.payload) for d in store.get_deliveries(job_id)] == [first, second]
    record = httpx.get(f"{bridge.url}/v1/callbacks/{job_id}", headers=bridge.headers).json()
    assert record["payload"] == first
    assert record["deliveries"] == 2


def test_first_terminal_delivery_wins_over_progress(bridge: BridgeServer, job_id: str) -> None:
    progress = {"code": 200, "message": "SUCCESS", "status": "processing", "task_id": job_id}
    done, later = frames_callback(job_id, "im_done"), frames_callback(job_id, "im_later")
    for body in (progress, done, later):
        assert post(bridge, body).status_code == 200
    record = httpx.get(f"{bridge.url}/v1/callbacks/{job_id}", headers=bridge.headers).json()
    assert record["payload"] == done
    assert record["deliveries"] == 3


def test_callback_for_unknown_job_is_stored(bridge: BridgeServer, store: CallbackStore) -> None:
    job_id = "job-nobody-waits-for"
    assert post(bridge, frames_callback(job_id)).status_code == 200
    assert len(store.get_callbacks([job_id])) == 1
    assert store.get_job(job_id) is None


BAD_BODIES = [
    pytest.param(
        b"this is not json", 400, "the body is not JSON: Expecting value (line 1, column 1)", id="not-json"
    ),
    pytest.param(b"", 400, "the body is not JSON: Expecting value (line 1, column 1)", id="empty"),
    pytest.param(
        b'{"task_id": "x", "code": NaN}', 400, "the body holds NaN, which is not a JSON number", id="nan"
    ),
    pytest.param(
        b'{"task_id": "x", "v": "\\ud800"}',
        400,
        "the body holds a string that is not valid Unicode",
        id="lone-surrogate",
    ),
    pytest.param(
        b'{"task_id": "\\ud800"}',
        400,
        "the body holds a string that is not valid Unicode",
        id="lone-surrogate-id",
    ),
    pytest.param(b"\xff\xfe\x00garbage", 400, "the body is not valid UTF-8 (byte 0)", id="binary"),
    pytest.param(b"[1, 2]", 400, "the body is not a JSON object", id="array"),
    pytest.param(b'"task_id"', 400, "the body is not a JSON object", id="string"),
    pytest.param(b'{"code": 200}', 400, "the body has no string task_id", id="no-task-id"),
    pytest.param(b'{"task_id": 123}', 400, "the body has no string task_id", id="number-task-id"),
    pytest.param(b'{"task_id": ""}', 400, "the body has no string task_id", id="empty-task-id"),
    pytest.param(b'{"task_id": null}', 400, "the body has no string task_id", id="null-task-id"),
    pytest.param(
        b"[" * 100000 + b"]" * 100000, 400, "the body nests deeper than 64 levels", id="deep-nesting"
    ),
]


@pytest.mark.parametrize(("body", "status", "message"), BAD_BODIES)
def test_bad_body_is_refused_and_nothing_stored(
    bridge: BridgeServer, store: CallbackStore, table_rows, body, status, message
) -> None:
    assert post(bridge, frames_callback("kept")).status_code == 200
    before = table_rows()
    answer = post(bridge, body)
    assert answer.status_code == status
    assert answer.json() == {"detail": message}
    assert "Traceback" not in answer.text
    assert table_rows() == before
    assert len(store.get_callbacks(["kept"])) == 1


def test_wrong_secret_is_404_and_nothing_stored(bridge: BridgeServer, table_rows, job_id: str) -> None:
    before = table_rows()
    logged = bridge.output().count("callback refused (404, secret) from 127.0.0.1")
    for url in (
        f"{bridge.url}/callbacks/wrong-secret",
        f"{bridge.url}/callbacks/{bridge.secret[:-1]}",
        f"{bridge.url}/callbacks/{bridge.secret}x",
    ):
        answer = httpx.post(url, json=frames_callback(job_id))
        assert answer.status_code == 404
        assert answer.json() == {"detail": "Not Found"}
    # checked before anything else: a bad body with a wrong secret is still a 404
    assert httpx.post(f"{bridge.url}/callbacks/nope", content=b"x" * 2_000_000).status_code == 404
    assert table_rows() == before
    log = bridge.output()
    assert log.count("callback refused (404, secret) from 127.0.0.1") == logged + 4


def test_too_large_body_is_413(bridge: BridgeServer, store: CallbackStore, table_rows, job_id: str) -> None:
    before = table_rows()
    big = json.dumps({"task_id": job_id, "pad": "x" * (1024 * 1024)}).encode()
    answer = post(bridge, big)
    assert answer.status_code == 413
    assert answer.json() == {"detail": "body larger than 1048576 bytes"}

    def chunks():  # no Content-Length: the limit is enforced while reading
        yield b'{"task_id": "%s", "pad": "' % job_id.encode()
        for _ in range(40):
            yield b"y" * 65536
        yield b'"}'

    answer = httpx.post(bridge.callback_url, content=chunks())
    assert answer.status_code == 413
    assert table_rows() == before
    assert store.get_callbacks([job_id]) == []
    # just under the limit is fine
    ok = json.dumps({"task_id": job_id, "pad": "z" * (1024 * 1024 - 100)}).encode()
    assert len(ok) <= 1024 * 1024
    assert post(bridge, ok).status_code == 200


def test_refusals_log_one_line_with_remote_address_and_no_stack(bridge: BridgeServer) -> None:
    post(bridge, b"nope")
    post(bridge, b"[]")
    post(bridge, b'{"x": 1}')
    log = bridge.output()
    assert "callback refused (400, not_json) from 127.0.0.1" in log
    assert "callback refused (400, not_object) from 127.0.0.1" in log
    assert "callback refused (400, no_task_id) from 127.0.0.1" in log
    assert "Traceback" not in log


# -- GET /v1/callbacks/{job_id}?wait= ------------------------------------------------------------------------


def test_get_waits_then_404(bridge: BridgeServer, job_id: str) -> None:
    started = time.monotonic()
    answer = httpx.get(f"{bridge.url}/v1/callbacks/{job_id}", params={"wait": 0.5}, headers=bridge.headers)
    assert answer.status_code == 404
    assert answer.json() == {"detail": "no callback for this job yet"}
    assert time.monotonic() - started >= 0.5


def test_get_long_poll_wakes_when_callback_lands(bridge: BridgeServer, job_id: str) -> None:
    result: dict = {}

    def waiter() -> None:
        started = time.monotonic()
        answer = httpx.get(
            f"{bridge.url}/v1/callbacks/{job_id}", params={"wait": 30}, headers=bridge.headers, timeout=60
        )
        result.update(status=answer.status_code, body=answer.json(), took=time.monotonic() - started)

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.5)
    assert post(bridge, frames_callback(job_id)).status_code == 200
    thread.join(40)
    assert result["status"] == 200
    assert result["body"]["job_id"] == job_id
    assert result["took"] < 30  # woken by the callback, not by the end of the wait
    assert metric(bridge, "mavi_bridge_wait_wake_seconds_count") >= 1


def test_bad_wait_values(bridge: BridgeServer, job_id: str) -> None:
    for wait in ("-1", "abc", "nan", "inf", "1e309", ""):
        answer = httpx.get(
            f"{bridge.url}/v1/callbacks/{job_id}", params={"wait": wait}, headers=bridge.headers
        )
        assert answer.status_code == 400
        assert answer.json() == {"detail": "wait must be a finite number of seconds >= 0"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/callbacks/abc", None),
        ("POST", "/v1/callbacks/wait", {"job_ids": ["abc"], "wait": 0}),
        ("GET", "/v1/callbacks", None),
        ("PUT", "/v1/jobs/abc", {"kind": "extract_frames", "asset_id": "re_1"}),
        ("GET", "/v1/jobs/abc", None),
        ("GET", "/v1/jobs?key=k", None),
        ("POST", "/v1/jobs/abc/abandon", None),
    ],
)
def test_read_api_needs_the_token(bridge: BridgeServer, table_rows, method: str, path: str, body) -> None:
    before = table_rows()
    wrong = [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {bridge.token}"},
        {"Authorization": f"Bearer {bridge.token}x"},
        {"Authorization": bridge.token},
    ]
    for headers in wrong:
        answer = httpx.request(method, f"{bridge.url}{path}", json=body, headers=headers)
        assert answer.status_code == 401
        assert answer.json() == {"detail": "missing or wrong bearer token"}
        assert answer.headers["www-authenticate"] == "Bearer"
    assert table_rows() == before


# -- POST /v1/callbacks/wait ---------------------------------------------------------------------------------


def test_batch_wait_empty_after_wait(bridge: BridgeServer) -> None:
    answer = httpx.post(
        f"{bridge.url}/v1/callbacks/wait", json={"job_ids": ["a", "b"], "wait": 0.3}, headers=bridge.headers
    )
    assert answer.status_code == 200
    assert answer.json() == {"callbacks": []}


def test_batch_wait_returns_every_present_one_at_once(bridge: BridgeServer) -> None:
    ids = [uuid.uuid4().hex for _ in range(3)]
    for job in ids[:2]:
        post(bridge, frames_callback(job))
    started = time.monotonic()
    answer = httpx.post(
        f"{bridge.url}/v1/callbacks/wait",
        json={"job_ids": ids, "wait": 20},
        headers=bridge.headers,
        timeout=30,
    )
    assert time.monotonic() - started < 20
    assert sorted(r["job_id"] for r in answer.json()["callbacks"]) == sorted(ids[:2])


def test_batch_wait_wakes_on_any(bridge: BridgeServer) -> None:
    ids = [uuid.uuid4().hex for _ in range(50)]
    result: dict = {}

    def waiter() -> None:
        answer = httpx.post(
            f"{bridge.url}/v1/callbacks/wait",
            json={"job_ids": ids, "wait": 30},
            headers=bridge.headers,
            timeout=60,
        )
        result["body"] = answer.json()

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(0.5)
    post(bridge, frames_callback(ids[17]))
    thread.join(40)
    assert [r["job_id"] for r in result["body"]["callbacks"]] == [ids[17]]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "the body is not JSON: Expecting value (line 1, column 1)"),
        (b"[]", 'the body must be {"job_ids": [...], "wait": seconds}'),
        (b'{"job_ids": []}', "job_ids must be a list of 1 to 5000 job ids"),
        (b'{"job_ids": "abc"}', "job_ids must be a list of 1 to 5000 job ids"),
        (b'{"job_ids": [1]}', "job_ids[0] must be a non-empty string"),
        (
            b'{"job_ids": ["a", "b/c"]}',
            "job_ids[1] cannot contain U+002F (no '/', '\\' or control characters)",
        ),
        (b'{"job_ids": ["a"], "wait": "x"}', "wait must be a finite number of seconds >= 0"),
        (b'{"job_ids": ["a"], "wait": "5"}', "wait must be a finite number of seconds >= 0"),
        (b'{"job_ids": ["a"], "wait": -3}', "wait must be a finite number of seconds >= 0"),
        (b'{"job_ids": ["a"], "wait": true}', "wait must be a finite number of seconds >= 0"),
        (b'{"job_ids": ["a"], "wait": 1e400}', "the body holds a number too large for a double: 1e400"),
    ],
)
def test_batch_wait_bad_input(bridge: BridgeServer, body: bytes, message: str) -> None:
    answer = httpx.post(f"{bridge.url}/v1/callbacks/wait", content=body, headers=bridge.headers)
    assert answer.status_code == 400
    assert answer.json() == {"detail": message}


# -- GET /v1/callbacks?after=&limit= -------------------------------------------------------------------------


def list_all(bridge: BridgeServer, limit: int) -> list[str]:
    """Walk the list from the start, ``limit`` at a time, checking the cursor; return the job ids seen."""
    seen: list[str] = []
    cursor = "0"
    while True:
        answer = httpx.get(
            f"{bridge.url}/v1/callbacks", params={"after": cursor, "limit": limit}, headers=bridge.headers
        ).json()
        assert isinstance(answer["next"], str)
        assert len(answer["callbacks"]) <= limit
        if not answer["callbacks"]:
            assert answer["next"] == cursor
            return seen
        seen.extend(r["job_id"] for r in answer["callbacks"])
        cursor = answer["next"]


def test_list_in_arrival_order_with_cursor(bridge: BridgeServer) -> None:
    ids = [f"job-{i}-{uuid.uuid4().hex[:6]}" for i in range(5)]
    for job in ids:
        post(bridge, frames_callback(job))
    post(bridge, frames_callback(ids[0]))  # a duplicate does not move it
    deadline = time.monotonic() + 15  # PostgreSQL holds back the last two seconds
    seen = list_all(bridge, 2)
    while not set(ids) <= set(seen) and time.monotonic() < deadline:
        time.sleep(0.2)
        seen = list_all(bridge, 2)
    assert len(seen) == len(set(seen))  # each job once, whatever the other tests stored
    assert [job for job in seen if job in ids] == ids
    for params in ({"after": "x"}, {"limit": "0"}, {"limit": "1001"}, {"after": "-1"}):
        assert (
            httpx.get(f"{bridge.url}/v1/callbacks", params=params, headers=bridge.headers).status_code == 400
        )


# -- /healthz, /metrics --------------------------------------------------------------------------------------


def metric(bridge: BridgeServer, name: str) -> float:
    for line in httpx.get(f"{bridge.url}/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"no metric {name}")


def test_healthz_and_metrics(bridge: BridgeServer, job_id: str) -> None:
    health = httpx.get(f"{bridge.url}/healthz")
    assert health.status_code == 200
    assert health.json()["store"] == "ok"
    names = (
        "mavi_bridge_callbacks_received_total",
        "mavi_bridge_callbacks_duplicate_total",
        'mavi_bridge_callbacks_rejected_total{reason="not_object"}',
        'mavi_bridge_callbacks_rejected_total{reason="secret"}',
    )
    before = {name: metric(bridge, name) for name in names}
    post(bridge, frames_callback(job_id))
    post(bridge, frames_callback(job_id))
    post(bridge, b"[]")
    httpx.post(f"{bridge.url}/callbacks/wrong", json={})
    after = {name: metric(bridge, name) for name in names}
    assert [after[n] - before[n] for n in names] == [2, 1, 1, 1]
    assert metric(bridge, "mavi_bridge_open_waits") == 0
    assert "mavi_bridge_wait_wake_seconds_bucket" in httpx.get(f"{bridge.url}/metrics").text


# -- jobs (CONTRIBUTING.md) ----------------------------------------------------------------------------------


def test_jobs_lifecycle(bridge: BridgeServer, job_id: str) -> None:
    h = bridge.headers
    job = httpx.put(
        f"{bridge.url}/v1/jobs/{job_id}",
        json={"kind": "extract_frames", "asset_id": "re_1", "key": "k1"},
        headers=h,
    ).json()
    assert job["state"] == "waiting"
    assert (job["job_id"], job["kind"], job["asset_id"], job["key"]) == (
        job_id,
        "extract_frames",
        "re_1",
        "k1",
    )
    assert httpx.get(f"{bridge.url}/v1/jobs/{job_id}", headers=h).json() == job
    post(bridge, frames_callback(job_id))
    assert httpx.get(f"{bridge.url}/v1/jobs/{job_id}", headers=h).json()["state"] == "delivered"

    newer = uuid.uuid4().hex
    time.sleep(0.01)
    body = {"kind": "transcribe_video", "asset_id": "re_1", "key": "k1"}
    httpx.put(f"{bridge.url}/v1/jobs/{newer}", json=body, headers=h)
    jobs = httpx.get(f"{bridge.url}/v1/jobs", params={"key": "k1"}, headers=h).json()["jobs"]
    assert [j["job_id"] for j in jobs] == [newer, job_id]
    abandoned = httpx.post(f"{bridge.url}/v1/jobs/{newer}/abandon", headers=h)
    assert abandoned.json()["state"] == "abandoned"
    assert httpx.get(f"{bridge.url}/v1/jobs", params={"key": "nope"}, headers=h).json() == {"jobs": []}
    assert httpx.get(f"{bridge.url}/v1/jobs/unknown", headers=h).status_code == 404
    assert httpx.post(f"{bridge.url}/v1/jobs/unknown/abandon", headers=h).status_code == 404
    assert httpx.get(f"{bridge.url}/v1/jobs", headers=h).json() == {"detail": "key is required"}


def test_job_recorded_after_its_callback_is_delivered(bridge: BridgeServer, job_id: str) -> None:
    post(bridge, frames_callback(job_id))
    job = httpx.put(
        f"{bridge.url}/v1/jobs/{job_id}",
        json={"kind": "extract_frames", "asset_id": "re_1"},
        headers=bridge.headers,
    ).json()
    assert job["state"] == "delivered"
    assert job["key"] is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"nope", "the body is not JSON: Expecting value (line 1, column 1)"),
        (b'{"asset_id": "re_1"}', "kind must be a non-empty string (at most 64 characters)"),
        (b'{"kind": "x"}', "asset_id must be a non-empty string (at most 200 characters)"),
        (
            b'{"kind": "x", "asset_id": "re", "key": 5}',
            "key must be a string (at most 1000 characters) or null",
        ),
    ],
)
def test_put_job_bad_input(bridge: BridgeServer, store: CallbackStore, body: bytes, message: str) -> None:
    answer = httpx.put(f"{bridge.url}/v1/jobs/j1", content=body, headers=bridge.headers)
    assert answer.status_code == 400
    assert answer.json() == {"detail": message}
    assert store.get_job("j1") is None


def test_a_client_that_goes_away_frees_its_wait(bridge: BridgeServer, job_id: str) -> None:
    before = metric(bridge, "mavi_bridge_open_waits")
    for request in (
        lambda: httpx.get(
            f"{bridge.url}/v1/callbacks/{job_id}", params={"wait": 30}, headers=bridge.headers, timeout=1
        ),
        lambda: httpx.post(
            f"{bridge.url}/v1/callbacks/wait",
            json={"job_ids": [job_id], "wait": 30},
            headers=bridge.headers,
            timeout=1,
        ),
    ):
        with pytest.raises(httpx.ReadTimeout):
            request()
    deadline = time.monotonic() + 5
    while metric(bridge, "mavi_bridge_open_waits") > before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert metric(bridge, "mavi_bridge_open_waits") == before
