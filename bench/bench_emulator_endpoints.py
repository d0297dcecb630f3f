"""Benchmark: how long each emulator job takes on the 6-second sample and on a 60-second 720p clip.

Runs the emulator in-process on loopback (``EmulatorServer``, rate limit lifted), a recording webhook and a
static file server for URL sources. For every endpoint it times one request: from the POST to the callback
(async) or to the answer (sync), with the measurement cache cleared first (a cold run). The baseline,
measured in the same run on the same file, is decoding every video frame with PyAV; each time is also
printed as a multiple of it.

    .venv/bin/python bench/bench_emulator_endpoints.py [--long-seconds 60 --width 1280 --height 720 --fps 25]
"""

from __future__ import annotations

import argparse
import functools
import shutil
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import av
import httpx

from airflow_provider_mavi.emulator import analysis
from airflow_provider_mavi.emulator.samples import make_sample_video
from airflow_provider_mavi.emulator.testing import CallbackReceiver, EmulatorServer

KEY = "sk-bench-endpoints"
SCHEMA = {
    "type": "OBJECT",
    "properties": {
        "summary": {"type": "STRING"},
        "scenes": {
            "type": "ARRAY",
            "items": {
                "type": "OBJECT",
                "properties": {"start": {"type": "NUMBER"}, "end": {"type": "NUMBER"}},
            },
        },
    },
}


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


def _decode_seconds(path: Path) -> float:
    started = time.perf_counter()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for _ in container.decode(stream):
            pass
    return time.perf_counter() - started


def _video(seconds: float, width: int, height: int, fps: float) -> Path:
    path = (
        Path(tempfile.gettempdir()) / "mavi-bench" / f"talk_{int(seconds)}s_{width}x{height}_{fps:g}fps.mp4"
    )
    if not path.exists():
        partial = path.with_suffix(".partial.mp4")
        make_sample_video(partial, seconds=seconds, width=width, height=height, fps=fps)
        partial.rename(path)
    return path


def _jobs(asset_id: str, url: str, seconds: float) -> list[tuple[str, str, dict[str, Any]]]:
    """(label, path, body) of every job; async paths are recognised by the answer's task_id."""
    gemini = {
        "model": "gemini:gemini-2.5-flash",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "input_file", "file_uri": url, "mime_type": "video/mp4"},
                    {"type": "text", "text": "List the scenes."},
                ],
            }
        ],
        "extra_body": {"metadata": {"response_mime_type": "application/json", "responseSchema": SCHEMA}},
    }
    one = {"asset_id": asset_id}
    return [
        ("extract-frames", "/video/extract-frames", one),
        (
            "async-generate-video",
            "/transcriptions/async-generate-video",
            {**one, "model": "gemini-2.5-flash"},
        ),
        ("async-generate-audio (speaker)", "/transcriptions/async-generate-audio", {**one, "speaker": True}),
        ("sync-generate-audio", "/transcriptions/sync-generate-audio", one),
        ("sync-generate-speaker", "/transcriptions/sync-generate-speaker", one),
        ("async-generate-speaker", "/transcriptions/async-generate-speaker", one),
        ("async-generate-multi-speaker", "/transcriptions/async-generate-multi-speaker", one),
        ("async-summary", "/transcriptions/async-summary", one),
        ("speech-to-text (elevenlabs, asset)", "/transcriptions/speech-to-text", {**one, "diarize": True}),
        (
            "speech-to-text (assemblyai, url)",
            "/transcriptions/speech-to-text",
            {"url": url, "provider": "assemblyai"},
        ),
        ("video/clip", "/video/clip", one),
        ("video/split", "/video/split", {**one, "segment_seconds": max(1, round(seconds / 3))}),
        (
            "video/edit landscape",
            "/video/edit",
            {"asset_ids": [asset_id], "orientation": "landscape", "user_prompt": "x"},
        ),
        (
            "video/edit portrait",
            "/video/edit",
            {"asset_ids": [asset_id], "orientation": "portrait", "user_prompt": "x"},
        ),
        ("vu/chat/completions (gemini, url, schema)", "/vu/chat/completions", gemini),
        ("embeddings/video", "/embeddings/video", {**one, "model": "multimodalembedding@001"}),
        (
            "embeddings/text (10 texts)",
            "/embeddings/text",
            {"input": ["a red box"] * 10, "model": "gemini-embedding-001"},
        ),
    ]


def _run(server: EmulatorServer, hooks: CallbackReceiver, path: str, body: dict[str, Any]) -> float:
    analysis._video.cache_clear()
    analysis._speech.cache_clear()
    started = time.perf_counter()
    answer = httpx.post(server.base_url + path, json=body, headers={"Authorization": KEY}, timeout=600)
    payload = answer.json()
    data = payload.get("data") if isinstance(payload, dict) else None
    if answer.status_code != 200 or payload.get("status") == "errored":
        raise RuntimeError(f"{path}: {answer.status_code} {str(payload)[:200]}")
    if isinstance(data, dict) and set(data) == {"task_id"}:
        callback = hooks.wait_for(data["task_id"], timeout=600)
        if callback["message"] != "SUCCESS":
            raise RuntimeError(f"{path}: {callback}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long-seconds", type=float, default=60)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=float, default=25)
    args = parser.parse_args()
    videos = {
        "6 s 320x240 10 fps": _video(6, 320, 240, 10),
        f"{args.long_seconds:g} s {args.width}x{args.height} {args.fps:g} fps": _video(
            args.long_seconds, args.width, args.height, args.fps
        ),
    }
    served = Path(tempfile.mkdtemp(prefix="mavi-bench-served-"))
    files = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(served)))
    threading.Thread(target=files.serve_forever, daemon=True).start()
    results: dict[str, dict[str, float]] = {}
    baselines: dict[str, float] = {}
    try:
        with (
            CallbackReceiver() as hooks,
            EmulatorServer(api_key=KEY, webhook_url=hooks.url, qps=1000) as server,
        ):
            for label, path in videos.items():
                shutil.copy(path, served / path.name)
                url = f"http://127.0.0.1:{files.server_address[1]}/{path.name}"
                with path.open("rb") as handle:
                    asset_id = httpx.post(
                        server.base_url + "/upload",
                        files={"file": (path.name, handle)},
                        headers={"Authorization": KEY},
                    ).json()["data"]["asset_id"]
                while True:
                    entry = httpx.get(
                        f"{server.base_url}/{asset_id}/metadata", headers={"Authorization": KEY}
                    ).json()["data"]["resource"][0]
                    if entry["upload_status"] == "SUCCESS":
                        break
                    time.sleep(0.05)
                baselines[label] = min(_decode_seconds(path) for _ in range(2))
                for name, endpoint, body in _jobs(asset_id, url, float(label.split()[0])):
                    results.setdefault(name, {})[label] = _run(server, hooks, endpoint, body)
    finally:
        files.shutdown()
        files.server_close()
        shutil.rmtree(served, ignore_errors=True)
    labels = list(videos)
    print(
        "baseline (PyAV decode of every frame): " + ", ".join(f"{k}: {v:.3f} s" for k, v in baselines.items())
    )
    print(f"| job | {' | '.join(labels)} |")
    print("|---|" + "---|" * len(labels))
    for name, times in results.items():
        cells = [f"{times[k]:.2f} s ({times[k] / baselines[k]:.1f}x)" for k in labels]
        print(f"| {name} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
