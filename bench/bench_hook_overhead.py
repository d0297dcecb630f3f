"""Benchmark: what one request through ``MaviHook`` costs over a bare ``requests.Session``, limiter included.

A minimal ASGI app under uvicorn (a separate process, httptools, one worker) answers
``GET /serve/api/v2/{id}/metadata`` with a Mavi envelope. In the same run, interleaved round by round:

- ``bare``: a ``requests.Session`` doing the same GET (the baseline);
- ``hook, local``: ``MaviHook().get_asset_metadata(id)`` with the local SQLite limiter;
- ``hook, redis``: the same with ``rate_limit_url`` on a throwaway ``redis-server`` (started here);
- ``hook, no limiter``: a diagnostic, the hook with a limiter that lets everything through.

The limit is set very high (``--rate``, default 1,000,000 per second), so the limiter never waits and only
its per-permit cost shows. It prints requests per second (the median of the rounds), the ratio to bare,
and the limiters' own cost per permit (one store round trip, and the amortised cost at the high limit).

Usage::

    .venv/bin/python bench/bench_hook_overhead.py                 # 30 rounds of 300 requests per mode
    .venv/bin/python bench/bench_hook_overhead.py --rounds 3 --requests 1000 --no-redis
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

PREFIX = "/serve/api/v2"
ASSET = "re_bench"
API_KEY = "sk-bench-overhead"

SERVER = r"""
import json, sys, uvicorn
entry = {"asset_id": "re_bench", "upload_status": "SUCCESS"}
body = json.dumps({"code": 200, "msg": "success", "success": True, "failed": False,
                   "data": {"total": 1, "resource": [entry]}}).encode()
headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False,
            http="httptools", loop="asyncio", lifespan="off")
"""


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], bool], what: str, timeout: float = 20) -> None:
    """Poll ``check`` until it is true; exit with a message after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.05)
    sys.exit(f"{what} did not start")


def can_connect(port: int) -> bool:
    """Whether something listens on the loopback ``port``."""
    with socket.create_connection(("127.0.0.1", port), 1):
        return True


def connection(base_url: str, rate: float, store_url: str | None) -> str:
    """An ``AIRFLOW_CONN_*`` value: the stand-in server, the high limit, the store."""
    extra: dict[str, Any] = {"max_requests_per_second": rate, "timeout": 30}
    if store_url:
        extra["rate_limit_url"] = store_url
    return json.dumps({"conn_type": "mavi", "host": base_url, "password": API_KEY, "extra": extra})


def rate_of(call: Callable[[], object], count: int) -> float:
    """Calls per second of ``count`` sequential calls."""
    started = time.perf_counter()
    for _ in range(count):
        call()
    return count / (time.perf_counter() - started)


def make_hook(conn_id: str) -> Any:
    """A ``MaviHook`` on ``conn_id`` whose limiter follows the connection's rate-limit extras."""
    from airflow_provider_mavi.hooks.mavi import MaviHook
    from airflow_provider_mavi.hooks.rate_limit import AccountRateLimiter

    hook = MaviHook(conn_id)
    if hasattr(AccountRateLimiter, "from_settings"):  # build the limiter as the dispatcher does
        hook._limiter = AccountRateLimiter.from_settings(hook.get_settings())
    return hook


class NoLimiter:
    """A limiter that lets everything through: shows what the hook costs without any limiter."""

    def acquire(self, bucket: str = "account") -> None:
        """Nothing to wait for.

        :param bucket: ignored.
        """

    async def aacquire(self, bucket: str = "account") -> None:
        """Nothing to wait for.

        :param bucket: ignored.
        """


def permit_costs(rate: float, store_url: str | None) -> tuple[float, float]:
    """Microseconds per permit: one store round trip, and ``acquire()`` at the high limit (amortised)."""
    from airflow_provider_mavi.hooks.rate_limit import AccountRateLimiter

    limiter = AccountRateLimiter("http://bench.invalid", API_KEY, rate, url=store_url)
    limiter.acquire("bench")
    store = limiter.store()
    count = 2000
    round_trip = 1e6 / rate_of(lambda: store.reserve(limiter.bucket_key("raw"), 1, 1), count)
    acquire = 1e6 / rate_of(lambda: limiter.acquire("bench"), count * 5)
    return round_trip, acquire


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="interleaved rounds (default 30)")
    parser.add_argument("--requests", type=int, default=300, help="requests per mode and round (default 300)")
    parser.add_argument("--rate", type=float, default=1e6, help="max_requests_per_second (default 1e6)")
    parser.add_argument("--no-redis", action="store_true", help="skip the Redis limiter")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="mavi-bench-overhead-"))
    os.environ["MAVI_RATE_LIMIT_DIR"] = str(workdir / "limiter")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        port = free_port()
        processes.append(subprocess.Popen([sys.executable, "-c", SERVER, str(port)]))
        origin = f"http://127.0.0.1:{port}"
        url = f"{origin}{PREFIX}/{ASSET}/metadata"
        wait_until(lambda: requests.get(url, timeout=1).ok, "the uvicorn stand-in")

        store_url = None
        if not args.no_redis:
            binary = shutil.which("redis-server")
            if binary is None:
                sys.exit("redis-server is not installed (bash scripts/system-deps.sh), or pass --no-redis")
            redis_port = free_port()
            command = [binary, "--bind", "127.0.0.1", "--port", str(redis_port), "--dir", str(workdir)]
            command += ["--save", "", "--appendonly", "no"]
            processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL))
            store_url = f"redis://127.0.0.1:{redis_port}/0"
            wait_until(lambda: can_connect(redis_port), "redis")

        os.environ["AIRFLOW_CONN_MAVI_LOCAL"] = connection(origin + PREFIX, args.rate, None)
        session = requests.Session()
        modes: dict[str, Callable[[], object]] = {
            "bare requests.Session": lambda: session.get(url, timeout=30).json(),
            "MaviHook, local SQLite limiter": lambda: local_hook.get_asset_metadata(ASSET),
        }
        local_hook = make_hook("mavi_local")
        bare_hook = make_hook("mavi_local")
        bare_hook._limiter = NoLimiter()  # diagnostic: the hook's own cost
        modes["MaviHook, no limiter (diagnostic)"] = lambda: bare_hook.get_asset_metadata(ASSET)
        if store_url:
            os.environ["AIRFLOW_CONN_MAVI_REDIS"] = connection(origin + PREFIX, args.rate, store_url)
            redis_hook = make_hook("mavi_redis")
            modes["MaviHook, Redis limiter"] = lambda: redis_hook.get_asset_metadata(ASSET)
        for call in modes.values():  # warm up: connections, connection lookup, stores
            rate_of(call, 50)
        if store_url:
            import redis

            if not redis.Redis.from_url(store_url).keys("mavi:ratelimit:*"):
                sys.exit("the hook did not use the Redis limiter: nothing to measure")

        results: dict[str, list[float]] = {name: [] for name in modes}
        cpu: dict[str, list[float]] = {name: [] for name in modes}
        names = list(modes)
        for round_ in range(args.rounds):  # short rounds, the order rotated: load from others hits all modes
            for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                started = time.process_time()
                results[name].append(rate_of(modes[name], args.requests))
                cpu[name].append((time.process_time() - started) / args.requests * 1e6)

        bare_rates = results["bare requests.Session"]
        print(
            f"{args.rounds} rounds x {args.requests} sequential GETs per mode, limit {args.rate:g}/s, "
            f"Python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.1f}"
        )
        print("x bare: the median over rounds of (this mode's rate / bare's rate in the same round);")
        print("best: the best round of this mode / the best round of bare (the least disturbed rounds);")
        print("client CPU: this process's CPU time per request (the server and Redis run elsewhere)")
        header = f"{'mode':36} {'req/s (median)':>15} {'min..max':>16} {'us/request':>11} {'x bare':>7}"
        print(f"{header} {'best':>6} {'client CPU us/req':>18}")
        for name, rates in results.items():
            median = statistics.median(rates)
            spread = f"{min(rates):,.0f}..{max(rates):,.0f}"
            ratio = statistics.median(rate / bare for rate, bare in zip(rates, bare_rates, strict=True))
            line = f"{name:36} {median:>15,.0f} {spread:>16} {1e6 / median:>11.0f} {ratio:>7.2f}"
            best = max(rates) / max(bare_rates)
            print(f"{line} {best:>6.2f} {statistics.median(cpu[name]):>18.0f}")

        print("\nlimiter alone, microseconds per permit (one store round trip; acquire() at the high limit):")
        for label, store in (("local SQLite", None), ("Redis", store_url)):
            if label == "Redis" and not store:
                continue
            try:
                round_trip, acquire = permit_costs(args.rate, store)
            except (TypeError, AttributeError):  # a provider version before the per-endpoint limiter
                print(f"  {label:14} not measurable on this version")
                continue
            print(f"  {label:14} round trip {round_trip:7.1f}   acquire() {acquire:7.1f}")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
