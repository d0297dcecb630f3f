"""Buckets seen from the server: one per endpoint (or one for the account), fair to light clients.

Each test hammers a real loopback server through real limiters, on the local file and on the cluster stores,
and counts the requests that arrived in windows, with generous margins (this machine is shared).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest
import requests

from airflow_provider_mavi.hooks.rate_limit import AccountRateLimiter, lease_size, rate_for

from ..conftest import FakeMavi, ok
from .conftest import API_KEY, busiest_window, count_in

RATE = 4.0  # per bucket; permits 0.275 s apart with the 10 % margin
INTERVAL = 1.1 / RATE
META = {"total": 1, "resource": [{"asset_id": "re_7", "upload_status": "SUCCESS"}]}


@pytest.fixture(params=["local", "redis", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path) -> str | None:
    """The local file (in a fresh directory), then each cluster store."""
    monkeypatch.setenv("MAVI_RATE_LIMIT_DIR", str(tmp_path / "limiter"))
    if request.param == "local":
        return None
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
def server(fake_mavi: FakeMavi) -> FakeMavi:
    for path in ("/re_7/metadata", "/re_7/download"):
        fake_mavi.route("GET", path, ok(META))
    return fake_mavi


def hammer(
    limiter: AccountRateLimiter, server: FakeMavi, plan: dict[str, str], threads: int, seconds: float
) -> None:
    """``threads`` threads per (bucket, path) of ``plan``, each taking permits and sending for a while."""
    stop = time.monotonic() + seconds

    def work(bucket: str, path: str) -> None:
        session = requests.Session()
        while time.monotonic() < stop:
            limiter.acquire(bucket)
            session.get(server.base_url + path, timeout=10)

    workers = [
        threading.Thread(target=work, args=(bucket, path))
        for bucket, path in plan.items()
        for _ in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


PLAN = {"metadata": "/re_7/metadata", "download": "/re_7/download"}


@pytest.mark.slow
def test_two_endpoints_hammered_at_once_each_get_their_own_rate(server, any_store):
    limiter = AccountRateLimiter("http://mavi.test", API_KEY, RATE, url=any_store)
    hammer(limiter, server, PLAN, threads=2, seconds=5)
    window = 4.0
    for path in PLAN.values():
        times = [s.at for s in server.seen("GET", path)]
        got = count_in(times, min(times), window)
        # 1 + 4.0 / 0.275 = 15 permits fit; at least 0.8 of the nominal 4/s must arrive
        assert got >= 0.8 * RATE * window, (path, got)
        assert busiest_window(times) <= RATE, path  # and never more than the bucket allows


@pytest.mark.slow
def test_account_scope_makes_two_endpoints_share_one_bucket(server, any_store):
    limiter = AccountRateLimiter("http://mavi.test", API_KEY, RATE, scope="account", url=any_store)
    hammer(limiter, server, PLAN, threads=2, seconds=3)
    times = [s.at for s in server.seen("GET")]
    assert busiest_window(times) <= RATE  # both endpoints together stay within one bucket
    window = 2.5
    assert count_in(times, min(times), window) <= 1 + window / INTERVAL + 1
    assert all(server.seen("GET", path) for path in PLAN.values())  # both got some


@pytest.mark.slow
def test_a_light_client_is_not_starved_by_a_heavy_one(any_store):
    """Six threads of a busy DAG hammer a bucket; a light task's permits come after at most the queue."""
    limiter = AccountRateLimiter("http://mavi.test", API_KEY, RATE, url=any_store)
    stop = threading.Event()
    heavy_permits = 0
    lock = threading.Lock()

    def heavy() -> None:
        nonlocal heavy_permits
        other = AccountRateLimiter("http://mavi.test", API_KEY, RATE, url=any_store)  # its own hook
        while not stop.is_set():
            other.acquire("metadata")
            with lock:
                heavy_permits += 1

    threads = [threading.Thread(target=heavy) for _ in range(6)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.0)  # the queue is full
        waits = []
        for _ in range(4):
            started = time.monotonic()
            limiter.acquire("metadata")
            waits.append(time.monotonic() - started)
            time.sleep(0.2)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    # First come, first served: at most 6 heavy permits are queued ahead, so a wait is about 7 intervals
    # (1.9 s). Polling limiters give the light client 1 chance in 7 at each slot, and no bound at all.
    assert max(waits) < 7 * INTERVAL + 1.5, waits
    assert heavy_permits >= 10  # the heavy one was really hammering


def test_sync_and_async_callers_share_one_bucket(server, any_store):
    limiter = AccountRateLimiter("http://mavi.test", API_KEY, RATE, url=any_store)
    url = server.base_url + "/re_7/metadata"

    def sync_work() -> None:
        session = requests.Session()
        for _ in range(4):
            limiter.acquire("metadata")
            session.get(url, timeout=10)

    async def async_work() -> float:
        import httpx

        gaps: list[float] = []
        done = asyncio.Event()

        async def ticker() -> None:
            last = time.monotonic()
            while not done.is_set():
                await asyncio.sleep(0.01)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        tick = asyncio.create_task(ticker())
        other = AccountRateLimiter("http://mavi.test", API_KEY, RATE, url=any_store)  # a trigger's hook
        async with httpx.AsyncClient() as client:

            async def one() -> None:
                await other.aacquire("metadata")
                await client.get(url)

            await asyncio.gather(*(one() for _ in range(4)))
        done.set()
        await tick
        return max(gaps)

    thread = threading.Thread(target=sync_work)
    thread.start()
    worst_gap = asyncio.run(async_work())
    thread.join()
    times = [s.at for s in server.seen("GET")]
    assert len(times) == 8
    assert busiest_window(times) <= RATE
    assert worst_gap < 0.5  # the event loop kept ticking while its four callers waited about a second


def test_high_rates_reserve_ahead_without_exceeding_the_schedule(any_store):
    """At a limit no Mavi account has (a local emulator, a benchmark), one round trip serves many permits."""
    rate = 2000.0
    limiter = AccountRateLimiter("http://mavi.test", API_KEY, rate, url=any_store)
    calls = 0
    store = limiter.store()
    original: Callable[[str, int, int], float] = store.reserve

    def counting(key: str, interval_us: int, count: int) -> float:
        nonlocal calls
        calls += 1
        return original(key, interval_us, count)

    store.reserve = counting  # type: ignore[method-assign]
    try:
        stamps: list[float] = []
        lock = threading.Lock()

        def work() -> None:
            for _ in range(300):
                limiter.acquire("metadata")
                with lock:
                    stamps.append(time.monotonic())

        threads = [threading.Thread(target=work) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        del store.reserve
    lease = lease_size(rate_for(rate))  # 50 slots per round trip
    assert len(stamps) == 1200
    assert calls < 1200 / 5
    stamps.sort()
    window = 0.3
    allowed = window * rate / 1.1 + 2 * lease  # the schedule, plus a lease of late slots (and jitter)
    assert max(sum(1 for t in stamps[i:] if t - s < window) for i, s in enumerate(stamps)) <= allowed
