"""Benchmark: the emulator extracts frames from a 10-minute 720p video with bounded memory.

Runs ``mavi-emulator serve`` as a subprocess (key from the environment), uploads the video through the
signed URL (raw PUT, streamed), asks for frame extraction and a visual description, receives both callbacks
on a local receiver, downloads the frame zip (streamed, discarded) and prints:

- frames extracted per second (wall time from the request to the callback),
- the emulator's resident memory: after start, peak (VmHWM) and sampled during each phase,
- the frame zip's size and download speed.

The video is generated once (cheaply: 2 fps, no sound) and kept in the temp folder for later runs.

    .venv/bin/python bench/bench_emulator_extraction.py [--seconds 600 --width 1280 --height 720 --fps 2]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from airflow_provider_mavi.emulator.samples import make_sample_video
from airflow_provider_mavi.emulator.testing import CallbackReceiver

KEY = "sk-bench-emulator"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class RssSampler:
    """Samples a process's RSS every 50 ms; ``peak()`` returns the highest seen since the last reset."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self._peak = max(self._peak, _rss_kib(self.pid))

    def reset(self) -> None:
        self._peak = _rss_kib(self.pid)

    def peak(self) -> int:
        return self._peak

    def stop(self) -> None:
        self._stop.set()


def _video(seconds: float, width: int, height: int, fps: float) -> Path:
    path = (
        Path(tempfile.gettempdir()) / "mavi-bench" / f"video_{int(seconds)}s_{width}x{height}_{fps:g}fps.mp4"
    )
    if not path.exists():
        started = time.monotonic()
        partial = path.with_suffix(".partial.mp4")
        make_sample_video(partial, seconds=seconds, width=width, height=height, fps=fps, audio=False)
        partial.rename(path)
        took = time.monotonic() - started
        print(f"generated {path.name} ({path.stat().st_size / 1e6:.1f} MB) in {took:.1f} s")
    return path


def _wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/_emulator/healthz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None:
            raise SystemExit("the emulator exited")
        time.sleep(0.1)
    raise SystemExit("the emulator did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=float, default=2)
    parser.add_argument("--frame-interval", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    video = _video(args.seconds, args.width, args.height, args.fps)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    api = base + "/serve/api/v2"
    headers = {"Authorization": KEY}
    cli = str(Path(sys.executable).with_name("mavi-emulator"))
    with tempfile.TemporaryDirectory(prefix="mavi-bench-data-") as data, CallbackReceiver() as hooks:
        proc = subprocess.Popen(
            [
                cli,
                "serve",
                "--port",
                str(port),
                "--webhook-url",
                hooks.url,
                "--qps",
                "100",
                "--data-dir",
                data,
                "--frame-interval",
                str(args.frame_interval),
                "--workers",
                str(args.workers),
                "--log-level",
                "warning",
            ],
            env={**os.environ, "MAVI_EMULATOR_API_KEY": KEY},
        )
        try:
            _wait_ready(base, proc)
            sampler = RssSampler(proc.pid)
            idle = _rss_kib(proc.pid)

            signed = httpx.post(
                api + "/upload/signed-url", json={"original_filename": video.name}, headers=headers
            )
            asset_id, url = signed.json()["data"]["asset_id"], signed.json()["data"]["signed_url"]
            sampler.reset()
            started = time.monotonic()
            with video.open("rb") as handle:
                httpx.put(
                    url, content=iter(lambda: handle.read(1 << 20), b""), timeout=300
                ).raise_for_status()
            while True:
                meta = httpx.get(f"{api}/{asset_id}/metadata", headers=headers).json()["data"]["resource"][0]
                if meta["upload_status"] in ("SUCCESS", "FAILED"):
                    break
                time.sleep(0.05)
            upload_s, upload_peak = time.monotonic() - started, sampler.peak()
            assert meta["upload_status"] == "SUCCESS", meta

            sampler.reset()
            started = time.monotonic()
            job = httpx.post(api + "/video/extract-frames", json={"asset_id": asset_id}, headers=headers)
            callback = hooks.wait_for(job.json()["data"]["task_id"], timeout=3600)
            extract_s, extract_peak = time.monotonic() - started, sampler.peak()
            frames = len(callback["data"]["asset_ch_ids"])

            sampler.reset()
            started = time.monotonic()
            job = httpx.post(
                api + "/transcriptions/async-generate-video",
                json={"asset_id": asset_id, "model": "gemini-2.5-flash-lite"},
                headers=headers,
            )
            described = hooks.wait_for(job.json()["data"]["task_id"], timeout=3600)
            describe_s, describe_peak = time.monotonic() - started, sampler.peak()
            segments = len(described["data"]["data"]["data"])

            sampler.reset()
            started = time.monotonic()
            size = 0
            with httpx.stream(
                "GET", f"{api}/{callback['data']['asset_id']}/download", headers=headers, timeout=300
            ) as answer:
                for chunk in answer.iter_bytes(1 << 20):
                    size += len(chunk)
            download_s, download_peak = time.monotonic() - started, sampler.peak()
            hwm = _rss_kib(proc.pid, "VmHWM")
            sampler.stop()
        finally:
            proc.terminate()
            proc.wait(timeout=30)

    mib = 1024
    print(
        f"video: {video.name}, {video.stat().st_size / 1e6:.1f} MB, {args.seconds:g} s, "
        f"{args.width}x{args.height} at {args.fps:g} fps; frame interval {args.frame_interval:g} s; "
        f"{args.workers} worker thread(s)"
    )
    print(f"upload (signed URL PUT) + probe: {upload_s:.2f} s, emulator peak RSS {upload_peak / mib:.0f} MiB")
    print(
        f"extract-frames: {frames} JPEGs in {extract_s:.2f} s = {frames / extract_s:.1f} frames/s, "
        f"emulator peak RSS {extract_peak / mib:.0f} MiB"
    )
    print(
        f"async-generate-video: {segments} segments in {describe_s:.2f} s = "
        f"{frames / describe_s:.1f} frames measured/s, emulator peak RSS {describe_peak / mib:.0f} MiB"
    )
    print(
        f"download im_ zip: {size / 1e6:.1f} MB in {download_s:.2f} s = {size / 1e6 / download_s:.0f} MB/s, "
        f"emulator peak RSS {download_peak / mib:.0f} MiB"
    )
    print(
        f"emulator RSS after start {idle / mib:.0f} MiB, peak over the whole run (VmHWM) {hwm / mib:.0f} MiB"
    )


if __name__ == "__main__":
    main()
