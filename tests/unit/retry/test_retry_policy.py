"""The one retry engine: waits, stops, Retry-After, deadlines, serialisation; sync and async alike."""

from __future__ import annotations

import asyncio
import random

import pytest

from airflow_provider_mavi.retry import RetryPolicy, parse_retry_after, retry_after_of


class Transient(Exception):
    def __init__(self, retry_after: float | None = None) -> None:
        super().__init__("transient")
        self.retry_after = retry_after


class Final(Exception):
    pass


def run_sync(policy: RetryPolicy, outcomes: list[BaseException | str], **kwargs):
    slept: list[float] = []
    calls = iter(outcomes)

    def attempt() -> str:
        outcome = next(calls)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    retrying = policy.retrying(
        retry_on=lambda e: isinstance(e, Transient), sleep=slept.append, rng=random.Random(1), **kwargs
    )
    try:
        result: object = retrying(attempt)
    except BaseException as error:
        result = error
    return result, slept, retrying.statistics["attempt_number"]


def test_retries_until_success_with_growing_jittered_backoff() -> None:
    policy = RetryPolicy(max_attempts=4, base_delay=1.0, max_delay=30.0)
    result, slept, attempts = run_sync(policy, [Transient(), Transient(), Transient(), "ok"])
    assert result == "ok"
    assert attempts == 4
    assert 0.5 <= slept[0] <= 1.0
    assert 1.0 <= slept[1] <= 2.0
    assert 2.0 <= slept[2] <= 4.0


def test_stops_after_max_attempts_and_reraises_the_last_error() -> None:
    error = Transient()
    result, slept, attempts = run_sync(RetryPolicy(max_attempts=2), [Transient(), error, "never"])
    assert result is error
    assert attempts == 2
    assert len(slept) == 1


def test_one_attempt_sends_once() -> None:
    policy = RetryPolicy().with_attempts(1)
    result, slept, attempts = run_sync(policy, [Transient(), "never"])
    assert isinstance(result, Transient)
    assert attempts == 1
    assert slept == []


def test_not_retryable_error_is_raised_at_once() -> None:
    error = Final()
    result, slept, attempts = run_sync(RetryPolicy(max_attempts=5), [error, "never"])
    assert result is error
    assert attempts == 1
    assert slept == []


def test_retry_after_is_honoured_instead_of_backoff() -> None:
    result, slept, _ = run_sync(RetryPolicy(), [Transient(retry_after=7.0), "ok"])
    assert result == "ok"
    assert slept == [7.0]


def test_retry_after_over_the_cap_ends_the_retries() -> None:
    error = Transient(retry_after=500.0)
    result, slept, attempts = run_sync(RetryPolicy(max_retry_after=120.0), [error, "never"])
    assert result is error
    assert attempts == 1
    assert slept == []


def test_attempts_per_error() -> None:
    class Ambiguous(Transient):
        pass

    policy = RetryPolicy(max_attempts=5)
    result, _, attempts = run_sync(
        policy,
        [Ambiguous(), Ambiguous(), "never"],
        attempts=lambda e: 2 if isinstance(e, Ambiguous) else 5,
    )
    assert isinstance(result, Ambiguous)
    assert attempts == 2


def test_deadline_cuts_the_wait_and_stops() -> None:
    now = [1000.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    def attempt() -> None:
        raise Transient()

    retrying = RetryPolicy(base_delay=4.0, max_delay=4.0).retrying(
        retry_on=lambda e: True, attempts=None, deadline=1010.0, sleep=sleep, clock=lambda: now[0]
    )
    with pytest.raises(Transient):
        retrying(attempt)
    assert now[0] == pytest.approx(1010.0)
    assert sum(slept) == pytest.approx(10.0)


async def test_async_twin_makes_the_same_decisions() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        await asyncio.sleep(0)

    outcomes = iter([Transient(retry_after=3.0), Transient(), "ok"])
    retrying = RetryPolicy(max_attempts=3).aretrying(
        retry_on=lambda e: isinstance(e, Transient), sleep=sleep, rng=random.Random(1)
    )
    result = None
    async for attempt in retrying:
        with attempt:
            outcome = next(outcomes)
            if isinstance(outcome, BaseException):
                raise outcome
            result = outcome
    assert result == "ok"
    assert slept[0] == 3.0
    assert 1.0 <= slept[1] <= 2.0


def test_json_round_trip_and_params() -> None:
    policy = RetryPolicy.from_params(retry_attempts=5, retry_delay=0.25)
    assert policy.max_attempts == 5
    assert policy.base_delay == 0.25
    assert RetryPolicy.from_json(policy.to_json()) == policy
    assert RetryPolicy.from_json(None) == RetryPolicy()
    with pytest.raises(ValueError, match="Unknown retry policy fields: surprise"):
        RetryPolicy.from_json({"surprise": 1})


@pytest.mark.parametrize(
    "kwargs",
    [{"max_attempts": 0}, {"limit_attempts": -1}, {"base_delay": -1.0}, {"max_delay": float("inf")}],
)
def test_invalid_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_parse_retry_after() -> None:
    assert parse_retry_after("5") == 5.0
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("nan") is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == pytest.approx(10.0)
    assert retry_after_of(Transient(retry_after=2.0)) == 2.0
    assert retry_after_of(ValueError()) is None
