"""The account's rate limit: at most N accepted requests per endpoint in any one-second window.

A sliding log per endpoint, kept by hand because the rule is exact ("any one-second window") and tiny; a
rejected request does not use up the window.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable


class SlidingWindowLimiter:
    """Allows at most ``floor(qps)`` (at least 1) requests per key in any window of ``window`` seconds.

    :param qps: requests per second; fractional values lengthen the window instead (0.5 = 1 per 2 s).
    :param clock: monotonic clock, replaceable in tests.
    """

    def __init__(self, qps: float, clock: Callable[[], float] = time.monotonic) -> None:
        """Store the limit."""
        if qps >= 1:
            self.limit, self.window = math.floor(qps), 1.0
        else:
            self.limit, self.window = 1, 1.0 / qps
        self._clock = clock
        self._log: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Record a request for ``key`` and say whether it is within the limit.

        :param key: the endpoint.
        """
        now = self._clock()
        with self._lock:
            log = self._log.setdefault(key, deque())
            while log and now - log[0] >= self.window:
                log.popleft()
            if len(log) >= self.limit:
                return False
            log.append(now)
            return True
