"""Schemathesis against a real emulator over loopback, driven by the OpenAPI document it serves.

One pytest case per operation (28), each with every schemathesis check: no 5xx, status codes, content
types and bodies that conform to the document, schema-violating requests refused, the ``Authorization``
key enforced (a request without it or with a wrong one must get 401), an undeclared method answered 405
with ``Allow``. Bounded and deterministic: a fixed seed, ``MAX_EXAMPLES`` per operation, no shrinking.
Async endpoints post their callbacks to a recording receiver (the account's webhook); faults and the
webhook are put back after a case changed them.

Measured here: 1,394 generated requests (1,150 from the coverage phase, 244 fuzzed), 13 s for the 28
operations on the shared 2-core machine at low load, up to about 65 s when other work saturates it.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import negative_data_rejection

from airflow_provider_mavi.emulator.app import create_app
from airflow_provider_mavi.emulator.settings import EmulatorSettings
from airflow_provider_mavi.emulator.testing import CallbackReceiver, EmulatorServer

KEY = "sk-mavi-fuzz-0123456789"
SEED = 15
MAX_EXAMPLES = 10
#: A valid request may still be refused for what no schema can say: an unknown or unready asset (400
#: ``Asset not found`` or ``Request has exceeded the limit.``), an unaffordable call (402).
ACCEPTED = ["2xx", "400", "401", "402", "403", "404", "409", "429"]
#: The VLM answers refusals as HTTP 200 ``status: "errored"`` (the documented practice), not 4xx.
VLM = "POST /serve/api/v2/vu/chat/completions"


def _document() -> dict[str, Any]:
    """The document an emulator serves (built once at collection; the fixture checks it is the served one)."""
    with tempfile.TemporaryDirectory() as root:
        app = create_app(EmulatorSettings(api_key="unused", data_dir=Path(root)))
        try:
            return app.openapi()
        finally:
            asyncio.run(app.emulator.close())


DOCUMENT = _document()
CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": SEED,
        "headers": {"Authorization": KEY},
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "no-shrink": True},
        # Two undeclared methods per operation are enough to check the 405 envelope and its Allow header.
        "phases": {"stateful": {"enabled": False}, "coverage": {"unexpected-methods": ["PATCH", "TRACE"]}},
        "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}},
    }
)
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A real emulator (webhook: a recording receiver) serving the document above."""
    data = tmp_path_factory.mktemp("fuzz")
    with (
        CallbackReceiver() as receiver,
        EmulatorServer(
            api_key=KEY, webhook_url=receiver.url, qps=1e6, seed=SEED, data_dir=data, fetch_timeout=2
        ) as server,
    ):
        assert httpx.get(server.root_url + "/openapi.json").json() == DOCUMENT
        with (
            httpx.Client(base_url=server.admin_url, headers={"Authorization": KEY}) as admin,
            httpx.Client(base_url=server.root_url) as bare,
        ):
            yield server, receiver, admin, bare


@schema.parametrize()
def test_every_operation(case: Any, account: Any) -> None:
    server, receiver, admin, _ = account
    label = f"{case.method} {case.path}"
    try:
        case.call_and_validate(
            base_url=server.root_url,
            excluded_checks=[negative_data_rejection] if label == VLM else None,
        )
    finally:
        if case.method == "PUT" and case.path.startswith("/_emulator/"):
            admin.put("/faults", json={}).raise_for_status()
            admin.put("/webhook", json={"url": receiver.url}).raise_for_status()


OPERATIONS = [
    (method.upper(), path, operation.get("security") != [])
    for path, operations in DOCUMENT["paths"].items()
    for method, operation in operations.items()
]


@pytest.mark.parametrize(
    ("method", "path", "secured"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS]
)
def test_every_secured_operation_refuses_a_missing_or_wrong_key(account, method, path, secured):
    _, _, admin, bare = account
    url = path.replace("{asset_id}", "re_1").replace("{token}", "t")
    jobs = len(admin.get("/stats").json()["jobs"])
    for headers in (
        {},
        {"Authorization": "sk-wrong"},
        {"Authorization": f"Bearer {KEY}"},
        {"X-Api-Key": KEY},
    ):
        answer = bare.request(method, url, headers=headers, json={"asset_id": "re_1"})
        if secured:
            assert answer.status_code == 401, (headers, answer.text)
            assert answer.json() == {"code": 401, "msg": "Unauthorized", "data": None}
            assert KEY not in answer.text
        else:
            assert answer.status_code != 401
    assert len(admin.get("/stats").json()["jobs"]) == jobs  # nothing was submitted
