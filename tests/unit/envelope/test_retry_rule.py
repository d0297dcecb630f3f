"""The retry decision for Mavi: the submit-safe predicate, attempts per error, Retry-After and backoff, and
the errors that say whether a job may exist. The engine itself (tenacity) is tested in tests/unit/retry."""

from __future__ import annotations

import random
import time
from email.utils import formatdate

import pytest

from airflow_provider_mavi.envelope import (
    TransportFailure,
    allowed_attempts,
    final_error,
    is_retryable,
    transport_error,
)
from airflow_provider_mavi.exceptions import (
    MaviAuthenticationError,
    MaviBadRequestError,
    MaviInsufficientBalanceError,
    MaviNotFoundError,
    MaviRateLimitError,
    MaviServerError,
    MaviWebhookNotConfiguredError,
)
from airflow_provider_mavi.retry import RetryPolicy, parse_retry_after

SUBMIT = "POST /video/extract-frames"
READ = "GET /re_1/metadata"


def lost(creates: bool, failure: TransportFailure, attempts: int = 1):
    label = SUBMIT if creates else READ
    return transport_error(label, creates=creates, failure=failure, detail="X", attempts=attempts)


def answered(creates: bool, error):
    return final_error(error, creates=creates)  # as the client raises an answer's error


@pytest.mark.parametrize(
    ("creates", "error", "expected"),
    [
        (False, lost(False, TransportFailure.NOT_SENT), True),
        (False, lost(False, TransportFailure.TIMEOUT), True),
        (False, lost(False, TransportFailure.BROKEN), True),
        (True, lost(True, TransportFailure.NOT_SENT), True),
        (True, lost(True, TransportFailure.TIMEOUT), False),
        (True, lost(True, TransportFailure.BROKEN), False),
        (False, MaviRateLimitError("x", status=429), True),
        (True, MaviRateLimitError("x", status=429), True),
        (True, MaviRateLimitError("x", status=400, ambiguous=True), True),
        (False, answered(False, MaviServerError("x", status=503)), True),
        (True, answered(True, MaviServerError("x", status=503)), False),
        (True, MaviServerError("x", status=503), False),  # even unmarked: a submit never repeats on 5xx
        (False, MaviServerError("no envelope", status=200), False),
        (False, MaviAuthenticationError("x", status=401), False),
        (False, MaviInsufficientBalanceError("x", status=402), False),
        (True, MaviWebhookNotConfiguredError("x", status=400), False),
        (False, MaviBadRequestError("x", status=400), False),
        (False, MaviNotFoundError("x", status=400), False),
        (False, ValueError("not Mavi's"), False),
        (False, OSError("the file changed"), False),
    ],
)
def test_the_retry_predicate(creates, error, expected):
    assert is_retryable(error, creates=creates) is expected


def test_attempts_per_error_and_retry_after():
    policy = RetryPolicy(max_attempts=3, limit_attempts=2, base_delay=1, max_delay=30, max_retry_after=60)
    attempts = allowed_attempts(policy)
    limit = MaviRateLimitError("x", status=400, ambiguous=True)
    plain = MaviRateLimitError("x", status=429)
    assert not policy.exhausted(limit, 1, attempts)
    assert policy.exhausted(limit, 2, attempts)
    assert not policy.exhausted(plain, 2, attempts)
    assert policy.exhausted(plain, 3, attempts)
    plain.retry_after = 7.0
    assert policy.delay(plain, 1) == 7.0
    plain.retry_after = 600.0  # longer than max_retry_after: give up
    assert policy.exhausted(plain, 1, attempts)


def test_one_attempt_allows_no_retry_for_any_error():
    policy = RetryPolicy(max_attempts=5, limit_attempts=4).with_attempts(1)
    attempts = allowed_attempts(policy)
    for error in (MaviServerError("x", status=503), MaviRateLimitError("x", status=400, ambiguous=True)):
        assert policy.exhausted(error, 1, attempts)


def test_backoff_is_exponential_with_jitter_and_capped():
    policy = RetryPolicy(base_delay=1, max_delay=5)
    rng = random.Random(7)
    for attempt, full in [(1, 1), (2, 2), (3, 4), (4, 5), (9, 5)]:
        delays = {policy.backoff(attempt, rng) for _ in range(20)}
        assert all(full / 2 <= d <= full for d in delays)
        assert len(delays) > 1  # jittered


def test_parse_retry_after():
    now = time.time()
    assert parse_retry_after("3", now) == 3.0
    assert parse_retry_after(" 1.5 ", now) == 1.5
    assert parse_retry_after("-4", now) == 0.0
    assert 9 <= parse_retry_after(formatdate(now + 10, usegmt=True), now) <= 10  # type: ignore[operator]
    assert parse_retry_after(formatdate(now - 10, usegmt=True), now) == 0.0
    for bad in (None, "", "soon", "nan", "inf"):
        assert parse_retry_after(bad, now) is None


def test_policy_checks_itself():
    with pytest.raises(ValueError, match=">= 1"):
        RetryPolicy(max_attempts=0)


def test_transport_and_final_errors_say_whether_a_job_may_exist():
    timeout = lost(True, TransportFailure.TIMEOUT)
    assert timeout.outcome_unknown
    assert "NOT resubmitted" in str(timeout)
    assert "The request was sent" in str(timeout)
    refused = lost(True, TransportFailure.NOT_SENT, attempts=3)
    assert not refused.outcome_unknown
    assert "after 3 attempts" in str(refused)
    assert "Could not connect to Mavi for POST /video/extract-frames" in str(refused)
    assert not lost(False, TransportFailure.TIMEOUT, attempts=3).outcome_unknown
    assert "after 1 attempt (X)" in str(lost(False, TransportFailure.BROKEN))
    five = final_error(MaviServerError("Mavi server error (HTTP 502).", status=502), creates=True)
    assert five.outcome_unknown
    assert "NOT resubmitted" in str(five)
    assert not final_error(MaviServerError("x", status=502), creates=False).outcome_unknown
    bad = MaviBadRequestError("x", status=400)
    assert final_error(bad, creates=True) is bad
