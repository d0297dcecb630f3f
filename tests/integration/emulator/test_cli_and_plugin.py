"""The console script and the pytest plugin, run as a user would run them."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx

CLI = str(Path(sys.executable).with_name("mavi-emulator"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_takes_the_key_from_the_environment_and_never_prints_it(tmp_path, videos, receiver):
    key = "sk-mavi-cli-secret-4242"
    port = _free_port()
    env = {**os.environ, "MAVI_EMULATOR_API_KEY": key}
    args = [
        CLI,
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--webhook-url",
        receiver.url + "/s3cret-path-token",
        "--qps",
        "50",
        "--data-dir",
        str(tmp_path / "data"),
        "--seed",
        "3",
        "--success-code",
        "0000",
    ]
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/_emulator/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, "the emulator exited"
            assert time.monotonic() < deadline, "the emulator did not start"
            time.sleep(0.1)
        with videos["silent"].open("rb") as handle:
            answer = httpx.post(
                base + "/serve/api/v2/upload", files={"file": handle}, headers={"Authorization": key}
            )
        assert answer.json()["code"] == "0000"
        asset_id = answer.json()["data"]["asset_id"]
        time.sleep(0.5)
        job = httpx.post(
            base + "/serve/api/v2/video/extract-frames",
            json={"asset_id": asset_id},
            headers={"Authorization": key},
        ).json()["data"]["task_id"]
        assert receiver.wait_for(job)["code"] == "0000"
        assert (
            httpx.get(base + "/serve/api/v2/re_1/metadata", headers={"Authorization": "x"}).status_code == 401
        )
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    assert key not in output
    assert "s3cret-path-token" not in output  # the webhook URL carries the receiver's secret
    assert "Uvicorn running" in output or "Application startup complete" in output


def test_serve_refuses_bad_settings_clearly():
    env = {k: v for k, v in os.environ.items() if k != "MAVI_EMULATOR_API_KEY"}
    result = subprocess.run(
        [CLI, "serve", "--port", "0"], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "MAVI_EMULATOR_API_KEY" in result.stderr
    result = subprocess.run(
        [CLI, "serve", "--api-key", "k", "--faults", '{"boom": {}}'],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "unknown fault 'boom'" in result.stderr
    result = subprocess.run(
        [CLI, "serve", "--api-key", "k", "--faults", "{not json"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2


def test_sample_video_command(tmp_path):
    target = tmp_path / "out" / "clip.mp4"
    result = subprocess.run(
        [CLI, "sample-video", str(target), "--seconds", "1", "--width", "96", "--height", "64", "--fps", "4"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == str(target)
    import av

    with av.open(str(target)) as container:
        frame = next(container.decode(video=0))
        assert (frame.width, frame.height) == (96, 64)


def test_fault_flags_reach_the_server(tmp_path):
    from airflow_provider_mavi.emulator.cli import _faults, _parser

    args = _parser().parse_args(
        [
            "serve",
            "--api-key",
            "k",
            "--fault-drop",
            "0.25",
            "--fault-callback-delay",
            "2",
            "--fault-5xx",
            "0.1",
            "--faults",
            '{"server_error": {"status": 503}}',
        ]
    )
    assert _faults(args) == {
        "server_error": {"status": 503, "probability": 0.1},
        "drop_callback": {"probability": 0.25},
        "callback_delay": {"probability": 1.0, "seconds": 2.0},
    }


def test_pytest_plugin_in_a_user_project(tmp_path):
    (tmp_path / "conftest.py").write_text(
        'pytest_plugins = ["airflow_provider_mavi.emulator.pytest_plugin"]\n'
    )
    (tmp_path / "test_user_dag.py").write_text(
        textwrap.dedent("""
        import time, httpx

        def test_frames(mavi_emulator, mavi_callbacks, sample_video):
            headers = {"Authorization": mavi_emulator.api_key}
            with open(sample_video, "rb") as handle:
                asset = httpx.post(mavi_emulator.base_url + "/upload", files={"file": handle},
                                   headers=headers).json()["data"]["asset_id"]
            time.sleep(1.1)  # the account allows 1 request per second per endpoint
            while httpx.get(f"{mavi_emulator.base_url}/{asset}/metadata",
                            headers=headers).json()["data"]["resource"][0]["upload_status"] != "SUCCESS":
                time.sleep(1.1)
            job = httpx.post(mavi_emulator.base_url + "/video/extract-frames", json={"asset_id": asset},
                             headers=headers).json()["data"]["task_id"]
            assert len(mavi_callbacks.wait_for(job)["data"]["asset_ch_ids"]) == 6
            assert mavi_emulator.stats()["jobs_by_asset"] == {asset: {"extract_frames": 1}}
    """)
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_without_the_emulator_extra_the_cli_says_what_to_install(tmp_path):
    """Without the extra there is no PyAV: one clear line and exit code 3, no traceback."""
    blocked = (
        "import sys; sys.modules['av'] = None; "  # what Python does for a module that is not installed
        "from airflow_provider_mavi.emulator.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    for args in (["serve", "--api-key", "sk-x", "--port", "0"], ["sample-video", str(tmp_path / "v.mp4")]):
        done = subprocess.run(
            [sys.executable, "-c", blocked, *args], capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 3, done.stderr
        assert done.stderr.strip().splitlines() == [
            "mavi-emulator: PyAV (module 'av') is not installed; it comes with the emulator extra: "
            "pip install 'airflow-provider-mavi[emulator]'"
        ]
        assert done.stdout == ""
        assert "sk-x" not in done.stderr
    assert not (tmp_path / "v.mp4").exists()
