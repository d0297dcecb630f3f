"""`scripts/demo.sh` (what `make demo` runs) end to end, reusing the test venv, and its Ctrl-C path."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import webvtt
from PIL import Image

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
VENV = Path(sys.executable).parent.parent


def demo_env(demo_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "MAVI_"))}
    env.update({"VENV": str(VENV), "MAVI_DEMO_DIR": str(demo_dir), "MAVI_DEMO_SECONDS": "3"})
    return env


def ports(output: str) -> list[int]:
    return [int(p) for p in re.findall(r"starting the [\w -]+ on http://127\.0\.0\.1:(\d+)", output)]


def is_listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def field(output: str, label: str) -> str:
    match = re.search(rf"^\s+{label}:\s+(.*)$", output, re.MULTILINE)
    assert match, f"no '{label}:' line in\n{output}"
    return match.group(1)


def test_demo_runs_and_reports(tmp_path: Path) -> None:
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "demo.sh")],
        env=demo_env(tmp_path / "demo"),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]

    frames_line = field(output, "frames")
    count, frames_dir = re.fullmatch(r"(\d+) JPEGs in (.+)", frames_line).groups()  # type: ignore[union-attr]
    jpegs = sorted(Path(frames_dir).glob("*.jpg"))
    assert len(jpegs) == int(count) >= 2
    for jpeg in jpegs:
        with Image.open(jpeg) as image:
            assert image.format == "JPEG"
    segments, transcript = re.fullmatch(  # type: ignore[union-attr]
        r"(\d+) segments in (.+)", field(output, "transcript")
    ).groups()
    assert Path(transcript).is_file()
    vtt = re.search(r"WebVTT: (.+)", output).group(1)  # type: ignore[union-attr]
    assert len(webvtt.read(vtt)) == int(segments) >= 1
    assert re.match(r"\$\d+\.\d{4} would have been charged", field(output, "cost"))
    shown = re.fullmatch(
        r"(.+\.jpg) \(the frames with their times and descriptions\)", field(output, "sheet")
    )
    assert shown, output
    sheet = Path(shown.group(1))
    assert sheet.parent == Path(frames_dir).parent
    with Image.open(sheet) as image:
        image.load()
        assert image.format == "JPEG"
        assert image.width == 2 * 24 + min(6, len(jpegs)) * 240 + (min(6, len(jpegs)) - 1) * 12
    assert Path(frames_dir).is_relative_to(tmp_path / "demo" / "results")

    # fresh secrets are never shown; the services it started are gone
    assert "sk-demo-" not in output
    assert not re.search(r"/callbacks/[A-Za-z0-9_-]{20,}", output)
    logs = [*(tmp_path / "demo" / "logs").iterdir(), *(tmp_path / "demo" / "airflow" / "logs").rglob("*.log")]
    assert len(logs) >= 5
    for log in logs:
        text = log.read_text(errors="replace")
        assert "sk-demo-" not in text, log
        assert not re.search(r"/callbacks/[A-Za-z0-9_-]{20,}", text), log
    assert len(ports(output)) == 2
    assert not any(is_listening(port) for port in ports(output))
    assert "stopped the emulator and the bridge" in output


def test_demo_insights_runs_and_reports(tmp_path: Path) -> None:
    """What `make demo-insights` runs: the insights DAG on a 6 s sample cut into 2 s segments."""
    env = {**demo_env(tmp_path / "demo"), "MAVI_DEMO_DAG": "mavi_video_insights", "MAVI_DEMO_SECONDS": "6"}
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "demo.sh")],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "airflow dags test mavi_video_insights" in output
    count, segments_dir = re.fullmatch(r"(\d+) videos in (.+)", field(output, "segments")).groups()  # type: ignore[union-attr]
    assert int(count) == len(list(Path(segments_dir).glob("*.mp4"))) == 3
    turns, speech_dir = re.fullmatch(  # type: ignore[union-attr]
        r"(\d+) turns with speakers \(JSON, WebVTT, SubRip\) in (.+)", field(output, "speech")
    ).groups()
    assert int(turns) == 3
    assert len(list(Path(speech_dir).glob("*.srt"))) == 3
    assert field(output, "answers") == "3 JSON answers from nova:us.amazon.nova-lite-v1:0"
    report = re.fullmatch(r"(.+\.md) \(and report\.json\)", field(output, "report"))
    assert report, output
    assert Path(report.group(1)).read_text().startswith("# Video insights: sample.mp4")
    with Image.open(field(output, "sheet")) as image:
        assert image.format == "JPEG"
    assert re.match(r"\$\d+\.\d{4} of known prices would have been charged", field(output, "cost"))
    assert re.match(r"12 jobs submitted", field(output, "emulator"))
    assert "sk-demo-" not in output
    assert not any(is_listening(port) for port in ports(output))
    assert "stopped the emulator and the bridge" in output


def test_demo_stops_its_services_on_ctrl_c(tmp_path: Path) -> None:
    process = subprocess.Popen(
        ["bash", str(REPO / "scripts" / "demo.sh")],
        env=demo_env(tmp_path / "demo"),
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, like a terminal's foreground job
    )
    assert process.stdout is not None
    seen = []
    deadline = time.monotonic() + 300
    try:
        for line in process.stdout:
            seen.append(line)
            if "running the DAG" in line or time.monotonic() > deadline:
                break
        assert len(ports("".join(seen))) == 2, "".join(seen)
        assert all(is_listening(port) for port in ports("".join(seen)))
        time.sleep(5)  # in the middle of `airflow dags test`
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C sends to the foreground process group
        rest, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    output = "".join(seen) + rest
    assert process.returncode == 130
    assert "demo: interrupted" in output
    assert "stopped the emulator and the bridge" in output
    assert not any(is_listening(port) for port in ports(output))
    assert started_from(tmp_path / "demo") == [], "a process the demo started is still running"


def started_from(demo_dir: Path) -> list[str]:
    """Command lines of running processes that mention the demo's folder."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(demo_dir) in cmdline:
            found.append(cmdline)
    return found


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("MAVI_DEMO_VIDEO", "/no/such/video.mp4", "MAVI_DEMO_VIDEO: no file /no/such/video.mp4"),
        ("MAVI_DEMO_MODEL", "gpt-4o", "MAVI_DEMO_MODEL: gpt-4o is not a model Mavi supports"),
        ("MAVI_DEMO_SECONDS", "0", "MAVI_DEMO_SECONDS: 0 is not a positive number of seconds"),
        ("MAVI_DEMO_SECONDS", "ten", "MAVI_DEMO_SECONDS: ten is not a positive number of seconds"),
        ("VENV", "/no/such/venv", "no virtual environment at /no/such/venv"),
        ("MAVI_DEMO_DAG", "mavi_nope", "MAVI_DEMO_DAG: mavi_nope is not a demo DAG"),
        (
            "MAVI_DEMO_SEGMENT_SECONDS",
            "0",
            "MAVI_DEMO_SEGMENT_SECONDS: 0 is not a whole number of seconds >= 1",
        ),
        ("MAVI_DEMO_SEGMENT_SECONDS", "2.5", "MAVI_DEMO_SEGMENT_SECONDS: 2.5 is not a whole number"),
    ],
)
def test_demo_refuses_bad_settings_before_starting_anything(
    tmp_path: Path, variable: str, value: str, message: str
) -> None:
    env = {**demo_env(tmp_path / "demo"), variable: value}
    if variable == "MAVI_DEMO_SEGMENT_SECONDS":
        env["MAVI_DEMO_DAG"] = "mavi_video_insights"
    done = subprocess.run(
        ["bash", str(REPO / "scripts" / "demo.sh")],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert f"demo: error: {message}" in done.stderr
    assert "starting" not in done.stdout
    assert not (tmp_path / "demo").exists(), "nothing is created for a bad setting"
