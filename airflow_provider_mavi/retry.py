"""The one retry engine of the provider: a :class:`RetryPolicy` builds tenacity ``Retrying`` and
``AsyncRetrying`` objects, so every client retries the same way with the same settings.

Every client uses it: the Mavi hook (sync and async), the bridge hook, the triggers' handling of transient
bridge errors, and the bridge's relay. What *may* be retried is each client's own predicate (for Mavi:
:func:`airflow_provider_mavi.envelope.is_retryable`, which keeps the submit-safe rule); *how long to wait* and
*when to stop* live here only:

- the wait honours ``Retry-After`` (an exception's ``retry_after`` attribute, in seconds, already parsed
  from seconds or an HTTP date by :func:`parse_retry_after`) up to ``max_retry_after``; a longer one ends the
  retries;
- otherwise it is capped exponential backoff with jitter: uniform in [half, full] of
  ``base_delay * 2 ** (attempt - 1)``, at most ``max_delay``;
- it stops after ``max_attempts`` attempts (or the count the caller's ``attempts`` gives for that error,
  e.g. ``limit_attempts`` for the ambiguous 400), or at an absolute ``deadline``, whichever comes first.

Nothing here does I/O of its own: the sleeps are ``time.sleep`` / ``asyncio.sleep`` (replaceable in tests).
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import tenacity

if TYPE_CHECKING:
    import logging

__all__ = ["AttemptsFor", "RetryPolicy", "log_retry", "parse_retry_after", "retry_after_of"]

#: How many attempts an error allows: a fixed number, None (until the deadline), or a function of the error.
AttemptsFor = int | None | Callable[[BaseException], "int | None"]


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date); None when absent or invalid.

    :param value: the header value.
    :param now: the current time, epoch seconds (``time.time()`` when omitted).
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - (time.time() if now is None else now)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def retry_after_of(error: BaseException | None) -> float | None:
    """The ``retry_after`` seconds an error carries (set by the client that parsed the answer), if any.

    :param error: the exception of the failed attempt.
    """
    value = getattr(error, "retry_after", None)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return max(0.0, float(value))


@dataclass(frozen=True)
class RetryPolicy:
    """How many times and how long to retry; builds the tenacity objects every client uses.

    :param max_attempts: attempts in all (at least 1) for reads, 429, 5xx and transport failures.
    :param limit_attempts: attempts in all when Mavi answers the ambiguous 400 "Request has exceeded the
        limit." (it can also mean a bad request, so it is bounded on its own).
    :param base_delay: first backoff in seconds; it doubles each attempt.
    :param max_delay: cap of one backoff in seconds.
    :param max_retry_after: the longest ``Retry-After`` honoured; a longer one ends the retries.
    """

    max_attempts: int = 3
    limit_attempts: int = 3
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        for name in ("max_attempts", "limit_attempts"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number >= 1, got {value!r}")
        for name in ("base_delay", "max_delay", "max_retry_after"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
                raise ValueError(f"{name} must be a finite number of seconds >= 0, got {value!r}")

    # ---------------------------------------------------------------------------------- building it

    @classmethod
    def from_params(cls, retry_attempts: int | None = None, retry_delay: float | None = None) -> RetryPolicy:
        """The policy of an operator's ``retry_attempts`` / ``retry_delay`` (None keeps the default).

        :param retry_attempts: attempts in all for a failed request (and for the ambiguous 400).
        :param retry_delay: the first backoff in seconds.
        """
        policy = cls()
        if retry_attempts is not None:
            policy = policy.with_attempts(retry_attempts)
        if retry_delay is not None:
            policy = replace(policy, base_delay=float(retry_delay))
        return policy

    def with_attempts(self, attempts: int) -> RetryPolicy:
        """This policy with ``attempts`` attempts in all (``1``: no retry at all, e.g. ``test_connection``).

        :param attempts: attempts in all, at least 1.
        """
        if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
            raise ValueError(f"attempts must be a whole number >= 1, got {attempts!r}")
        return replace(self, max_attempts=attempts, limit_attempts=min(attempts, self.limit_attempts))

    def to_json(self) -> dict[str, Any]:
        """The policy as JSON primitives (for trigger kwargs)."""
        return {
            "max_attempts": self.max_attempts,
            "limit_attempts": self.limit_attempts,
            "base_delay": self.base_delay,
            "max_delay": self.max_delay,
            "max_retry_after": self.max_retry_after,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> RetryPolicy:
        """Re-build a policy from :meth:`to_json` (None or ``{}``: the default policy).

        :param data: the JSON object.
        """
        if not data:
            return cls()
        known = {key: data[key] for key in cls().to_json() if key in data}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"Unknown retry policy fields: {', '.join(unknown)}")
        return cls(**known)

    # ------------------------------------------------------------------------------------ deciding

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Capped exponential backoff with jitter: uniform in [half, full] of ``base * 2**(attempt-1)``.

        :param attempt: the attempt that just failed, from 1.
        :param rng: a random source (tests pass a seeded one).
        """
        full = min(self.max_delay, self.base_delay * (2 ** min(max(0, attempt - 1), 62)))
        return (rng or random).uniform(full / 2, full)

    def delay(self, error: BaseException | None, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after a failed attempt: its ``Retry-After`` (capped), else :meth:`backoff`.

        :param error: the exception of the failed attempt.
        :param attempt: the attempt that just failed, from 1.
        :param rng: a random source.
        """
        retry_after = retry_after_of(error)
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        return self.backoff(attempt, rng)

    def exhausted(self, error: BaseException | None, attempt: int, attempts: AttemptsFor = None) -> bool:
        """True when no attempt may follow ``attempt``.

        :param error: the exception of the failed attempt.
        :param attempt: the attempt that just failed, from 1.
        :param attempts: how many attempts this error allows (default: ``max_attempts``; None: unbounded).
        """
        limit = attempts(error) if callable(attempts) and error is not None else attempts
        if callable(limit):
            limit = self.max_attempts
        if limit is not None and attempt >= limit:
            return True
        retry_after = retry_after_of(error)
        return retry_after is not None and retry_after > self.max_retry_after

    # --------------------------------------------------------------------------------- tenacity

    def retrying(
        self,
        *,
        retry_on: Callable[[BaseException], bool],
        attempts: AttemptsFor | str = "policy",
        deadline: float | None = None,
        before_sleep: Callable[[tenacity.RetryCallState], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> tenacity.Retrying:
        """A tenacity ``Retrying`` for blocking code.

        :param retry_on: whether an exception may be retried at all (the client's own predicate).
        :param attempts: attempts this error allows: ``"policy"`` (``max_attempts``), a number, None
            (until ``deadline``), or a function of the exception.
        :param deadline: absolute epoch seconds after which no attempt starts; waits are cut to it.
        :param before_sleep: called before each wait (log the retry there).
        :param sleep: the sleep function.
        :param clock: the clock the deadline is read with.
        :param rng: a random source for the jitter.
        """
        return tenacity.Retrying(
            sleep=sleep, **self._settings(retry_on, attempts, deadline, before_sleep, clock, rng)
        )

    def aretrying(
        self,
        *,
        retry_on: Callable[[BaseException], bool],
        attempts: AttemptsFor | str = "policy",
        deadline: float | None = None,
        before_sleep: Callable[[tenacity.RetryCallState], None] | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> tenacity.AsyncRetrying:
        """A tenacity ``AsyncRetrying`` with the same decisions as :meth:`retrying` (``asyncio.sleep``).

        :param retry_on: whether an exception may be retried at all.
        :param attempts: attempts this error allows (see :meth:`retrying`).
        :param deadline: absolute epoch seconds after which no attempt starts.
        :param before_sleep: called before each wait.
        :param sleep: the async sleep function.
        :param clock: the clock the deadline is read with.
        :param rng: a random source for the jitter.
        """
        return tenacity.AsyncRetrying(
            sleep=sleep, **self._settings(retry_on, attempts, deadline, before_sleep, clock, rng)
        )

    def _settings(
        self,
        retry_on: Callable[[BaseException], bool],
        attempts: AttemptsFor | str,
        deadline: float | None,
        before_sleep: Callable[[tenacity.RetryCallState], None] | None,
        clock: Callable[[], float],
        rng: random.Random | None,
    ) -> dict[str, Any]:
        limit: AttemptsFor = self.max_attempts if attempts == "policy" else attempts  # type: ignore[assignment]

        def wait(state: tenacity.RetryCallState) -> float:
            seconds = self.delay(_error_of(state), state.attempt_number, rng)
            if deadline is not None:
                seconds = max(0.0, min(seconds, deadline - clock()))
            return seconds

        def stop(state: tenacity.RetryCallState) -> bool:
            if self.exhausted(_error_of(state), state.attempt_number, limit):
                return True
            return deadline is not None and clock() >= deadline

        return {
            "retry": tenacity.retry_if_exception(retry_on),
            "wait": wait,
            "stop": stop,
            "before_sleep": before_sleep,
            "reraise": True,
        }


def _error_of(state: tenacity.RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome is not None and state.outcome.failed else None


def log_retry(
    logger: logging.Logger | logging.LoggerAdapter[Any], label: str, attempts: int | None = None
) -> Callable[[tenacity.RetryCallState], None]:
    """A ``before_sleep`` that logs one warning per retry: what failed (class name only), attempt, wait.

    The exception's message is left out on purpose: it may hold a URL or an answer body.

    :param logger: where to log.
    :param label: what is retried, e.g. ``POST /video/extract-frames`` (ids only, never secrets).
    :param attempts: the attempts allowed, shown as "attempt 2 of 3" (None: not shown).
    """

    def before_sleep(state: tenacity.RetryCallState) -> None:
        error = _error_of(state)
        what = getattr(error, "summary", None) or type(error).__name__
        of = f" of {attempts}" if attempts else ""
        logger.warning(
            "%s failed (%s); attempt %d%s, retrying in %.1f s",
            label, what, state.attempt_number, of, state.upcoming_sleep,
        )  # fmt: skip

    return before_sleep
