"""Odd but authenticated input to every ``/v1`` route, on SQLite and on PostgreSQL (issue 15, class 2).

Ids with any code point (control characters, lone surrogates sent as invalid UTF-8, NUL, over 200
characters), cursors and limits outside the column's range, waits that are not finite numbers, text fields
the store cannot keep. Every answer is a 4xx with a ``{"detail"}`` saying why, or the normal answer when the
value is valid; never a 5xx. The expected outcome of each value comes from the bridge's pure checks
(``checks.py``, whose rules ``tests/unit/bridge/test_checks.py`` pins down), and a refused write leaves every
table as it was.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_mavi.bridge.checks import (
    CURSOR_MAX,
    InvalidInput,
    check_job_id,
    check_text,
    parse_integer,
    parse_wait,
)
from airflow_provider_mavi.bridge.store.schema import metadata
from airflow_provider_mavi.bridge.testing import BridgeServer

EXAMPLES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: Any code point, including control characters, NUL and lone surrogates, and the edges of each rule.
any_text = st.text(st.characters(exclude_categories=()), max_size=12) | st.sampled_from(
    [
        "\x00",
        "a\x00b",
        ".",
        "..",
        "...",
        "\ud800",
        "é",
        "\u2028",
        "\ufeff",
        "%",
        "?",
        "#",
        "x" * 200,
        "x" * 201,
    ]
)
long_text = st.integers(195, 1100).map(lambda n: "k" * n)
numbers = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.floats().map(repr),
    st.sampled_from(["-1", "0", "99999999999999999999", str(CURSOR_MAX), str(CURSOR_MAX + 1), "1e309", "+5"]),
    st.sampled_from(["nan", "inf", "-inf", "Infinity", "", " 1", "1 ", "0x10", "٣", "1_000"]),
    any_text,
)


def encoded(text: str) -> str:
    """Percent-encoded UTF-8, lone surrogates as the invalid bytes a careless client would send."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def outcome(check: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return check(*args, **kwargs)
    except InvalidInput as err:
        return err


def has_surrogate(text: str) -> bool:
    return any(0xD800 <= ord(c) <= 0xDFFF for c in text)


class Client:
    def __init__(self, bridge: BridgeServer, engine: sa.Engine) -> None:
        self.bridge = bridge
        self.http = httpx.Client(base_url=bridge.url, headers=bridge.headers, timeout=20)
        self.engine = engine
        self.known = f"known-{uuid.uuid4().hex}"  # a stored callback: a valid wait returns at once

    def rows(self) -> dict[str, list[tuple[Any, ...]]]:
        with self.engine.connect() as conn:
            return {
                t.name: sorted(tuple(r) for r in conn.execute(sa.select(t)).all())
                for t in metadata.sorted_tables
            }

    def check_refusal(self, answer: httpx.Response, message: str | None = None) -> None:
        assert 400 <= answer.status_code < 500, (answer.status_code, answer.text)
        detail = answer.json()["detail"]
        assert isinstance(detail, str)
        if message is not None:
            assert detail == message, detail


@pytest.fixture(scope="module")
def client(db_url: str) -> Iterator[Client]:
    engine = sa.create_engine(db_url)
    with BridgeServer(db_url=db_url) as bridge:
        c = Client(bridge, engine)
        assert c.http.post(bridge.callback_url, json={"code": 200, "task_id": c.known}).status_code == 200
        yield c
        c.http.close()
    engine.dispose()


def valid_id(job_id: str) -> bool:
    return not isinstance(outcome(check_job_id, job_id), InvalidInput)


@EXAMPLES
@given(job_id=any_text | long_text)
def test_ids_with_any_code_point(client: Client, job_id: str) -> None:
    path = encoded(job_id)
    reads = {
        "callback": client.http.get(f"/v1/callbacks/{path}?wait=0"),
        "job": client.http.get(f"/v1/jobs/{path}"),
        "abandon": client.http.post(f"/v1/jobs/{path}/abandon"),
    }
    before = client.rows()
    put = client.http.put(f"/v1/jobs/{path}", json={"kind": "extract_frames", "asset_id": "re_1"})
    if valid_id(job_id):
        assert reads["callback"].status_code == 404
        assert reads["callback"].json() == {"detail": "no callback for this job yet"}
        assert reads["job"].status_code in (200, 404)
        assert reads["abandon"].status_code in (200, 404)
        assert put.status_code == 200, put.text
        assert put.json()["job_id"] == job_id  # the id went into the store and came back as sent
        assert client.http.get(f"/v1/jobs/{path}").json()["job_id"] == job_id
        found = client.http.post("/v1/callbacks/wait", json={"job_ids": [job_id, client.known], "wait": 5})
        assert [r["job_id"] for r in found.json()["callbacks"]] == [client.known]
        return
    for answer in (*reads.values(), put):
        if job_id in (
            ".",
            "..",
            "",
        ):  # the client resolves the dot segments: another path, any route's answer
            assert answer.status_code < 500, answer.text
        elif "/" in job_id:  # Starlette decodes %2F before routing: no route, or the abandon route's 405
            assert answer.status_code in (400, 404, 405), answer.text
        elif has_surrogate(job_id) and "\ufffd" not in job_id:
            client.check_refusal(answer)
        else:
            client.check_refusal(answer, str(outcome(check_job_id, job_id)))
    assert client.rows() == before  # the refused PUT stored nothing
    if job_id:
        batch = client.http.post(
            "/v1/callbacks/wait",
            content=json.dumps({"job_ids": [client.known, job_id], "wait": 0}).encode(),
        )
        # what the bridge reads: an escaped surrogate pair is one character
        sent = json.loads(json.dumps(job_id))
        if has_surrogate(sent):  # strict JSON refuses the whole body
            client.check_refusal(batch, "the body holds a string that is not valid Unicode")
        elif valid_id(sent):
            assert batch.status_code == 200, batch.text
        else:
            client.check_refusal(batch, str(outcome(check_job_id, sent, "job_ids[1]")))


@pytest.mark.parametrize("tail", ["/", "%2F", "%2f", "//"])
def test_an_id_ending_in_a_slash_is_not_redirected_to_another_job(client: Client, tail: str) -> None:
    """Without the slash the path names a stored job: the bridge answers 404, never a 307 to that job."""
    before = client.rows()
    for method, path in (
        ("GET", f"/v1/callbacks/{client.known}{tail}?wait=0"),
        ("GET", f"/v1/jobs/{client.known}{tail}"),
        ("PUT", f"/v1/jobs/{client.known}{tail}"),
        ("POST", f"/v1/jobs/{client.known}/abandon{tail}"),
        ("GET", f"/v1/callbacks{tail}"),
    ):
        answer = client.http.request(method, path, json={"kind": "extract_frames", "asset_id": "re_1"})
        assert answer.status_code == 404, (method, path, answer.status_code, answer.headers)
        assert answer.json() == {"detail": "Not Found"}
        assert "location" not in answer.headers
    assert client.rows() == before


@EXAMPLES
@given(after=numbers, limit=numbers)
def test_list_cursor_and_limit_in_the_columns_range(client: Client, after: str, limit: str) -> None:
    answer = client.http.get(f"/v1/callbacks?after={encoded(after)}&limit={encoded(limit)}")
    good_after = outcome(parse_integer, after, "after", 0, 0, CURSOR_MAX)
    good_limit = outcome(parse_integer, limit, "limit", 100, 1, 1000)
    if has_surrogate(after) or has_surrogate(limit):
        client.check_refusal(answer)  # Starlette reads invalid UTF-8 as U+FFFD: no integer either
    elif isinstance(good_after, InvalidInput):
        client.check_refusal(answer, str(good_after))
    elif isinstance(good_limit, InvalidInput):
        client.check_refusal(answer, str(good_limit))
    else:
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["callbacks"]) <= good_limit
        assert int(answer.json()["next"]) >= good_after


@EXAMPLES
@given(wait=numbers)
def test_wait_is_a_finite_number(client: Client, wait: str) -> None:
    single = client.http.get(f"/v1/callbacks/{client.known}?wait={encoded(wait)}")
    expected = outcome(parse_wait, wait, 60.0)
    try:
        as_json: Any = json.loads(wait)
    except ValueError:
        as_json = wait  # not a JSON number: sent as a string, which the batch refuses
    batch = client.http.post(
        "/v1/callbacks/wait", content=json.dumps({"job_ids": [client.known], "wait": as_json}).encode()
    )
    if has_surrogate(wait) or isinstance(expected, InvalidInput):
        client.check_refusal(single)
        client.check_refusal(batch)
        return
    assert single.status_code == 200, single.text
    if isinstance(as_json, bool) or not isinstance(as_json, int | float):
        client.check_refusal(batch, "wait must be a finite number of seconds >= 0")
    elif isinstance(as_json, int) and not -(2**63) <= as_json < 2**63:
        client.check_refusal(batch)  # strict JSON: no integer beyond 64 bits in any body
    else:
        assert batch.status_code == 200, batch.text
        assert [r["job_id"] for r in batch.json()["callbacks"]] == [client.known]


@EXAMPLES
@given(kind=any_text | long_text, asset_id=any_text | long_text, key=st.none() | any_text | long_text)
def test_job_fields_the_store_cannot_keep_are_refused(
    client: Client, kind: str, asset_id: str, key: Any
) -> None:
    job_id = f"job-{uuid.uuid4().hex}"
    before = client.rows()
    answer = client.http.put(
        f"/v1/jobs/{job_id}", content=json.dumps({"kind": kind, "asset_id": asset_id, "key": key}).encode()
    )
    read = json.loads(json.dumps([kind, asset_id, key]))  # an escaped surrogate pair is one character
    if any(isinstance(v, str) and has_surrogate(v) for v in read):  # strict JSON refuses the whole body
        client.check_refusal(answer, "the body holds a string that is not valid Unicode")
        assert client.rows() == before
        return
    kind, asset_id, key = read
    problems = [
        outcome(check_text, kind, "kind", 64, names=True),
        outcome(check_text, asset_id, "asset_id", 200, names=True),
        outcome(check_text, key, "key", 1000) if key is not None else None,
    ]
    first = next((p for p in problems if isinstance(p, InvalidInput)), None)
    if first is not None:
        client.check_refusal(answer, str(first))
        assert client.rows() == before
        return
    assert answer.status_code == 200, answer.text
    assert {k: answer.json()[k] for k in ("kind", "asset_id", "key")} == {
        "kind": kind,
        "asset_id": asset_id,
        "key": key,
    }
    if key is not None:
        found = client.http.get(f"/v1/jobs?key={encoded(key)}")
        assert found.status_code == 200, found.text
        assert job_id in [j["job_id"] for j in found.json()["jobs"]]


@EXAMPLES
@given(key=any_text | long_text)
def test_find_jobs_by_any_key(client: Client, key: str) -> None:
    answer = client.http.get(f"/v1/jobs?key={encoded(key)}")
    expected = outcome(check_text, key, "key", 1000)
    if has_surrogate(key) and "\ufffd" not in key:
        assert answer.status_code in (200, 400)  # sent as invalid UTF-8: Starlette reads U+FFFD
    elif isinstance(expected, InvalidInput):
        client.check_refusal(answer, str(expected))
    else:
        assert answer.status_code == 200, answer.text
        assert isinstance(answer.json()["jobs"], list)


@EXAMPLES
@given(
    body=st.binary(max_size=120)
    | st.recursive(
        st.none() | st.integers() | st.text(max_size=5),
        lambda i: (
            st.lists(i, max_size=3)
            | st.dictionaries(
                st.sampled_from(["job_ids", "wait", "kind", "asset_id", "key", "x"]), i, max_size=4
            )
        ),
        max_leaves=8,
    ).map(lambda v: json.dumps(v).encode())
)
def test_bodies_of_any_shape_get_an_answer_not_a_crash(client: Client, body: bytes) -> None:
    before = client.rows()
    for method, path in (("POST", "/v1/callbacks/wait"), ("PUT", f"/v1/jobs/body-{uuid.uuid4().hex}")):
        answer = client.http.request(method, path, content=body)
        assert answer.status_code in (200, 400), answer.text
        if answer.status_code == 400:
            assert isinstance(answer.json()["detail"], str)
    after = client.rows()
    for table, rows in before.items():
        assert set(rows) <= set(after[table])
