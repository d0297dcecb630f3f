"""The standalone bridge's page sessions and the checks of the job fields (pure: no server)."""

from __future__ import annotations

import re

import pytest
from starlette.requests import Request

from airflow_provider_mavi.bridge import job_body
from airflow_provider_mavi.bridge.ui.sessions import TokenSessions, safe_next

TOKEN = "t" * 32


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def request(root_path: str = "") -> Request:
    return Request({"type": "http", "method": "GET", "path": "/ui/", "headers": [], "root_path": root_path})


def test_a_session_is_signed_by_the_token_and_ends_by_itself() -> None:
    clock = Clock()
    sessions = TokenSessions(TOKEN, lifetime=3600, clock=clock)
    cookie = sessions.new_session()
    assert TOKEN not in cookie
    assert sessions.session_valid(cookie)
    clock.now += 3599
    assert sessions.session_valid(cookie)
    clock.now += 2
    assert not sessions.session_valid(cookie)  # expired


@pytest.mark.parametrize("forge", ["expiry", "signature", "other token", "garbage"])
def test_a_forged_or_foreign_session_is_refused(forge: str) -> None:
    sessions = TokenSessions(TOKEN, clock=Clock())
    expires, _, signature = sessions.new_session().partition(".")
    forged = {
        "expiry": f"{int(expires) + 10**6}.{signature}",
        "signature": f"{expires}.{'0' * 64}",
        "other token": TokenSessions("u" * 32, clock=Clock()).new_session(),
        "garbage": "..",
    }[forge]
    assert not sessions.session_valid(forged)
    assert not sessions.session_valid(None)


def test_the_token_is_compared_whole() -> None:
    sessions = TokenSessions(TOKEN)
    assert sessions.token_valid(TOKEN)
    assert not sessions.token_valid(TOKEN[:-1])
    assert not sessions.token_valid(TOKEN + "x")
    assert not sessions.token_valid(None)


@pytest.mark.parametrize(
    ("target", "where"),
    [
        ("/mavi/ui/jobs/abc", "/mavi/ui/jobs/abc"),
        ("/mavi/ui/", "/mavi/ui/"),
        ("https://evil.example/mavi/ui/", "/mavi/ui/"),
        ("//evil.example/mavi/ui/", "/mavi/ui/"),
        ("/mavi/ui//evil.example", "/mavi/ui/"),
        ("/mavi/ui\\..\\x", "/mavi/ui/"),
        ("/mavi/other", "/mavi/ui/"),
        ("/mavi/ui/\r\nSet-Cookie: x", "/mavi/ui/"),
        (None, "/mavi/ui/"),
    ],
)
def test_after_login_only_a_page_of_this_bridge(target: str | None, where: str) -> None:
    assert safe_next(request("/mavi"), target) == where


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"dag_id": ""}, "dag_id must be a string of 1 to 250 characters, or null"),
        ({"run_id": "r" * 251}, "run_id must be a string of 1 to 250 characters, or null"),
        ({"task_id": 7}, "task_id must be a string of 1 to 250 characters, or null"),
        ({"map_index": -2}, "map_index must be an integer from -1 to 2147483647, or null"),
        ({"map_index": True}, "map_index must be an integer from -1 to 2147483647, or null"),
        ({"map_index": 1.5}, "map_index must be an integer from -1 to 2147483647, or null"),
        (
            {"deadline": "soon"},
            "deadline must be epoch seconds (a positive number, at most 253402300799), or null",
        ),
        (
            {"deadline": float("inf")},
            "deadline must be epoch seconds (a positive number, at most 253402300799), or null",
        ),
        (
            {"deadline": 0},
            "deadline must be epoch seconds (a positive number, at most 253402300799), or null",
        ),
        (
            {"deadline": 1e300},
            "deadline must be epoch seconds (a positive number, at most 253402300799), or null",
        ),
        ({"map_index": 2**31}, "map_index must be an integer from -1 to 2147483647, or null"),
        ({"dag_id": "d\x00"}, "dag_id cannot contain U+0000"),
        ({"run_id": "r\n1"}, "run_id cannot contain U+000A"),
    ],
)
def test_bad_task_fields_say_what_they_must_be(body: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        job_body.task_fields(body)


def test_task_fields_are_optional() -> None:
    assert job_body.task_fields({}) == dict.fromkeys(("dag_id", "run_id", "task_id", "map_index", "deadline"))
    full = {"dag_id": "d", "run_id": "r", "task_id": "t", "map_index": 2, "deadline": 1.5e9}
    assert job_body.task_fields({**full, "kind": "extract_frames"}) == full


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {},
        {"cost_usd": "1"},
        {"cost_usd": -0.01},
        {"cost_usd": True},
        {"cost_usd": float("nan")},
        {"cost_usd": 10**7},
    ],
)
def test_a_bad_price_is_refused(body: object) -> None:
    with pytest.raises(ValueError, match="cost_usd"):
        job_body.cost_usd(body)


def test_a_price_or_null() -> None:
    assert job_body.cost_usd({"cost_usd": 0.06}) == 0.06
    assert job_body.cost_usd({"cost_usd": 0}) == 0.0
    assert job_body.cost_usd({"cost_usd": None}) is None
