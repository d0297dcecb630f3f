"""Benchmark: how long a light client waits for a permit while a heavy one hammers the same bucket.

One bucket on a throwaway ``redis-server`` (started here). ``--heavy`` processes (a busy DAG's tasks) take
permits back to back for ``--seconds``; one light process (another DAG) asks for a permit about once a second
and records each wait. Every process has its own limiter and connection, as separate workers would.

Compared in the same run:

- ``mavi``: this provider's limiter (``AccountRateLimiter`` with ``rate_limit_url``): reservations, first
  come, first served;
- ``pyrate``: ``pyrate-limiter``'s ``RedisBucket`` (sliding-window log) behind a blocking ``Limiter``, the
  library the issue suggested: a refused caller sleeps until the window frees, then races the others.

It prints, per limiter: the light client's longest and median wait (seconds, and in permit intervals), its
permits, the heavy processes' permits, the longest wait of any heavy process, the permits granted per second
(from the first grant to the last: the bucket allows the rate ÷ 1.1, its 10 % margin), and the most permits
granted within any one second.

Usage::

    .venv/bin/python bench/bench_limiter_fairness.py                  # 6 heavy processes, 5/s, 60 s each
    .venv/bin/python bench/bench_limiter_fairness.py --heavy 12 --rate 1 --seconds 120
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

API_KEY = "sk-bench-fairness"


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_acquire(kind: str, url: str, rate: float) -> Any:
    """A blocking ``acquire()`` of the bucket ``bench`` for ``kind`` (``mavi`` or ``pyrate``)."""
    from airflow_provider_mavi.hooks.rate_limit import AccountRateLimiter, rate_for

    if kind == "mavi":
        limiter = AccountRateLimiter("http://bench.invalid", API_KEY, rate, url=url)
        limiter.store().reserve(limiter.bucket_key("warm-up"), 1, 1)  # connect now, as pyrate's init does
        return lambda: limiter.acquire("bench")
    import pyrate_limiter
    import redis

    ours = rate_for(rate)
    bucket = pyrate_limiter.RedisBucket.init(
        [pyrate_limiter.Rate(ours.limit, ours.interval)], redis.Redis.from_url(url), "bench-pyrate"
    )
    pyrate = pyrate_limiter.Limiter(bucket)

    def acquire() -> None:
        if not pyrate.try_acquire("bench", blocking=True):
            raise RuntimeError("pyrate-limiter refused a permit")

    return acquire


def worker(kind: str, url: str, rate: float, role: str, start: float, stop: float, out: str) -> None:
    """One process: ``heavy`` takes permits back to back; ``light`` takes one about every second."""
    acquire = make_acquire(kind, url, rate)
    while time.time() < start:
        time.sleep(0.01)
    records: list[tuple[float, float]] = []  # (asked at, granted at), wall clock
    while time.time() < stop:
        asked = time.time()
        acquire()
        records.append((asked, time.time()))
        if role == "light":
            time.sleep(1.0)
    Path(out).write_text(json.dumps(records))
    sys.exit(0)


def busiest(times: list[float], window: float) -> int:
    """The most permits granted within any ``window`` seconds."""
    times = sorted(times)
    best, first = 0, 0
    for last, moment in enumerate(times):
        while moment - times[first] >= window:
            first += 1
        best = max(best, last - first + 1)
    return best


def run(kind: str, url: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """One limiter's run: the heavy processes and the light one, at once."""
    spawn = multiprocessing.get_context("spawn")
    start = time.time() + 5  # time for the interpreters to start
    stop = start + args.seconds
    roles = ["light"] + ["heavy"] * args.heavy
    outs = [workdir / f"{kind}-{index}.json" for index in range(len(roles))]
    processes = [
        spawn.Process(target=worker, args=(kind, url, args.rate, role, start, stop, str(out)))
        for role, out in zip(roles, outs, strict=True)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
        if process.exitcode != 0:
            sys.exit(f"a {kind} worker failed")
    records = [json.loads(out.read_text()) for out in outs]
    light = records[0]
    waits = [granted - asked for asked, granted in light]
    heavy = sum(len(r) for r in records[1:])
    heavy_worst = max((g - a for r in records[1:] for a, g in r), default=0.0)
    granted = [g for r in records for _, g in r]
    return {
        "waits": waits,
        "light": len(light),
        "heavy": heavy,
        "heavy_worst": heavy_worst,
        "per_second": (len(granted) - 1) / (max(granted) - min(granted)),
        "busiest": busiest(granted, 1.0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heavy", type=int, default=6, help="heavy processes (default 6)")
    parser.add_argument("--rate", type=float, default=5.0, help="the bucket's rate per second (default 5)")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each run (default 60)")
    args = parser.parse_args()
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed (bash scripts/system-deps.sh)")
    workdir = Path(tempfile.mkdtemp(prefix="mavi-bench-fairness-"))
    port = free_port()
    redis_server = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(workdir), "--save", "",
         "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(0.5)
        url = f"redis://127.0.0.1:{port}/0"
        from airflow_provider_mavi.hooks.rate_limit import rate_for

        interval = rate_for(args.rate).permit_interval_us / 1e6
        print(
            f"one bucket at {args.rate:g}/s (a permit every {interval:.2f} s), {args.heavy} heavy processes, "
            f"1 light process asking about once a second, {args.seconds:g} s per limiter"
        )
        header = f"{'limiter':8} {'light: longest wait':>27} {'median':>8} {'permits':>8}"
        print(f"{header} {'heavy: permits':>15} {'longest wait':>13} {'permits/s':>10} {'busiest 1 s':>12}")
        for kind in ("mavi", "pyrate"):
            result = run(kind, url, args, workdir)
            waits = result["waits"]
            longest = max(waits)
            line = (
                f"{kind:8} {longest:>8.2f} s = {longest / interval:>4.1f} intervals "
                f"{statistics.median(waits):>6.2f} s {result['light']:>8} {result['heavy']:>15} "
                f"{result['heavy_worst']:>11.2f} s {result['per_second']:>10.2f} {result['busiest']:>12}"
            )
            print(line)
    finally:
        redis_server.terminate()
        redis_server.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
