"""Peak memory of MaviHook streaming a large object from S3 (upload) and to S3 (download).

moto's standalone S3 server (a subprocess) holds the object; a local stand-in for Mavi (another process)
hashes every upload body and serves a download of the same size, so only the client is measured. The client
is a real MaviHook reaching S3 through ``ObjectStoragePath`` and an ``aws_default`` connection whose
``endpoint_url`` is the moto server. Peak RSS is sampled every 10 ms; the local file upload of the same size
is the baseline of the same run, and s3fs's own 50 MiB blocks show what the provider's 8 MiB blocks save.

    .venv/bin/python bench/bench_s3_transfer_memory.py --size-mb 512
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from bench_transfer_memory import CHUNK, PREFIX, PeakRss, free_port


def serve(port: int, size: int, digest_file: str) -> None:
    """The stand-in for Mavi: ``POST /upload`` (hashes the file part of the body), ``GET .../download``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            remaining = int(self.headers.get("Content-Length") or 0)
            boundary = self.headers["Content-Type"].split("boundary=")[1].encode()
            head = (
                self.rfile.readline() + self.rfile.readline() + self.rfile.readline() + self.rfile.readline()
            )
            remaining -= len(head)
            tail = len(b"\r\n--" + boundary + b"--\r\n")
            digest = hashlib.sha256()
            while remaining > tail:
                block = self.rfile.read(min(remaining - tail, CHUNK))
                digest.update(block)
                remaining -= len(block)
            self.rfile.read(remaining)
            Path(digest_file).write_text(digest.hexdigest())
            raw = json.dumps({"code": 200, "msg": "success", "data": {"asset_id": "re_bench"}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(size))
            self.send_header("Content-Disposition", 'attachment; filename="bench.mp4"')
            self.end_headers()
            block = b"\1" * CHUNK
            for sent in range(0, size, CHUNK):
                self.wfile.write(block[: min(CHUNK, size - sent)])

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=512, help="object size in MiB (default 512)")
    args = parser.parse_args()
    size = args.size_mb * CHUNK
    workdir = Path(tempfile.mkdtemp(prefix="mavi-bench-s3-"))
    digest_file = str(workdir / "received.sha256")
    mavi_port, s3_port = free_port(), free_port()
    stand_in = multiprocessing.Process(target=serve, args=(mavi_port, size, digest_file), daemon=True)
    stand_in.start()
    moto = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{s3_port}"
    try:
        for _ in range(100):
            try:
                httpx.get(endpoint + "/moto-api/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        os.environ["MAVI_RATE_LIMIT_DIR"] = str(workdir)
        os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
        os.environ["AIRFLOW_CONN_MAVI_DEFAULT"] = json.dumps(
            {"conn_type": "mavi", "host": f"http://127.0.0.1:{mavi_port}{PREFIX}", "password": "sk-bench",
             "extra": {"timeout": 120, "max_requests_per_second": 1000}}
        )  # fmt: skip
        os.environ["AIRFLOW_CONN_AWS_DEFAULT"] = json.dumps(
            {"conn_type": "aws", "login": "bench", "password": "bench",
             "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"}}
        )  # fmt: skip
        run(workdir, size, digest_file)
    finally:
        moto.terminate()
        moto.wait(timeout=10)
        stand_in.terminate()
        for path in workdir.iterdir():
            path.unlink()
        workdir.rmdir()


def run(workdir: Path, size: int, digest_file: str) -> None:
    import boto3
    from airflow.sdk import ObjectStoragePath

    from airflow_provider_mavi.hooks import transfer
    from airflow_provider_mavi.hooks.mavi import MaviHook

    local = workdir / "bench.mp4"
    with local.open("wb") as out:
        block = os.urandom(CHUNK)
        for _ in range(size // CHUNK):
            out.write(block)
    expected = hashlib.sha256(local.read_bytes()).hexdigest()
    conn = json.loads(os.environ["AIRFLOW_CONN_AWS_DEFAULT"])
    s3 = boto3.client(
        "s3", endpoint_url=conn["extra"]["endpoint_url"], aws_access_key_id="bench",
        aws_secret_access_key="bench", region_name="us-east-1",
    )  # fmt: skip
    s3.create_bucket(Bucket="bench")
    s3.upload_file(str(local), "bench", "in/bench.mp4")
    source = ObjectStoragePath("s3://aws_default@bench/in/bench.mp4")
    hook = MaviHook()
    hook.get_settings()
    source.stat()  # the S3 client is made before measuring, as in a task that listed its input
    print(f"object: {size / 2**20:.0f} MiB; client RSS at start {PeakRss().base / 2**20:.0f} MiB")
    print(f"{'transfer':<46}{'peak RSS growth':>17}{'MB/s':>8}  bytes Mavi received")

    def measure(name: str, action: object) -> None:
        started = time.perf_counter()
        with PeakRss() as rss:
            action()  # type: ignore[operator]
        elapsed = time.perf_counter() - started
        same = "identical" if Path(digest_file).read_text() == expected else "DIFFERENT"
        same = same if "upload" in name else "-"
        print(f"{name:<46}{(rss.peak - rss.base) / 2**20:>13.1f} MiB{size / 1e6 / elapsed:>8.0f}  {same}")

    measure("upload from a local file (baseline)", lambda: hook.upload_file(local, method="multipart"))
    for block_mb in (8, 8, 16, None):  # the first S3 run also pays one-time costs (botocore's models)
        transfer.REMOTE_BLOCK_SIZE = block_mb * CHUNK if block_mb else None  # type: ignore[assignment]
        label = f"{block_mb} MiB blocks" if block_mb else "s3fs's default 50 MiB blocks"
        measure(f"upload from S3, {label}", lambda: hook.upload_file(source, method="multipart"))
    transfer.REMOTE_BLOCK_SIZE = 8 * CHUNK
    target = ObjectStoragePath("s3://aws_default@bench/out/bench.mp4")
    measure("download to S3, 8 MiB blocks", lambda: hook.download_asset("re_bench", target))
    print("MB/s against moto mean little: moto copies the whole object for every ranged GET.")


if __name__ == "__main__":
    main()
