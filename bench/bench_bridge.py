"""
Benchmark of the webhook bridge: durable callbacks per second and acknowledgement latency (SQLite and
PostgreSQL) beside a no-op endpoint on the same server, and wake-up latency with 1, 100 and 1,000 waits.

    .venv/bin/python bench/bench_bridge.py [--callbacks 4000] [--connections 64] [--rounds 4] [--no-postgres]
                                           [--no-wakeups]

The bridge runs as ``mavi-bridge serve`` in a subprocess (uvicorn, one process); the load comes from this
process over loopback with a minimal keep-alive HTTP/1.1 client (so the client's own cost stays small). The
no-op and durable rows of a store come from the same server in interleaved rounds; "vs no-op" is their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid

from airflow_provider_mavi.bridge.testing import BridgeServer, PostgresServer, ServerStartError
from airflow_provider_mavi.hooks.bridge import MaviBridgeHook


class Conn:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> Conn:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        return self

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: str = ""
    ) -> tuple[int, bytes]:
        assert self.reader is not None
        assert self.writer is not None
        self.writer.write(
            f"{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{headers}\r\n".encode()
            + body
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def post_load(
    server: BridgeServer, path: str, total: int, connections: int
) -> tuple[float, list[float]]:
    """POST ``total`` distinct callbacks over ``connections`` sockets; return (per second, latencies in s)."""
    bodies = [
        json.dumps(
            {
                "code": 200,
                "message": "SUCCESS",
                "data": {"asset_id": f"im_{i}", "asset_ch_ids": [f"imc_{i}_0"]},
                "task_id": uuid.uuid4().hex,
            }
        ).encode()
        for i in range(total)
    ]  # fmt: skip
    latencies: list[float] = []
    next_index = 0
    conns = [await Conn(server.port).open() for _ in range(connections)]

    async def worker(conn: Conn) -> None:
        nonlocal next_index
        while next_index < total:
            body = bodies[next_index]
            next_index += 1
            started = time.perf_counter()
            status, _ = await conn.request("POST", path, body)
            latencies.append(time.perf_counter() - started)
            assert status == 200, status

    started = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in conns))
    elapsed = time.perf_counter() - started
    for c in conns:
        c.close()
    return total / elapsed, latencies


async def wake_individual(server: BridgeServer, waits: int, samples: int) -> list[float]:
    """``waits`` GET long-polls (one socket each); time from sending a callback to its waiter's answer."""
    ids = [uuid.uuid4().hex for _ in range(waits)]
    auth = f"Authorization: Bearer {server.token}\r\n"
    answered: dict[str, float] = {}

    async def waiter(job: str) -> None:
        conn = await Conn(server.port).open()
        status, _ = await conn.request("GET", f"/v1/callbacks/{job}?wait=60", headers=auth)
        answered[job] = time.perf_counter()
        assert status == 200, status
        conn.close()

    tasks = [asyncio.create_task(waiter(job)) for job in ids]
    await asyncio.sleep(1.0 + waits / 500)  # let every wait register
    return await _send_and_measure(server, ids, samples, answered, tasks)


async def wake_coalesced(server: BridgeServer, waits: int, samples: int) -> tuple[list[float], int]:
    """``waits`` concurrent ``MaviBridgeHook.await_for`` in one loop (one batch long-poll at a time)."""
    ids = [uuid.uuid4().hex for _ in range(waits)]
    hook = MaviBridgeHook.from_url(server.url, server.token)
    answered: dict[str, float] = {}

    async def waiter(job: str) -> None:
        record = await hook.await_for(job, timeout=120)
        answered[job] = time.perf_counter()
        assert record is not None

    tasks = [asyncio.create_task(waiter(job)) for job in ids]
    await asyncio.sleep(1.0)
    latencies = await _send_and_measure(server, ids, samples, answered, tasks)
    polls = (await hook.shared_client()).batch_requests
    await hook.aclose()
    return latencies, polls


async def _send_and_measure(
    server: BridgeServer,
    ids: list[str],
    samples: int,
    answered: dict[str, float],
    tasks: list[asyncio.Task[None]],
) -> list[float]:
    sender = await Conn(server.port).open()
    path = f"/callbacks/{server.secret}"
    sent: dict[str, float] = {}
    for job in ids[:samples]:
        sent[job] = time.perf_counter()
        status, _ = await sender.request("POST", path, json.dumps({"task_id": job, "code": 200}).encode())
        assert status == 200
        while job not in answered:  # noqa: ASYNC110 (one wake-up at a time, the other waits open)
            await asyncio.sleep(0.0005)
    latencies = [answered[job] - sent[job] for job in ids[:samples]]
    for job in ids[samples:]:  # release the rest
        status, _ = await sender.request("POST", path, json.dumps({"task_id": job}).encode())
    await asyncio.gather(*tasks)
    sender.close()
    return latencies


def row(*cells: object) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def ms(value: float) -> str:
    return f"{value * 1000:.1f}"


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process and all its threads so far (Linux ``/proc``), else ``None``."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def bench_backend(name: str, db_url: str, total: int, connections: int, rounds: int) -> list[str]:
    """
    The no-op endpoint and durable callbacks on one server, interleaved over ``rounds`` (the order swapped
    each round), so a change in the shared machine's load weighs on both alike. Besides the rates, the
    bridge process's own CPU per request (every thread; not the database server's), which the machine's load
    sways much less than the rates.
    """
    endpoints = {"no-op endpoint": "_noop", "durable callback": "callbacks"}
    elapsed = dict.fromkeys(endpoints, 0.0)
    cpu: dict[str, float | None] = dict.fromkeys(endpoints, 0.0)
    latencies: dict[str, list[float]] = {label: [] for label in endpoints}
    per_round = max(1, total // rounds)
    with BridgeServer(db_url=db_url, noop_endpoint=True, log_level="warning") as server:
        assert server.process is not None
        pid = server.process.pid
        await post_load(server, f"/_noop/{server.secret}", 500, connections)  # warm up
        for turn in range(rounds):
            order = list(endpoints) if turn % 2 == 0 else list(reversed(endpoints))
            for label in order:
                before = process_cpu_seconds(pid)
                rate, lat = await post_load(
                    server, f"/{endpoints[label]}/{server.secret}", per_round, connections
                )
                after = process_cpu_seconds(pid)
                spent = cpu[label]
                cpu[label] = (
                    None if spent is None or before is None or after is None else spent + after - before
                )
                elapsed[label] += per_round / rate
                latencies[label].extend(lat)
    rates = {label: per_round * rounds / elapsed[label] for label in endpoints}
    rows = []
    for label in endpoints:
        lat = latencies[label]
        ratio = f"{rates[label] / rates['no-op endpoint']:.2f}"
        spent = cpu[label]
        per_request = "n/a" if spent is None else f"{spent / len(lat) * 1e6:.0f}"
        rows.append(
            row(
                name,
                label,
                len(lat),
                connections,
                f"{rates[label]:,.0f}",
                ratio,
                per_request,
                ms(pct(lat, 50)),
                ms(pct(lat, 99)),
            )
        )
        print(rows[-1], flush=True)
    return rows


async def bench_wakeups(db_url: str) -> list[str]:
    rows: list[str] = []
    with BridgeServer(db_url=db_url, log_level="warning") as server:
        for waits in (1, 100, 1000):
            samples = min(waits, 200)
            lat = await wake_individual(server, waits, samples)
            label = f"{waits} GET long-polls (one socket each)"
            rows.append(row(label, samples, ms(pct(lat, 50)), ms(pct(lat, 99)), ms(max(lat))))
            print(rows[-1], flush=True)
            lat, polls = await wake_coalesced(server, waits, samples)
            label = f"{waits} `wait_for` in one loop ({polls} batch polls in all)"
            rows.append(row(label, samples, ms(pct(lat, 50)), ms(pct(lat, 99)), ms(max(lat))))
            print(rows[-1], flush=True)
    return rows


async def bench_cross_replica(db_url: str, samples: int = 40) -> str:
    """Two replicas on one PostgreSQL database: a GET long-poll on B, the callback sent to A."""
    a = BridgeServer(db_url=db_url, log_level="warning").start()
    b = BridgeServer(db_url=db_url, secret=a.secret, token=a.token, log_level="warning").start()
    try:
        auth = f"Authorization: Bearer {b.token}\r\n"
        sender = await Conn(a.port).open()
        latencies = []
        for _ in range(samples):
            job = uuid.uuid4().hex
            waiter = await Conn(b.port).open()
            pending = asyncio.create_task(waiter.request("GET", f"/v1/callbacks/{job}?wait=30", headers=auth))
            await asyncio.sleep(0.05)
            started = time.perf_counter()
            status, _ = await sender.request(
                "POST", f"/callbacks/{a.secret}", json.dumps({"task_id": job}).encode()
            )
            assert status == 200
            status, _ = await pending
            latencies.append(time.perf_counter() - started)
            assert status == 200
            waiter.close()
            await asyncio.sleep(0.137)  # spread the sends over the 0.5 s poll period
        sender.close()
    finally:
        a.close()
        b.close()
    return row("PostgreSQL, waiter on replica B, callback to replica A", samples, ms(pct(latencies, 50)),
               ms(pct(latencies, 99)), ms(max(latencies)))  # fmt: skip


async def main_async(args: argparse.Namespace) -> None:
    import shutil
    import tempfile

    tmp = tempfile.mkdtemp(prefix="bench-bridge-")
    print(
        "| store | endpoint | requests | connections | per second | vs no-op | bridge CPU µs/request "
        "| ack p50 ms | ack p99 ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    await bench_backend(
        "SQLite (WAL, synchronous=FULL)",
        f"sqlite:///{tmp}/bench.sqlite3",
        args.callbacks,
        args.connections,
        args.rounds,
    )
    cross_replica = None
    if not args.no_postgres:
        try:
            with PostgresServer() as pg:
                if not args.no_wakeups:
                    cross_replica = await bench_cross_replica(pg.create_database())
                await bench_backend(
                    "PostgreSQL (local, fsync on)",
                    pg.create_database(),
                    args.callbacks,
                    args.connections,
                    args.rounds,
                )
        except ServerStartError as err:
            print(f"(PostgreSQL skipped: {err})")
    if args.no_wakeups:
        shutil.rmtree(tmp, ignore_errors=True)
        return
    print()
    print("| waits open (SQLite) | wake-ups timed | p50 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|")
    await bench_wakeups(f"sqlite:///{tmp}/wake.sqlite3")
    if cross_replica:
        print(cross_replica)
    shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--callbacks", type=int, default=4000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=4, help="interleaved no-op/durable rounds per store")
    parser.add_argument("--no-wakeups", action="store_true", help="only the ingest rates")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.run(main_async(args))
    except ImportError:
        asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
