"""Benchmark: many waiting MaviJobCallbackTriggers in one event loop against a real bridge.

What a triggerer process pays to hold N deferred Mavi tasks, and how fast a callback reaches its task:

- the real ``MaviJobCallbackTrigger`` class (connection from ``AIRFLOW_CONN_MAVI_DEFAULT``, as in a
  triggerer), N of them in one asyncio loop;
- a real bridge (``mavi-bridge serve`` subprocess, SQLite store in a temp dir);
- callbacks posted by a separate process at a steady rate to the bridge's secret URL, each timed from the
  bridge's 200 (the callback is committed) to the trigger's event (``callback-to-event latency``);
- the benchmark process's CPU time, RSS and TCP sockets to the bridge while the N triggers wait idle.

Usage::

    .venv/bin/python bench/bench_triggers.py                # N = 1,000 and 10,000
    .venv/bin/python bench/bench_triggers.py --waits 1000 --deliveries 300 --rate 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import statistics
import sys
import time
from typing import Any

import psutil

from airflow_provider_mavi.bridge.testing import BridgeServer
from airflow_provider_mavi.hooks.bridge import MaviBridgeHook
from airflow_provider_mavi.triggers.mavi import MaviJobCallbackTrigger

POSTER = r"""
import json, sys, time, httpx
url = sys.argv[1]
with httpx.Client(timeout=30) as client:
    for line in sys.stdin:
        job_id = line.strip()
        if not job_id:
            continue
        body = {"code": 200, "message": "SUCCESS", "task_id": job_id,
                "data": {"asset_id": "im_1", "asset_ch_ids": ["imc_1_0"]}}
        answer = client.post(url, json=body)
        print(job_id, repr(time.time()), answer.status_code, flush=True)
"""


def sockets_to(port: int) -> int:
    """Established TCP connections of this process to ``port``."""
    return sum(
        1
        for conn in psutil.Process().net_connections(kind="tcp")
        if conn.raddr and conn.raddr.port == port and conn.status == psutil.CONN_ESTABLISHED
    )


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100), nearest rank."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


async def scenario(
    bridge: BridgeServer, waits: int, deliveries: int, rate: float, idle: float
) -> dict[str, Any]:
    """Run one size: N waiting triggers, an idle window, then paced callbacks."""
    me = psutil.Process()
    job_ids = [secrets.token_hex(16) for _ in range(waits)]
    events: dict[str, float] = {}
    statuses: dict[str, str] = {}
    deadline = time.time() + 3600

    async def wait_one(job_id: str) -> None:
        async for event in MaviJobCallbackTrigger(job_id=job_id, deadline=deadline).run():
            events[job_id] = time.time()
            statuses[job_id] = event.payload["status"]

    cpu_start = me.cpu_times()
    started = time.monotonic()
    tasks = [asyncio.ensure_future(wait_one(job_id)) for job_id in job_ids]
    clients = [await MaviBridgeHook().shared_client()]  # the one the triggers use

    def waiting() -> int:
        return sum(client.waiting for client in clients)

    def polls() -> int:
        return sum(client.batch_requests for client in clients)

    while waiting() < waits and time.monotonic() - started < 120:  # noqa: ASYNC110 (sampling the client, not waiting on it)
        await asyncio.sleep(0.05)
    setup_seconds = time.monotonic() - started
    setup_cpu = sum(me.cpu_times()[:2]) - sum(cpu_start[:2])

    # Idle: everything waits, nothing arrives.
    await asyncio.sleep(1.0)
    polls_before = polls()
    cpu_before = sum(me.cpu_times()[:2])
    bridge_proc = psutil.Process(bridge.process.pid) if bridge.process else None
    bridge_cpu_before = sum(bridge_proc.cpu_times()[:2]) if bridge_proc else 0.0
    sockets_idle = sockets_to(bridge.port)
    await asyncio.sleep(idle)
    idle_cpu = (sum(me.cpu_times()[:2]) - cpu_before) / idle * 100
    bridge_idle_cpu = (
        (sum(bridge_proc.cpu_times()[:2]) - bridge_cpu_before) / idle * 100 if bridge_proc else 0.0
    )
    idle_polls = polls() - polls_before
    rss_mib = me.memory_info().rss / 2**20

    # Deliveries: a separate process posts callbacks for jobs spread over all N, at a steady rate.
    chosen = random.sample(job_ids, min(deliveries, waits))
    poster = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        POSTER,
        bridge.callback_url,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert poster.stdin is not None
    assert poster.stdout is not None
    committed: dict[str, float] = {}
    max_sockets = sockets_idle

    async def feed() -> None:
        assert poster.stdin is not None
        for job_id in chosen:
            poster.stdin.write(f"{job_id}\n".encode())
            await poster.stdin.drain()
            await asyncio.sleep(1 / rate)
        poster.stdin.close()

    async def read() -> None:
        assert poster.stdout is not None
        async for line in poster.stdout:
            job_id, moment, status = line.decode().split()
            if status == "200":
                committed[job_id] = float(moment)

    cpu_before = sum(me.cpu_times()[:2])
    delivery_started = time.monotonic()
    feeder = asyncio.ensure_future(feed())
    reader = asyncio.ensure_future(read())
    while not feeder.done():
        max_sockets = max(max_sockets, sockets_to(bridge.port))
        await asyncio.sleep(0.5)
    await reader
    await poster.wait()
    grace = time.monotonic() + 30
    while any(job_id not in events for job_id in committed) and time.monotonic() < grace:  # noqa: ASYNC110 (bounded grace period)
        await asyncio.sleep(0.05)
    delivery_seconds = time.monotonic() - delivery_started
    delivery_cpu = (sum(me.cpu_times()[:2]) - cpu_before) / delivery_seconds * 100
    latencies_ms = [(events[j] - committed[j]) * 1000 for j in committed if j in events]
    missing = [j for j in committed if j not in events]

    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for client in clients:
        await client.aclose()
    return {
        "waits": waits,
        "setup_s": round(setup_seconds, 2),
        "setup_cpu_s": round(setup_cpu, 2),
        "idle_cpu_pct": round(idle_cpu, 1),
        "bridge_idle_cpu_pct": round(bridge_idle_cpu, 1),
        "idle_batch_polls": idle_polls,
        "rss_mib": round(rss_mib, 1),
        "sockets_idle": sockets_idle,
        "sockets_max": max_sockets,
        "delivered": len(committed),
        "events": len(latencies_ms),
        "missing_after_30s": len(missing),
        "statuses": sorted(set(statuses.values())),
        "latency_p50_ms": round(statistics.median(latencies_ms), 1) if latencies_ms else None,
        "latency_p99_ms": round(percentile(latencies_ms, 99), 1) if latencies_ms else None,
        "latency_max_ms": round(max(latencies_ms), 1) if latencies_ms else None,
        "delivery_cpu_pct": round(delivery_cpu, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waits", type=int, nargs="+", default=[1000, 10000], help="waiting triggers")
    parser.add_argument("--deliveries", type=int, default=200, help="callbacks posted per size")
    parser.add_argument("--rate", type=float, default=20.0, help="callbacks per second")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds of the idle window")
    args = parser.parse_args()
    with BridgeServer() as bridge:
        os.environ["AIRFLOW_CONN_MAVI_DEFAULT"] = json.dumps(
            {
                "conn_type": "mavi",
                "password": "sk-bench",
                "extra": {"bridge_url": bridge.url, "bridge_token": bridge.token},
            }
        )
        print(f"bridge: {bridge.url} (SQLite), python {sys.version.split()[0]}, cpus {os.cpu_count()}")
        for waits in args.waits:
            result = asyncio.run(scenario(bridge, waits, args.deliveries, args.rate, args.idle))
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
