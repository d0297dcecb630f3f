"""The limiter's rate for a requests-per-second figure (a 10 % margin against network jitter)."""

from __future__ import annotations

import pytest

from airflow_provider_mavi.hooks.rate_limit import rate_for


def test_rates():
    one = rate_for(1)
    assert (one.limit, one.interval) == (1, 1100)
    assert (rate_for(5).limit, rate_for(5).interval) == (5, 1100)
    assert (rate_for(0.5).limit, rate_for(0.5).interval) == (1, 2200)
    assert (rate_for(2.5).limit, rate_for(2.5).interval) == (5, 2200)
    for bad in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="must be a number > 0"):
            rate_for(bad)
