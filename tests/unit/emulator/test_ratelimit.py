"""The rate limit: at most N accepted requests per endpoint in any one-second window."""

from __future__ import annotations

from airflow_provider_mavi.emulator.ratelimit import SlidingWindowLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_one_per_second_per_endpoint():
    clock = Clock()
    limiter = SlidingWindowLimiter(1, clock=clock)
    assert limiter.allow("GET /{asset_id}/metadata")
    assert not limiter.allow("GET /{asset_id}/metadata")
    assert limiter.allow("POST /upload")  # endpoints are separate
    clock.now += 0.999
    assert not limiter.allow("GET /{asset_id}/metadata")
    clock.now += 0.001
    assert limiter.allow("GET /{asset_id}/metadata")


def test_any_window_not_fixed_buckets():
    clock = Clock()
    limiter = SlidingWindowLimiter(3, clock=clock)
    admitted = []
    for step in range(400):
        clock.now = 100 + step * 0.01
        if limiter.allow("k"):
            admitted.append(clock.now)
    for i in range(len(admitted) - 3):
        assert admitted[i + 3] - admitted[i] >= 1.0 - 1e-9
    assert len(admitted) == 12  # 3 per second over 4 seconds


def test_rejections_do_not_use_up_the_window():
    clock = Clock()
    limiter = SlidingWindowLimiter(1, clock=clock)
    assert limiter.allow("k")
    for _ in range(50):
        clock.now += 0.01
        assert not limiter.allow("k")
    clock.now = 101.0
    assert limiter.allow("k")


def test_fractional_qps_lengthens_the_window():
    clock = Clock()
    limiter = SlidingWindowLimiter(0.5, clock=clock)
    assert limiter.allow("k")
    clock.now += 1.5
    assert not limiter.allow("k")
    clock.now += 0.5
    assert limiter.allow("k")
