"""Fixtures for the emulator's integration tests: real videos, a real webhook receiver, a real server."""

from __future__ import annotations

import functools
import threading
import time
from fractions import Fraction
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import av
import httpx
import pytest
from PIL import Image, ImageChops

from airflow_provider_mavi.emulator.samples import make_sample_audio, make_sample_video
from airflow_provider_mavi.emulator.testing import CallbackReceiver, EmulatorServer

KEY = "sk-mavi-test-0123456789"


@pytest.fixture(scope="session")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real H.264 MP4s of several sizes and lengths, and one file that is not media."""
    root = tmp_path_factory.mktemp("emulator-media")
    not_video = root / "notes.mp4"
    not_video.write_text("this is plain text pretending to be a video\n" * 50)
    return {
        "small": make_sample_video(root / "small.mp4", seconds=6, width=320, height=240, fps=10),
        "wide": make_sample_video(root / "wide.mp4", seconds=3.5, width=640, height=360, fps=5),
        "hd": make_sample_video(root / "hd.mp4", seconds=2, width=1280, height=720, fps=5),
        "silent": make_sample_video(
            root / "silent.mp4", seconds=2, width=160, height=120, fps=5, audio=False
        ),
        "audio": make_sample_audio(root / "tone.m4a", seconds=3),
        "not_video": not_video,
        "other": _other_video(root / "other.mp4"),
    }


def _other_video(path: Path) -> Path:
    """A video unlike the sample: a bright sliding gradient in orange and cyan, no sound, 4 s, 320x240."""
    gradient = Image.linear_gradient("L").resize((320, 240))
    with av.open(str(path), mode="w") as container:
        video = container.add_stream("libx264", rate=10)
        video.width, video.height, video.pix_fmt = 320, 240, "yuv420p"
        video.options = {"preset": "ultrafast"}
        for index in range(40):
            red = ImageChops.offset(gradient, index * 4, 0)
            image = Image.merge("RGB", (red, ImageChops.invert(red), Image.new("L", (320, 240), 200)))
            frame = av.VideoFrame.from_image(image)
            frame.pts, frame.time_base = index, Fraction(1, 10)
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
    return path


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def file_server(tmp_path: Path) -> Any:
    """A static HTTP server on loopback serving a temp folder: ``(base URL, folder)``."""
    folder = tmp_path / "served"
    folder.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", folder
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@pytest.fixture
def receiver() -> Any:
    """A webhook on loopback that answers 200."""
    with CallbackReceiver() as hooks:
        yield hooks


@pytest.fixture
def make_server(tmp_path: Path) -> Any:
    """Start emulators with given settings; all are stopped after the test."""
    servers: list[EmulatorServer] = []

    def start(**settings: Any) -> EmulatorServer:
        settings.setdefault("qps", 1000)
        settings.setdefault("data_dir", tmp_path / f"emulator-{len(servers)}")
        server = EmulatorServer(api_key=KEY, **settings).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def server(make_server: Any, receiver: CallbackReceiver) -> EmulatorServer:
    """An emulator with a fast rate limit and the receiver as its webhook."""
    return make_server(webhook_url=receiver.url)


def auth(key: str = KEY) -> dict[str, str]:
    """Return the Authorization header Mavi expects: the raw key."""
    return {"Authorization": key}


def upload(server: EmulatorServer, path: Path, name: str | None = None) -> str:
    """Upload a file by multipart POST and return the asset id."""
    with path.open("rb") as handle:
        answer = httpx.post(
            f"{server.base_url}/upload",
            files={"file": (name or path.name, handle)},
            headers=auth(),
            timeout=30,
        )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["data"]["asset_id"])


def wait_status(server: EmulatorServer, asset_id: str, timeout: float = 30) -> dict[str, Any]:
    """Poll metadata until the upload is SUCCESS or FAILED; return the entry."""
    deadline = time.monotonic() + timeout
    while True:
        answer = httpx.get(f"{server.base_url}/{asset_id}/metadata", headers=auth(), timeout=10)
        assert answer.status_code == 200, answer.text
        entry: dict[str, Any] = answer.json()["data"]["resource"][0]
        if entry["upload_status"] in ("SUCCESS", "FAILED") or time.monotonic() > deadline:
            return entry
        time.sleep(0.05)


def ready(server: EmulatorServer, path: Path) -> str:
    """Upload and wait for SUCCESS."""
    asset_id = upload(server, path)
    assert wait_status(server, asset_id)["upload_status"] == "SUCCESS"
    return asset_id


def post(server: EmulatorServer, path: str, body: Any, key: str = KEY) -> httpx.Response:
    """POST JSON to an API path."""
    return httpx.post(f"{server.base_url}{path}", json=body, headers=auth(key), timeout=120)


def submit(server: EmulatorServer, path: str, body: Any) -> str:
    """Start an async job and return its task id."""
    answer = post(server, path, body)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["data"]["task_id"])


def job(server: EmulatorServer, job_id: str) -> dict[str, Any]:
    """Return a job's stats record."""
    return next(j for j in server.stats()["jobs"] if j["job_id"] == job_id)


class Helpers:
    """The helpers above, handed to tests by the ``api`` fixture (test modules never import each other)."""

    key = KEY
    auth = staticmethod(auth)
    upload = staticmethod(upload)
    wait_status = staticmethod(wait_status)
    ready = staticmethod(ready)
    post = staticmethod(post)
    submit = staticmethod(submit)
    job = staticmethod(job)


@pytest.fixture
def api() -> type[Helpers]:
    """Helpers for talking to the emulator with plain httpx."""
    return Helpers
