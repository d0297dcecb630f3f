"""Odd but authenticated input to the routes main added (consumers, the job's task fields and price, the
list's wait), on SQLite and on PostgreSQL (issue 15, class 2, as ``test_odd_input.py`` for the others).

Every answer is the normal one when the pure check (``checks.py``, ``job_body.py``) accepts the value, else a
400 whose ``detail`` is that check's message; never a 5xx, and a refused write changes no table.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_mavi.bridge import job_body
from airflow_provider_mavi.bridge.checks import (
    CURSOR_MAX,
    InvalidInput,
    check_consumer_name,
    parse_cursor,
    parse_wait,
)
from airflow_provider_mavi.bridge.store.schema import metadata
from airflow_provider_mavi.bridge.testing import BridgeServer

EXAMPLES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12) | st.sampled_from(
    ["\x00", "a\x00b", ".", "..", ".a", "a.", "~-_", "é", "\u2028", "%", "?", "#", "x" * 200, "x" * 201, ""]
)
cursors = st.one_of(
    st.integers(-(2**64), 2**64).map(str),
    st.sampled_from(
        ["0", str(CURSOR_MAX), str(CURSOR_MAX + 1), "9" * 5000, "007", "+1", " 1", "1e3", "\u0661"]
    ),
    st.integers(-(2**63), 2**63 - 1),
    any_text,
    st.none(),
)
json_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([-1, 0, 2**31 - 1, 2**31, 253_402_300_799, 253_402_300_800, 1e300, 1e-300, 1_000_001]),
    any_text,
    st.lists(st.integers(-5, 5), max_size=2),
)


def outcome(check: Any, *args: Any) -> Any:
    try:
        return check(*args)
    except InvalidInput as err:
        return err


class Client:
    def __init__(self, bridge: BridgeServer, engine: sa.Engine) -> None:
        self.http = httpx.Client(base_url=bridge.url, headers=bridge.headers, timeout=20)
        self.engine = engine

    def rows(self) -> dict[str, list[tuple[Any, ...]]]:
        with self.engine.connect() as conn:
            return {
                t.name: sorted(tuple(r) for r in conn.execute(sa.select(t)).all())
                for t in metadata.sorted_tables
            }

    def refused(self, answer: httpx.Response, message: str) -> None:
        assert (answer.status_code, answer.json()) == (400, {"detail": message}), answer.text


@pytest.fixture(scope="module")
def client(db_url: str) -> Iterator[Client]:
    engine = sa.create_engine(db_url)
    with BridgeServer(db_url=db_url, max_wait=0.05) as bridge:
        c = Client(bridge, engine)
        yield c
        c.http.close()
    engine.dispose()


@EXAMPLES
@given(name=any_text)
def test_consumer_names_of_any_code_point(client: Client, name: str) -> None:
    path = f"/v1/consumers/{quote(name, safe='')}"
    before = client.rows()
    answers = [
        client.http.get(path),
        client.http.post(path, json={"start": "earliest"}),
        client.http.put(path, json={"cursor": "0"}),
    ]
    expected = outcome(check_consumer_name, name)
    if name in ("", ".", ".."):  # the client resolves the dot segments: another path
        assert all(a.status_code < 500 for a in answers)
        assert client.rows() == before
    elif "/" in name:  # Starlette decodes %2F before routing: no route
        assert [a.status_code for a in answers] == [404, 404, 404]
        assert client.rows() == before
    elif isinstance(expected, InvalidInput):
        for answer in answers:
            client.refused(answer, str(expected))
        assert client.rows() == before
    else:
        assert answers[0].status_code in (200, 404)
        assert [a.status_code for a in answers[1:]] == [200, 200], [a.text for a in answers]
        assert answers[2].json()["name"] == name


@EXAMPLES
@given(cursor=cursors)
def test_a_consumer_cursor_is_digits_within_64_bits(client: Client, cursor: Any) -> None:
    name = f"c-{uuid.uuid4().hex}"
    before = client.rows()
    answer = client.http.put(f"/v1/consumers/{name}", content=json.dumps({"cursor": cursor}).encode())
    expected = outcome(parse_cursor, cursor)
    if isinstance(expected, InvalidInput):
        client.refused(answer, str(expected))
        assert client.rows() == before
    else:
        assert answer.status_code == 200, answer.text
        assert int(answer.json()["cursor"]) == expected


@EXAMPLES
@given(field=st.sampled_from(["dag_id", "run_id", "task_id", "map_index", "deadline"]), value=json_values)
def test_job_task_fields_the_store_cannot_keep_are_refused(client: Client, field: str, value: Any) -> None:
    job_id = f"job-{uuid.uuid4().hex}"
    body = {"kind": "extract_frames", "asset_id": "re_1", field: value}
    before = client.rows()
    answer = client.http.put(f"/v1/jobs/{job_id}", content=json.dumps(body).encode())
    expected = outcome(job_body.task_fields, body)
    if isinstance(expected, InvalidInput):
        client.refused(answer, str(expected))
        assert client.rows() == before
        return
    assert answer.status_code == 200, answer.text
    stored = client.http.get(f"/v1/jobs/{job_id}").json()
    if field == "deadline" and value is not None:
        assert stored["deadline"].endswith("+00:00")  # rendered as a date, however far
    else:
        assert stored[field] == value  # kept as sent


@EXAMPLES
@given(cost=json_values | st.sampled_from([0, 0.25, 1_000_000]))
def test_a_price_of_any_value(client: Client, cost: Any) -> None:
    job_id = f"job-{uuid.uuid4().hex}"
    client.http.put(f"/v1/jobs/{job_id}", json={"kind": "k", "asset_id": "a"}).raise_for_status()
    before = client.rows()
    answer = client.http.post(f"/v1/jobs/{job_id}/cost", content=json.dumps({"cost_usd": cost}).encode())
    expected = outcome(job_body.cost_usd, {"cost_usd": cost})
    if isinstance(expected, InvalidInput):
        client.refused(answer, str(expected))
        assert client.rows() == before
    else:
        assert answer.status_code == 200, answer.text
        recorded = answer.json()["cost_usd"]
        assert recorded == expected or (recorded is not None and math.isclose(recorded, expected))


@EXAMPLES
@given(wait=st.floats().map(repr) | any_text | st.sampled_from(["0", "0.01", "1e309", "-0.0", "nan"]))
def test_the_list_wait_is_a_finite_number(client: Client, wait: str) -> None:
    answer = client.http.get(f"/v1/callbacks?after={CURSOR_MAX}&wait={quote(wait, safe='')}")
    expected = outcome(parse_wait, wait, 0.05)
    if isinstance(expected, InvalidInput):
        client.refused(answer, str(expected))
    else:
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"callbacks": [], "next": str(CURSOR_MAX)}
