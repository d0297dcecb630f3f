"""The bridge hook's pure request builder: ids as one path segment, answers read and redacted, plans."""

from __future__ import annotations

import re
import string
from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airflow_provider_mavi.exceptions import MaviBridgeAuthError, MaviBridgeError, MaviBridgeUnavailableError
from airflow_provider_mavi.hooks import bridge_plans as plans
from airflow_provider_mavi.hooks import bridge_protocol as protocol
from airflow_provider_mavi.hooks.bridge_protocol import Request, Sleep, Stepper, job_segment
from airflow_provider_mavi.retry import RetryPolicy

# ---------------------------------------------------------------------------------------------- ids


@pytest.mark.parametrize(
    ("job_id", "match"),
    [
        ("", "non-empty string"),
        (None, "non-empty string"),
        (7, "non-empty string"),
        (".", "is not a Mavi job id"),
        ("..", "is not a Mavi job id"),
        ("a/b", "cannot contain '/'"),
        ("../v1/jobs", "cannot contain '/'"),
        ("a\\b", "cannot contain"),
        ("a\nb", "cannot contain '\\\\n'"),
        ("\x00", "cannot contain"),
        ("tab\there", "cannot contain"),
        ("\x7f", "cannot contain"),
        ("\u0085", "cannot contain"),
        ("\ud800", "cannot contain"),
        ("j" * 201, "at most 200 characters"),
    ],
)
def test_an_id_that_cannot_be_one_segment_is_refused(job_id: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        job_segment(job_id)


@pytest.mark.parametrize("job_id", ["a?x=1", "a#b", "a b", "%2e%2e", "...", "ünï", "j" * 200, "wait"])
def test_an_odd_id_is_one_escaped_segment(job_id: str) -> None:
    segment = job_segment(job_id)
    assert re.fullmatch(r"[A-Za-z0-9_.~%-]+", segment)
    assert unquote(segment) == job_id
    assert segment not in (".", "..")


@settings(deadline=None)  # timing is not what this checks (the machine is shared)
@given(st.text(max_size=250))
def test_any_text_is_either_one_safe_segment_or_a_value_error(job_id: str) -> None:
    try:
        segment = job_segment(job_id)
    except ValueError as error:
        message = str(error)
        assert "job id" in message
        return
    assert re.fullmatch(r"[A-Za-z0-9_.~%-]+", segment)  # no '/', '?', '#', nothing a server splits on
    assert segment not in (".", "..")
    assert unquote(segment) == job_id
    request = plans.get_callback_request(job_id, 5)
    assert request.path.count("/") == 3  # /v1/callbacks/<one segment>
    assert request.params == {"wait": 5.0}


def test_requests_carry_the_segment_and_cap_the_wait() -> None:
    assert plans.get_callback_request("a?b", 500) == Request(
        "GET", "/v1/callbacks/a%3Fb", params={"wait": 60.0}, wait=60.0, missing_ok=True
    )
    assert plans.get_callback_request("j", -3).wait == 0.0


def test_public_url_strips_credentials() -> None:
    assert (
        protocol.public_url("https://user:secret@bridge.example:8443/mavi?token=x#f")
        == "https://bridge.example:8443/mavi"
    )
    assert protocol.public_url(None) == "(no bridge_url set)"


# ------------------------------------------------------------------------------------------ answers

URL = "http://bridge.test"
GET = plans.get_callback_request("job-1", 0)
PUT = Request("PUT", "/v1/jobs/job-1", body={})


def read(
    request: Request, status: int, body: bytes, token: str = "tok-0123456789abcdef", **headers: str
) -> Any:
    return protocol.read_answer(request, status, headers, body, url=URL, token=token)


def test_a_good_answer_is_its_json() -> None:
    assert read(PUT, 200, b'{"job_id": "job-1"}') == {"job_id": "job-1"}


def test_the_bridges_own_404_is_nothing_stored_only_where_asked() -> None:
    body = b'{"detail": "no callback for this job yet"}'
    assert read(GET, 404, body) is None
    with pytest.raises(MaviBridgeError, match="is bridge_url right"):
        read(PUT, 404, body)
    with pytest.raises(
        MaviBridgeError, match=r"404 from http://bridge.test/v1/callbacks/job-1: is bridge_url"
    ):
        read(GET, 404, b'{"detail": "Not Found"}')


@pytest.mark.parametrize(
    ("status", "error", "retry_after"),
    [
        (401, MaviBridgeAuthError, None),
        (429, MaviBridgeUnavailableError, 3.0),
        (500, MaviBridgeUnavailableError, None),
        (503, MaviBridgeUnavailableError, 3.0),
        (400, MaviBridgeError, None),
        (409, MaviBridgeError, None),
    ],
)
def test_error_answers_map_to_their_class(status: int, error: type, retry_after: float | None) -> None:
    with pytest.raises(error) as caught:
        read(GET, status, b'{"detail": "no"}', **({"retry-after": "3"} if retry_after else {}))
    assert type(caught.value) is error
    assert caught.value.status == status
    assert caught.value.retry_after == retry_after


def test_an_answer_that_is_not_json_is_an_error() -> None:
    with pytest.raises(MaviBridgeError, match="something not JSON"):
        read(PUT, 200, b"<html>proxy page</html>")


@settings(deadline=None)
@given(
    token=st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=16, max_size=48),
    before=st.text(max_size=300),
    after=st.text(max_size=300),
    status=st.sampled_from([400, 403, 404, 409, 422, 500, 502, 503]),
    as_json=st.booleans(),
)
def test_the_token_never_reaches_an_error_whatever_the_body(
    token: str, before: str, after: str, status: int, as_json: bool
) -> None:
    import json

    echoed = f"{before}Authorization: Bearer {token}{after}"
    body = json.dumps({"detail": echoed, "headers": {"authorization": token}}) if as_json else echoed
    with pytest.raises(MaviBridgeError) as caught:  # a 404 with an echoed body is not the bridge's own 404
        read(GET, status, body.encode(), token=token)
    assert token not in f"{caught.value!s} {caught.value!r} {caught.value.args!r}"


def test_only_the_bridges_detail_is_shown_and_a_proxy_page_is_described() -> None:
    with pytest.raises(MaviBridgeError) as caught:
        read(PUT, 502, b"<html>Authorization: Bearer abc</html>", **{"content-type": "text/html"})
    assert str(caught.value).endswith("a text/html body of 38 bytes, not shown")
    with pytest.raises(MaviBridgeError) as caught:
        read(PUT, 400, b'{"detail": "kind must be one of ...", "echo": "Bearer xyz"}')
    assert "kind must be one of" in str(caught.value)
    assert "xyz" not in str(caught.value)


# -------------------------------------------------------------------------------------------- plans


def drive(plan: Any, answers: list[Any]) -> tuple[Any, list[Any]]:
    """Run a plan with a scripted driver: each step gets the next answer (an exception is thrown in)."""
    steps = Stepper(plan)
    seen = []
    while (step := steps.next()) is not None:
        seen.append(step)
        if isinstance(step, Sleep):
            steps.answer(None)
            continue
        result = answers.pop(0)
        if isinstance(result, Exception):
            steps.fail(result)
        else:
            steps.answer(result)
    return steps.result, seen


def test_a_transient_error_is_retried_with_a_sleep_the_driver_does() -> None:
    down = MaviBridgeUnavailableError("cannot reach the bridge")
    policy = RetryPolicy(max_attempts=3, base_delay=2.0)
    result, steps = drive(plans.find_job("k", policy), [down, down, {"jobs": [{"job_id": "j"}]}])
    assert result == {"job_id": "j"}
    kinds = [type(s).__name__ for s in steps]
    assert kinds == ["Request", "Sleep", "Request", "Sleep", "Request"]
    assert 1.0 <= steps[1].seconds <= 2.0  # the policy's backoff, slept by the driver, not here
    assert 2.0 <= steps[3].seconds <= 4.0


def test_the_attempts_end_with_the_last_error() -> None:
    down = MaviBridgeUnavailableError("cannot reach the bridge")
    with pytest.raises(MaviBridgeUnavailableError):
        drive(plans.find_job("k", RetryPolicy(max_attempts=2, base_delay=0.01)), [down, down])


def test_a_refused_token_is_never_retried() -> None:
    with pytest.raises(MaviBridgeAuthError):
        drive(plans.find_job("k", RetryPolicy()), [MaviBridgeAuthError("401")])


def test_a_malformed_record_is_a_bridge_error() -> None:
    with pytest.raises(MaviBridgeError, match="malformed record"):
        drive(plans.get_callback("j", 0, RetryPolicy()), [{"job_id": "j", "payload": []}])


def test_a_closed_plan_ends_quietly_even_inside_an_attempt() -> None:
    plan = plans.find_job("k", RetryPolicy())
    assert isinstance(next(plan), Request)
    plan.close()  # GeneratorExit thrown inside tenacity's attempt: not retried, not swallowed
