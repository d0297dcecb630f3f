"""Schemathesis against a real bridge over loopback, on SQLite and on PostgreSQL, driven by the OpenAPI
document it serves (issue 15, "Served schemas, fuzzed").

One pytest case per operation and store, each with every schemathesis check: no 5xx, status codes, content
types and bodies that conform to the document, schema-violating requests refused, the bearer token enforced
on every ``/v1`` route (a request without it or with a wrong one must get 401), an undeclared method answered
405 with ``Allow``. The callback route is fuzzed with the bridge's real (test) secret, so generated callbacks
are stored and then read by the other operations; each one acknowledged is read back by job, by batched
wait and, after every operation ran, in the arrival-ordered list (with its cursor and kind). Bounded and
deterministic: a fixed seed, ``MAX_EXAMPLES`` per operation, no shrinking, and waits cut to 0.05 s by the
bridge (``MAVI_BRIDGE_MAX_WAIT``).

The document is built at collection, as the emulator's fuzz test does (schemathesis's fixture-based loader
does not work under pytest 9.2); the fixture checks it is the one the bridge serves.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig

from airflow_provider_mavi.bridge.app import create_app
from airflow_provider_mavi.bridge.settings import BridgeSettings
from airflow_provider_mavi.bridge.testing import BridgeServer

SECRET = "fuzz-callback-secret-0123456789"
TOKEN = "fuzz-api-token-0123456789abcdef"
SEED = 15
MAX_EXAMPLES = 10
#: A request valid by the schema may still be refused for what no schema says (an integer beyond 64 bits
#: or a key twice in a callback body, nesting over 64 levels: 400), or find nothing (404).
ACCEPTED = ["2xx", "400", "404"]

DOCUMENT = create_app(BridgeSettings(db_url="sqlite://", callback_secret=SECRET, api_token=TOKEN)).openapi()
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,
        "headers": {"Authorization": f"Bearer {TOKEN}"},
        "parameters": {"path.secret": SECRET},
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "no-shrink": True},
        "phases": {"stateful": {"enabled": False}, "coverage": {"unexpected-methods": ["PATCH", "DELETE"]}},
        "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}},
    }
)
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)


@pytest.fixture(scope="module")
def fuzzed(db_url: str) -> Iterator[BridgeServer]:
    """A real bridge with the test secret and token, waits cut short, serving the document above."""
    with BridgeServer(db_url=db_url, secret=SECRET, token=TOKEN, max_wait=0.05) as bridge:
        assert httpx.get(f"{bridge.url}/openapi.json").json() == json.loads(json.dumps(DOCUMENT))
        yield bridge


#: bridge URL -> {job id: payload} of every callback the fuzzed intake acknowledged
ACKNOWLEDGED: dict[str, dict[str, Any]] = {}


@schema.parametrize()
def test_every_operation(case: Any, fuzzed: BridgeServer) -> None:
    answer = case.call_and_validate(base_url=fuzzed.url)
    if case.path == "/callbacks/{secret}":
        ACKNOWLEDGED.setdefault(fuzzed.url, {})
    if case.path == "/callbacks/{secret}" and answer.status_code == 200:  # acknowledged: readable everywhere
        auth = {"Authorization": f"Bearer {TOKEN}"}
        job_id = answer.json()["job_id"]
        read = httpx.get(f"{fuzzed.url}/v1/callbacks/{quote(job_id, safe='')}", headers=auth)
        assert read.status_code == 200, read.text
        assert read.json()["payload"] == json.loads(json.dumps(case.body))
        found = httpx.post(f"{fuzzed.url}/v1/callbacks/wait", json={"job_ids": [job_id]}, headers=auth)
        assert [r["job_id"] for r in found.json()["callbacks"]] == [job_id]
        ACKNOWLEDGED.setdefault(fuzzed.url, {})[job_id] = read.json()["payload"]


def test_every_acknowledged_callback_is_in_the_list(fuzzed: BridgeServer) -> None:
    """Runs after the operations on the same store; PostgreSQL lists a callback once settled (about 2 s)."""
    if fuzzed.url not in ACKNOWLEDGED:
        pytest.skip("the callback operation was not fuzzed in this run")
    expected = ACKNOWLEDGED[fuzzed.url]
    assert expected  # the fuzzed intake acknowledged some callbacks
    auth = {"Authorization": f"Bearer {TOKEN}"}
    deadline = time.monotonic() + 10
    listed: dict[str, dict[str, Any]] = {}
    after = "0"
    while not expected.keys() <= listed.keys() and time.monotonic() < deadline:
        page = httpx.get(f"{fuzzed.url}/v1/callbacks", params={"after": after, "limit": 1000}, headers=auth)
        assert page.status_code == 200, page.text
        listed.update({r["job_id"]: r for r in page.json()["callbacks"]})
        if not page.json()["callbacks"]:
            time.sleep(0.2)
        after = page.json()["next"]
    assert expected.keys() <= listed.keys()
    for job_id, payload in expected.items():
        assert listed[job_id]["payload"] == payload
        assert listed[job_id]["cursor"].isdigit()
        assert isinstance(listed[job_id]["terminal"], bool)


OPERATIONS = [
    (method.upper(), path)
    for path, operations in DOCUMENT["paths"].items()
    for method, operation in operations.items()
    if operation.get("security") != []
]


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_v1_operation_refuses_a_missing_or_wrong_token(
    fuzzed: BridgeServer, method: str, path: str
) -> None:
    assert path.startswith("/v1/")
    url = fuzzed.url + path.replace("{job_id}", "token-check").replace("{name}", "token-check")
    client = httpx.Client()  # one connection for the eight requests
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": TOKEN},  # no scheme
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Bearer {SECRET}"},  # the callback secret is not the token
        {"X-Api-Key": TOKEN},
    ):
        answer = client.request(method, url, headers=headers, json={"job_ids": ["token-check"], "kind": "k"})
        assert answer.status_code == 401, (headers, answer.text)
        assert answer.json() == {"detail": "missing or wrong bearer token"}
        assert answer.headers["www-authenticate"] == "Bearer"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    job = client.get(f"{fuzzed.url}/v1/jobs/token-check", headers=auth)
    consumer = client.get(f"{fuzzed.url}/v1/consumers/token-check", headers=auth)
    client.close()
    assert job.status_code == 404  # nothing was recorded by the refused requests
    assert consumer.status_code == 404
