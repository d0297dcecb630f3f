"""The arithmetic of permits, without I/O: rates, permit intervals, and the slots a process reserved ahead.

A bucket hands out **reservations**: each permit is the next free slot of the bucket, one permit interval
after the previous one (a virtual schedule, as in GCRA). A caller that gets a slot in the future sleeps until
it. So permits are served first come, first served, every permit costs exactly one atomic store operation
(no polling), and a busy client can never starve a light one: the light client's wait is at most the
number of permits already queued ahead of it times the interval.
"""

from __future__ import annotations

import math
import threading
from fractions import Fraction
from typing import NamedTuple

#: The window is this much longer than the limit says. Mavi counts the requests that *arrive* in its own
#: one-second windows; between taking a permit and the request's arrival lie thread scheduling, connection
#: set-up and TLS, which vary by tens of milliseconds (more on a loaded worker). Two permits spaced exactly
#: 1.0 s apart can arrive 0.95 s apart and fall into one window; 10 % gives 100 ms of slack at 1 request/s.
SAFETY_MARGIN = 1.1

#: The share of a window's permits one store round trip may reserve for this process (see
#: :func:`lease_size`). Slots of a lease taken late can put at most one lease of extra permits into a
#: window: 2.5 %, well inside :data:`SAFETY_MARGIN`.
LEASE_SHARE = 0.025


class Rate(NamedTuple):
    """``limit`` permits per ``interval`` milliseconds (the safety margin included).

    :param limit: permits per window.
    :param interval: the window, in milliseconds.
    """

    limit: int
    interval: int

    @property
    def permit_interval_us(self) -> int:
        """Microseconds between two permits of one bucket, rounded up (the strict side)."""
        return max(1, math.ceil(self.interval * 1000 / self.limit))


def rate_for(requests_per_second: float) -> Rate:
    """The rate for a requests-per-second figure, with :data:`SAFETY_MARGIN`.

    ``1`` gives 1 per 1100 ms, ``5`` gives 5 per 1100 ms, ``0.5`` gives 1 per 2200 ms.

    :param requests_per_second: permits per second, > 0.
    """
    if not requests_per_second > 0 or requests_per_second == float("inf"):
        raise ValueError(f"max_requests_per_second must be a number > 0, got {requests_per_second!r}")
    fraction = Fraction(requests_per_second).limit_denominator(1000)
    limit, seconds = fraction.numerator, fraction.denominator
    return Rate(max(1, limit), max(1, round(1000 * seconds * SAFETY_MARGIN)))


def lease_size(rate: Rate) -> int:
    """How many consecutive slots one store round trip reserves for this process.

    One at any rate a Mavi account has (under 80 per window): every permit is its own reservation, served in
    arrival order. Only at high limits (a local emulator, a benchmark) does a process take the next
    :data:`LEASE_SHARE` of a window's slots at once (27.5 ms of the schedule) and hand them to its own
    callers, so the store is not paid once per request (a lease is three numbers, whatever its size). Slots
    the process does not use before the lease ends are lost: a lease can waste budget, and can put at most
    its own size of extra permits into a window (see :class:`Lease`).

    :param rate: the bucket's rate.
    """
    return max(1, int(rate.limit * LEASE_SHARE))


class Lease:
    """Slots of one bucket that this process reserved ahead (see :func:`lease_size`), on the monotonic clock.

    Slot ``i`` of a lease may be used from its own time on, and until the lease ends: so by any moment the
    process has sent no more permits than the schedule gave it, and a window can see at most one lease's
    worth of extra permits (slots taken late). Thread-safe; never does I/O, so the event loop may call it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = 0.0
        self._end = 0.0
        self._left = 0

    def take(self, now: float, interval: float) -> float | None:
        """The moment (monotonic) the caller may send, from a slot already reserved; None when none is left.

        :param now: ``time.monotonic()``.
        :param interval: seconds between two slots.
        """
        with self._lock:
            if self._left <= 0 or now >= self._end:
                return None
            slot = self._next
            self._next += interval
            self._left -= 1
            return max(slot, now)

    def keep(self, first: float, count: int, interval: float) -> float:
        """Record a fresh reservation of ``count`` slots from ``first``; the caller uses the first one.

        :param first: the first slot's moment (monotonic).
        :param count: slots reserved.
        :param interval: seconds between two slots.
        :return: ``first``, the caller's moment to send.
        """
        if count > 1:
            end = first + count * interval
            with self._lock:
                if end > self._end:  # another thread may have stored a later one meanwhile: keep that
                    self._next, self._end, self._left = first + interval, end, count - 1
        return first
