"""Peak memory and speed of MaviHook's streamed upload and download of a large file.

A local server (a separate process, so only the client is measured) stands in for Mavi: it hashes upload
bodies in chunks and serves a download of the requested size. The client is a real MaviHook on an
``AIRFLOW_CONN_MAVI_DEFAULT`` connection. Peak RSS is sampled every 10 ms.

    .venv/bin/python bench/bench_transfer_memory.py --size-mb 1024

Target: peak RSS growth under 64 MB for each transfer.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import socket
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil

CHUNK = 1024 * 1024
PREFIX = "/serve/api/v2"


def serve(port: int, size: int) -> None:
    """The stand-in: POST /upload, POST /upload/signed-url, POST /storage/..., GET /re_bench/download."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _json(self, body: dict[str, object]) -> None:
            raw = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self) -> None:
            remaining = int(self.headers.get("Content-Length") or 0)
            digest = hashlib.sha256()
            while remaining:
                block = self.rfile.read(min(remaining, CHUNK))
                if not block:
                    break
                digest.update(block)
                remaining -= len(block)
            if self.path == f"{PREFIX}/upload/signed-url":
                url = f"http://127.0.0.1:{port}/storage/bench.mp4?X-Goog-Signature=bench"
                self._json(
                    {"code": 200, "msg": "success", "data": {"asset_id": "re_bench", "signed_url": url}}
                )
            elif self.path.startswith("/storage/"):
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self._json({"code": 200, "msg": "success", "data": {"asset_id": "re_bench"}})

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(size))
            self.send_header("Content-Disposition", 'attachment; filename="bench.mp4"')
            self.end_headers()
            block = b"\0" * CHUNK
            sent = 0
            while sent < size:
                part = block[: min(CHUNK, size - sent)]
                self.wfile.write(part)
                sent += len(part)

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


class PeakRss:
    """Samples this process's RSS every 10 ms."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.base = self.process.memory_info().rss
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.01)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="file size in MiB (default 1024)")
    args = parser.parse_args()
    size = args.size_mb * CHUNK
    port = free_port()
    server = multiprocessing.Process(target=serve, args=(port, size), daemon=True)
    server.start()
    time.sleep(0.5)
    workdir = Path(tempfile.mkdtemp(prefix="mavi-bench-"))
    os.environ["MAVI_RATE_LIMIT_DIR"] = str(workdir)
    os.environ["AIRFLOW_CONN_MAVI_DEFAULT"] = json.dumps(
        {
            "conn_type": "mavi",
            "host": f"http://127.0.0.1:{port}{PREFIX}",
            "password": "sk-bench",
            "extra": {"timeout": 120, "max_requests_per_second": 1000},
        }
    )
    from airflow_provider_mavi.hooks.mavi import MaviHook

    source = workdir / "bench.mp4"
    with source.open("wb") as out:
        out.truncate(size)  # sparse file: reading it costs no disk I/O
    hook = MaviHook()
    hook.get_settings()
    start_rss = psutil.Process().memory_info().rss / 2**20
    print(f"file size: {size / 2**20:.0f} MiB; client RSS at start: {start_rss:.1f} MiB")
    print(f"{'transfer':<22}{'peak RSS growth':>18}{'MB/s':>10}{'seconds':>10}")
    runs = [
        ("upload (multipart)", lambda: hook.upload_file(source, method="multipart")),
        ("upload (signed URL)", lambda: hook.upload_file(source, method="signed_url")),
        ("download", lambda: hook.download_asset("re_bench", workdir / "out.mp4")),
    ]
    try:
        for name, run in runs:
            started = time.perf_counter()
            with PeakRss() as rss:
                run()
            elapsed = time.perf_counter() - started
            growth = (rss.peak - rss.base) / 2**20
            print(f"{name:<22}{growth:>15.1f} MiB{size / 1e6 / elapsed:>10.0f}{elapsed:>10.1f}")
    finally:
        server.terminate()
        for path in workdir.iterdir():
            path.unlink()
        workdir.rmdir()


if __name__ == "__main__":
    main()
