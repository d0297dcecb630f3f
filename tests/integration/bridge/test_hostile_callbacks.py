"""Hostile callbacks against a real bridge on SQLite and on PostgreSQL (issue 15, defect class 1).

The rule: whatever the bridge acknowledges, every route serves, and one bad body never blocks another job's
wait. Each class of hostile body is generated (hypothesis) and posted; after each example the test checks the
answer, that the database holds exactly what it held before (a refusal stores nothing; an acceptance adds only
its own job), that an acknowledged callback reads back equal through ``GET /v1/callbacks/{id}`` and the batch
wait, and that a batch wait naming the hostile job with good ones answers the good ones at once. At the end
every acknowledged callback is found in the list. A record an older bridge stored and that no strict answer
can carry is served escaped, beside the good ones.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_mavi.bridge.store import IncomingCallback, open_store
from airflow_provider_mavi.bridge.store.schema import metadata
from airflow_provider_mavi.bridge.testing import BridgeServer

MAX_BODY = 16_384
EXAMPLES = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec="utf-8"), max_size=12)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)
HOLE = "\x00hole\x00"


def fresh_id() -> str:
    return f"hostile-{uuid.uuid4().hex}"


@st.composite
def with_hole(draw: st.DrawFn, literal: st.SearchStrategy[str]) -> tuple[str, bytes]:
    """A callback with ``literal`` (raw JSON text) somewhere inside it."""
    job_id = fresh_id()
    body = draw(st.dictionaries(st.text(max_size=6).filter(lambda k: k != "task_id"), values, max_size=3))
    where = draw(st.sampled_from(["top", "data", "list"]))
    spot: Any = {"top": HOLE, "data": {"data": {"v": HOLE}}, "list": [1, HOLE]}[where]
    text = json.dumps({**body, "task_id": job_id, "x": spot}).replace(json.dumps(HOLE), draw(literal))
    return job_id, text.encode()


@st.composite
def nested(draw: st.DrawFn, depth: int) -> tuple[str, bytes]:
    job_id = fresh_id()
    inner: Any = draw(scalars)
    for kind in draw(st.lists(st.sampled_from("[{"), min_size=depth, max_size=depth)):
        inner = [inner] if kind == "[" else {"k": inner}
    return job_id, json.dumps({"task_id": job_id, "deep": inner}).encode()


@st.composite
def repeated_key(draw: st.DrawFn) -> tuple[str, bytes]:
    job_id = fresh_id()
    key = draw(st.sampled_from(["task_id", "code", "data"]) | st.text(max_size=5))
    other = fresh_id() if key == "task_id" else draw(values)
    twice = json.dumps(key)
    text = f'{{"task_id": {json.dumps(job_id)}, {twice}: 1, "z": 0, {twice}: {json.dumps(other)}}}'
    return job_id, text.encode()


@st.composite
def not_utf8(draw: st.DrawFn) -> tuple[str, bytes]:
    job_id = fresh_id()
    text = json.dumps({"task_id": job_id, "msg": draw(st.text(max_size=10)) + "é"}, ensure_ascii=False)
    how = draw(st.sampled_from(["utf-16", "utf-32", "latin-1", "bom", "junk"]))
    if how == "bom":
        return job_id, b"\xef\xbb\xbf" + text.encode()
    if how == "junk":
        junk = draw(
            st.sampled_from([b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80"])
        )
        return job_id, text.encode().replace("é".encode(), junk)
    return job_id, text.encode(how, errors="replace")


@st.composite
def lone_surrogate(draw: st.DrawFn) -> tuple[str, bytes]:
    job_id = fresh_id()
    escape = f"\\u{draw(st.integers(0xD800, 0xDFFF)):04x}"
    if draw(st.booleans()):  # in the task_id itself
        return job_id, f'{{"task_id": "{job_id}{escape}"}}'.encode()
    return (
        job_id,
        f'{{"task_id": {json.dumps(job_id)}, "m": "{draw(st.sampled_from(["", "a"]))}{escape}"}}'.encode(),
    )


bad_ids = (
    st.sampled_from([".", "..", "a/b", "/", "a\\b", "x" * 201, "\x7f", "\x85", " pad", "pad ", "\ttab"])
    | st.text(min_size=1, max_size=8).map(lambda t: t + chr(0x01))
    | st.text(st.characters(categories=["Cc"]), min_size=1, max_size=3)
    | st.integers(201, 400).map(lambda n: "j" * n)
)


@st.composite
def bad_task_id(draw: st.DrawFn) -> tuple[str, bytes]:
    job_id = draw(bad_ids)
    raw = job_id if "\\u" in job_id else json.dumps(job_id)[1:-1]
    return job_id, f'{{"code": 200, "task_id": "{raw}"}}'.encode()


@st.composite
def good(draw: st.DrawFn) -> tuple[str, bytes]:
    job_id = draw(st.text(st.characters(exclude_categories=["Cc", "Cs"]), min_size=1, max_size=40))
    job_id = job_id.strip().replace("/", "_").replace("\\", "_")
    job_id = f"ok-{uuid.uuid4().hex[:8]}-{job_id}"
    body = draw(st.dictionaries(st.text(max_size=6).filter(lambda k: k != "task_id"), values, max_size=4))
    return job_id, json.dumps({**body, "task_id": job_id}, indent=draw(st.sampled_from([None, 2]))).encode()


#: class name: (strategy of (task_id, body), status, start of the message)
CLASSES: dict[str, tuple[st.SearchStrategy[tuple[str, bytes]], int, str | None]] = {
    "non-finite": (
        with_hole(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-2E999", "1.5e309"])),
        400,
        "the body holds ",
    ),
    "huge-integer": (
        with_hole(
            st.integers(2**63, 10**60).map(str)
            | st.integers(-(10**60), -(2**63) - 1).map(str)
            | st.just("9" * 4500)
        ),
        400,
        "the body holds an integer outside the signed 64-bit range",
    ),
    "too-deep": (st.integers(65, 400).flatmap(nested), 400, "the body nests deeper than 64 levels"),
    "repeated-key": (repeated_key(), 400, "the body has the key "),
    "not-utf8": (not_utf8(), 400, "the body is not "),
    "lone-surrogate": (lone_surrogate(), 400, "the body holds a string that is not valid Unicode"),
    "bad-task-id": (bad_task_id(), 400, "task_id "),
    "deep-but-allowed": (st.integers(1, 62).flatmap(nested), 200, None),
    "good": (good(), 200, None),
}


@dataclass
class Inbox:
    """A bridge, its database and what the test saw it acknowledge."""

    bridge: BridgeServer
    client: httpx.Client
    engine: sa.Engine
    good_ids: list[str]
    acknowledged: dict[str, Any] = field(default_factory=dict)

    def rows(self) -> dict[str, list[tuple[Any, ...]]]:
        with self.engine.connect() as conn:
            return {
                table.name: sorted(tuple(r) for r in conn.execute(sa.select(table)).all())
                for table in metadata.sorted_tables
            }

    def get(self, job_id: str) -> httpx.Response:
        return self.client.get(f"/v1/callbacks/{quote(job_id, safe='')}")

    def listed(self) -> dict[str, dict[str, Any]]:
        """Every record of the list, walked from the start as an event-driven consumer would."""
        if self.bridge.db_url.startswith("postgresql"):
            time.sleep(
                2.5
            )  # the list holds back the last 2 s there (a slower replica may still be committing)
        records: dict[str, dict[str, Any]] = {}
        cursor = "0"
        while True:
            page = self.client.get("/v1/callbacks", params={"after": cursor, "limit": 1000})
            assert page.status_code == 200, page.text
            records.update((r["job_id"], r) for r in page.json()["callbacks"])
            if page.json()["next"] == cursor:
                return records
            cursor = page.json()["next"]

    def batch(self, job_ids: list[str], wait: float = 30) -> httpx.Response:
        return self.client.post("/v1/callbacks/wait", json={"job_ids": job_ids, "wait": wait})


@pytest.fixture(scope="module")
def inbox(db_url: str) -> Iterator[Inbox]:
    with (
        BridgeServer(db_url=db_url, max_body=MAX_BODY) as bridge,
        httpx.Client(base_url=bridge.url, headers=bridge.headers, timeout=10) as client,
    ):
        engine = sa.create_engine(db_url)
        good_ids = [f"good-{i}-{uuid.uuid4().hex}" for i in range(3)]
        box = Inbox(bridge, client, engine, good_ids)
        for job_id in good_ids:
            body = {"code": 200, "task_id": job_id, "data": {"v": [1, 2.5]}}
            assert client.post(bridge.callback_url, json=body).status_code == 200
            box.acknowledged[job_id] = body
        yield box
        engine.dispose()


@pytest.mark.parametrize("kind", list(CLASSES))
def test_every_class_is_refused_with_its_reason_or_served_everywhere(inbox: Inbox, kind: str) -> None:
    strategy, status, message = CLASSES[kind]

    @EXAMPLES
    @given(case=strategy)
    def check(case: tuple[str, bytes]) -> None:
        job_id, body = case
        before = inbox.rows()
        answer = inbox.client.post(inbox.bridge.callback_url, content=body)
        assert answer.status_code == status, (body[:200], answer.text)
        assert "Traceback" not in answer.text
        if status != 200:
            assert message is not None
            assert answer.json()["detail"].startswith(message), answer.text
            assert inbox.rows() == before  # nothing stored, nothing changed
        else:
            assert answer.json() == {"job_id": job_id, "deliveries": 1, "duplicate": False}
            after = inbox.rows()
            for table, rows in before.items():
                assert set(rows) <= set(after[table])  # what was there is there, unchanged
            inbox.acknowledged[job_id] = json.loads(body)
            read = inbox.get(job_id)
            assert read.status_code == 200, read.text
            assert read.json()["payload"] == inbox.acknowledged[job_id]
        # the hostile job (when its id is one a client could send) beside good ones: the good ones, at once
        waited = [*inbox.good_ids, job_id] if status == 200 or kind != "bad-task-id" else inbox.good_ids
        found = inbox.batch(waited)
        assert found.status_code == 200, found.text
        served = {r["job_id"]: r["payload"] for r in found.json()["callbacks"]}
        assert served == {j: inbox.acknowledged[j] for j in waited if j in inbox.acknowledged}

    check()


def test_every_acknowledged_callback_is_listed_unchanged(inbox: Inbox) -> None:
    """Runs after the classes (module order)."""
    listed = inbox.listed()
    assert {
        j: listed[j]["payload"] if j in listed else None for j in inbox.acknowledged
    } == inbox.acknowledged
    assert len(inbox.acknowledged) > 40


@EXAMPLES
@given(size=st.integers(MAX_BODY + 1, 3 * MAX_BODY), chunked=st.booleans())
def test_a_body_over_the_limit_is_413_and_stores_nothing(inbox: Inbox, size: int, chunked: bool) -> None:
    job_id = fresh_id()
    body = json.dumps({"task_id": job_id, "pad": ""}).encode()
    body = body[:-2] + b"x" * (size - len(body)) + b'"}'
    before = inbox.rows()
    content: Any = iter([body[i : i + 4096] for i in range(0, len(body), 4096)]) if chunked else body
    answer = inbox.client.post(inbox.bridge.callback_url, content=content)
    assert answer.status_code == 413
    assert answer.json() == {"detail": f"body larger than {MAX_BODY} bytes"}
    assert inbox.rows() == before
    assert inbox.get(job_id).status_code == 404


@pytest.mark.parametrize(
    "stored",
    [
        b'{"task_id": "%s", "x": NaN}',
        b'{"task_id": "%s", "x": 1e400}',
        b'{"task_id": "%s", "x": "\\udc00"}',
        b'{"task_id": "%s", "x": ' + b"[" * 3000 + b"]" * 3000 + b"}",
    ],
    ids=["nan", "1e400", "lone-surrogate", "deep"],
)
def test_a_record_an_older_bridge_stored_is_served_escaped_beside_the_good_ones(
    inbox: Inbox, stored: bytes
) -> None:
    """Written straight into the store, as a bridge before strict JSON did: every route still answers."""
    job_id = fresh_id()
    payload = stored.replace(b"%s", job_id.encode())
    store = open_store(inbox.bridge.db_url)
    try:
        store.write_callbacks(
            [IncomingCallback(job_id, uuid.uuid4().hex * 2, payload, True, 1_700_000_000.0)]
        )
    finally:
        store.close()
    escaped = {
        "payload": {"task_id": job_id},
        "unreadable_body": payload.decode("utf-8", "backslashreplace"),
    }

    def check(record: dict[str, Any]) -> None:
        assert record["job_id"] == job_id
        assert record["payload"] == escaped["payload"]
        assert record["unreadable"]["body"] == escaped["unreadable_body"]
        assert record["unreadable"]["reason"].startswith("the stored body is not strict JSON")

    single = inbox.get(job_id)
    assert single.status_code == 200
    check(single.json())
    found = inbox.batch([inbox.good_ids[0], job_id, inbox.good_ids[1]])
    assert found.status_code == 200
    records = {r["job_id"]: r for r in found.json()["callbacks"]}
    check(records.pop(job_id))
    assert {j: r["payload"] for j, r in records.items()} == {
        j: inbox.acknowledged[j] for j in inbox.good_ids[:2]
    }
    check(inbox.listed()[job_id])
    metrics = httpx.get(f"{inbox.bridge.url}/metrics").text
    count = next(
        line for line in metrics.splitlines() if line.startswith("mavi_bridge_records_unreadable_total")
    )
    assert float(count.split()[-1]) >= 3  # one each for the single read, the batch and the list
    assert f"the callback stored for job {job_id} cannot be served as JSON" in inbox.bridge.output()
