"""The client-side limit, seen from the server: threads, hooks, the async twin and two processes share it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from airflow_provider_mavi.hooks.mavi import MaviHook
from airflow_provider_mavi.hooks.rate_limit import limiter_path

from .conftest import API_KEY, FakeMavi, connection_json, ok

ASSET = "re_7"
META = {"total": 1, "resource": [{"asset_id": ASSET, "upload_status": "SUCCESS"}]}


def busiest_window(times: list[float], window: float = 0.9) -> int:
    """The most requests the server saw within any ``window`` seconds.

    The limiter spaces permits over 1.1 s windows (a 10 % margin); 0.9 s leaves room for up to 0.2 s of
    scheduling jitter between a permit and the request's arrival on this shared machine. Without the
    limiter every request would land within a few milliseconds.
    """
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t - start < window) for i, start in enumerate(times))


@pytest.fixture
def limited(fake_mavi: FakeMavi, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeMavi:
    monkeypatch.setenv("MAVI_RATE_LIMIT_DIR", str(tmp_path))
    monkeypatch.setenv(
        "AIRFLOW_CONN_MAVI_DEFAULT", connection_json(fake_mavi.base_url, max_requests_per_second=4)
    )
    fake_mavi.route("GET", f"/{ASSET}/metadata", ok(META))
    return fake_mavi


def test_threads_with_their_own_hooks_share_the_limit(limited):
    def work() -> None:
        hook = MaviHook()
        for _ in range(4):
            hook.get_asset_metadata(ASSET)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    times = [s.at for s in limited.seen()]
    assert len(times) == 16
    assert busiest_window(times) <= 4


def test_async_twin_goes_through_the_limit_without_blocking_the_loop(limited):
    async def main() -> tuple[list[float], float]:
        hook = MaviHook()
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
        await asyncio.gather(*(hook.aget_asset_metadata(ASSET) for _ in range(10)))
        done.set()
        await tick
        return gaps, max(gaps)

    _gaps, worst = asyncio.run(main())
    times = [s.at for s in limited.seen()]
    assert len(times) == 10
    assert busiest_window(times) <= 4, sorted(round(t - min(times), 3) for t in times)
    # The loop kept ticking while ten calls waited about two and a half seconds for their permits: a limiter
    # that slept on the loop would stall it for the longest wait. 1 s leaves room for a loaded machine.
    assert worst < 1.0


def test_sync_and_async_share_one_budget(limited):
    def sync_work() -> None:
        hook = MaviHook()
        for _ in range(4):
            hook.get_asset_metadata(ASSET)

    thread = threading.Thread(target=sync_work)
    thread.start()

    async def async_work() -> None:
        hook = MaviHook()
        await asyncio.gather(*(hook.aget_asset_metadata(ASSET) for _ in range(4)))

    asyncio.run(async_work())
    thread.join()
    assert busiest_window([s.at for s in limited.seen()]) <= 4


CHILD = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from airflow_provider_mavi.hooks.mavi import MaviHook
    hook = MaviHook()
    hook.get_settings()
    ready = Path(sys.argv[1])
    (ready / str(os.getpid())).touch()
    while len(list(ready.iterdir())) < 2:
        time.sleep(0.01)
    for _ in range(6):
        hook.get_asset_metadata("re_7")
    """
)


@pytest.mark.slow
def test_two_processes_share_the_limit(limited, tmp_path):
    ready = tmp_path / "ready"
    ready.mkdir()
    env = dict(os.environ)
    children = [
        subprocess.Popen([sys.executable, "-c", CHILD, str(ready)], env=env, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for child in children:
        _, err = child.communicate(timeout=120)
        assert child.returncode == 0, err.decode()[-2000:]
    times = [s.at for s in limited.seen()]
    assert len(times) == 12
    assert busiest_window(times) <= 4


def test_bucket_file_is_named_by_a_hash_never_the_key(tmp_path):
    path = limiter_path("https://mavi.example/serve/api/v2", API_KEY, tmp_path)
    assert API_KEY not in str(path)
    assert "Zq8TOPSECRET" not in str(path)
    assert path.parent == tmp_path
    assert path == limiter_path("https://mavi.example/serve/api/v2/", API_KEY, tmp_path)
    assert path != limiter_path("https://mavi.example/serve/api/v2", API_KEY + "x", tmp_path)
    assert path != limiter_path("https://other.example/serve/api/v2", API_KEY, tmp_path)


def test_the_bucket_is_a_real_sqlite_file_in_the_chosen_dir(limited, tmp_path):
    MaviHook().get_asset_metadata(ASSET)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert any(name.startswith("airflow-mavi-ratelimit-") and name.endswith(".sqlite") for name in files)
    assert all(API_KEY not in name for name in files)
    bucket = next(p for p in tmp_path.iterdir() if p.name.endswith(".sqlite"))
    assert oct(bucket.stat().st_mode & 0o777) == "0o600"


def test_each_permit_is_one_store_round_trip_however_many_wait(limited, monkeypatch):
    """Waiters reserve their slot once and sleep until it: no polling, whatever the crowd."""
    from airflow_provider_mavi.hooks.rate_limit.sqlite_store import SQLitePermitStore

    calls = 0
    original = SQLitePermitStore.reserve

    def counting(self: SQLitePermitStore, key: str, interval_us: int, count: int) -> float:
        nonlocal calls
        calls += 1
        return original(self, key, interval_us, count)

    monkeypatch.setattr(SQLitePermitStore, "reserve", counting)

    async def main() -> None:
        hooks = [MaviHook() for _ in range(12)]  # a triggerer: one hook per trigger, one loop
        await asyncio.gather(*(hook.aget_asset_metadata(ASSET) for hook in hooks))

    asyncio.run(main())
    times = [s.at for s in limited.seen()]
    assert len(times) == 12
    assert busiest_window(times) <= 4
    assert calls == 12


def test_a_planted_symlink_is_refused(limited, tmp_path):
    from airflow_provider_mavi.exceptions import MaviRateLimitStoreError
    from airflow_provider_mavi.hooks.rate_limit import AccountRateLimiter

    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    path = limiter_path("http://planted.example", API_KEY, tmp_path)
    path.symlink_to(victim)
    limiter = AccountRateLimiter("http://planted.example", API_KEY, 1)
    with pytest.raises(MaviRateLimitStoreError, match="MAVI_RATE_LIMIT_DIR"):
        limiter.acquire("metadata")
    assert victim.read_text() == "keep"
