"""The async job operators of issue 11 against real servers: the emulator doing real media work (its sample
video: tones and silences, a scene cut every 2 s) sending callbacks to a real bridge subprocess.

One emulator serves the whole module (faults cleared before each test); each test counts the paid jobs it
caused from the emulator's own stats. Deferred tasks are finished by running their real trigger.
"""

from __future__ import annotations

import asyncio
import html
import json
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import av
import pytest
import webvtt

from airflow_provider_mavi.bridge.testing import BridgeServer
from airflow_provider_mavi.compat import TaskDeferred
from airflow_provider_mavi.emulator.testing import EmulatorServer
from airflow_provider_mavi.exceptions import MaviJobFailedError, MaviJobTimeoutError, MaviRateLimitError
from airflow_provider_mavi.hooks.bridge import MaviBridgeHook
from airflow_provider_mavi.hooks.mavi import MaviHook
from airflow_provider_mavi.operators.mavi import (
    MaviDetectScenesOperator,
    MaviEditVideoOperator,
    MaviRecognizeSpeakersOperator,
    MaviSpeakerDiarizationOperator,
    MaviSplitVideoOperator,
    MaviSummarizeVideoOperator,
    MaviTranscribeAudioOperator,
)
from airflow_provider_mavi.sensors.mavi import MaviJobSensor

#: The sample's three voiced stretches (220 Hz, 880 Hz, 220 Hz) and its scene cuts every 2 s at 10 fps.
TURNS = [(0.0, 1.5, "SPEAKER_00"), (2.0, 3.5, "SPEAKER_01"), (4.0, 5.5, "SPEAKER_00")]


@pytest.fixture(scope="module")
def mavi(bridge: BridgeServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    """One emulator for the module, its webhook the session's bridge."""
    data = tmp_path_factory.mktemp("emulator")
    with EmulatorServer(webhook_url=bridge.callback_url, qps=20, data_dir=data) as server:
        yield server


def connection(mavi: EmulatorServer, bridge: BridgeServer | None) -> str:
    extra: dict[str, Any] = {"max_requests_per_second": 20}
    if bridge is not None:
        extra.update(bridge_url=bridge.url, bridge_token=bridge.token)
    return json.dumps({"conn_type": "mavi", "host": mavi.base_url, "password": mavi.api_key, "extra": extra})


@pytest.fixture(autouse=True)
def wired(mavi: EmulatorServer, bridge: BridgeServer, monkeypatch: pytest.MonkeyPatch) -> EmulatorServer:
    mavi.set_faults({})
    monkeypatch.setenv("AIRFLOW_CONN_MAVI_DEFAULT", connection(mavi, bridge))
    return mavi


@pytest.fixture(scope="module")
def video(mavi: EmulatorServer, bridge: BridgeServer, sample_video: Path) -> str:
    """The 6 s sample, uploaded once."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_CONN_MAVI_DEFAULT", connection(mavi, bridge))
        hook = MaviHook()
        asset = hook.upload_file(str(sample_video))
        hook.wait_for_asset_ready(asset, timeout=60, poll_interval=0.1)
    return asset


class Paid:
    """The paid jobs the emulator recorded since the test started."""

    def __init__(self, mavi: EmulatorServer) -> None:
        self.mavi = mavi
        self.before = len(mavi.stats()["jobs"])

    def jobs(self, kind: str | None = None) -> list[dict[str, Any]]:
        return [job for job in self.mavi.stats()["jobs"][self.before :] if kind in (None, job["kind"])]


@pytest.fixture
def paid(mavi: EmulatorServer) -> Paid:
    return Paid(mavi)


@pytest.fixture
def tid() -> str:
    """A task id of its own: the session's bridge remembers jobs by dag, run and task id across tests."""
    return f"t_{secrets.token_hex(4)}"


def deferred(op: Any, context: dict[str, Any]) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as caught:
        op.execute(context)
    return caught.value


def fire(deferral: TaskDeferred) -> dict[str, Any]:
    """Run the deferral's real trigger until its one event (what the triggerer does)."""

    async def first() -> dict[str, Any]:
        async for event in deferral.trigger.run():
            payload: dict[str, Any] = event.payload
            return payload
        raise AssertionError("the trigger yielded nothing")

    return asyncio.run(first())


def run_deferred(op: Any, run: Any, task_id: str) -> Any:
    """One try that defers, the trigger, then execute_complete: what Airflow does with a deferrable task."""
    deferral = deferred(op, run.context(task_id))
    return getattr(op, deferral.method_name)(run.context(task_id), fire(deferral), **deferral.kwargs)


def decode(path: str | Path) -> tuple[float, int, int, int]:
    """Decode every video frame of a file with PyAV: (seconds, frames, width, height)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        seconds = float(container.duration or 0) / 1_000_000
        return seconds, frames, stream.codec_context.width, stream.codec_context.height


# ------------------------------------------------------------------------------------------ each operator


def test_speech_with_speakers_deferred_to_files(video: str, run: Any, paid: Paid, tmp_path: Path) -> None:
    op = MaviTranscribeAudioOperator(
        task_id="speech", asset_id=video, speaker=True, output_path=str(tmp_path / "speech")
    )
    result = run_deferred(op, run, "speech")
    assert result["job_id"] == run.xcom("speech", "job_id") == paid.jobs("transcribe_audio")[0]["job_id"]
    assert (result["segment_count"], result["duration_seconds"], result["speaker_labels"]) == (3, 6.0, True)
    assert result["cost_usd"] == 0.012  # 6 s at $0.002 (speakers)
    document = json.loads(Path(result["json_path"]).read_text())
    assert [(s["start"], s["end"], s["speaker"]) for s in document["segments"]] == TURNS
    assert all(s["text"] == "[speech 1.5 s]" for s in document["segments"])
    vtt = webvtt.read(result["vtt_path"]).captions
    assert [(c.start, c.end, c.voice, html.unescape(c.text)) for c in vtt][1] == (
        "00:00:02.000",
        "00:00:03.500",
        "SPEAKER_01",
        "[speech 1.5 s]",
    )
    srt = webvtt.from_srt(result["srt_path"]).captions
    assert [(c.start, c.text) for c in srt] == [
        ("00:00:00.000", "[speech 1.5 s]"),
        ("00:00:02.000", "[speech 1.5 s]"),
        ("00:00:04.000", "[speech 1.5 s]"),
    ]
    assert len(paid.jobs()) == 1


def test_speech_sync_needs_no_bridge(
    mavi: EmulatorServer, video: str, run: Any, paid: Paid, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_MAVI_DEFAULT", connection(mavi, bridge=None))
    media = {"asset_id": video, "duration_seconds": 6.0, "size_bytes": 1}  # the upload's XCom "media"
    op = MaviTranscribeAudioOperator(task_id="s", asset_id=video, sync=True, media_duration_seconds=media)
    result = op.execute(run.context("s"))
    assert [(s["start"], s["end"]) for s in result["segments"]] == [(a, b) for a, b, _ in TURNS]
    assert {s["speaker"] for s in result["segments"]} == {None}
    assert (result["job_id"], result["cost_usd"]) == (None, 0.006)
    assert [job["kind"] for job in paid.jobs()] == ["transcribe_audio_sync"]
    assert paid.jobs()[0]["cost_usd"] == result["cost_usd"]  # the emulator billed what we priced


def test_diarization_async_in_the_worker_and_sync(video: str, run: Any, paid: Paid) -> None:
    waited = MaviSpeakerDiarizationOperator(task_id="d", asset_id=video, deferrable=False).execute(
        run.context("d")
    )
    assert [(s["start"], s["end"], s["speaker"]) for s in waited["segments"]] == TURNS
    assert (waited["speakers"], waited["cost_usd"]) == (["SPEAKER_00", "SPEAKER_01"], 0.006)
    op = MaviSpeakerDiarizationOperator(task_id="ds", asset_id=video, sync=True, media_duration_seconds="6.0")
    answered = op.execute(run.context("ds"))
    assert answered["segments"] == waited["segments"]
    assert answered["cost_usd"] == 0.006
    assert [job["kind"] for job in paid.jobs()] == ["diarize", "diarize_sync"]


def test_recognize_speakers(video: str, run: Any, paid: Paid) -> None:
    op = MaviRecognizeSpeakersOperator(task_id="r", asset_id=video, media_duration_seconds=6)
    result = run_deferred(op, run, "r")
    assert [(s["start"], s["end"], s["speaker"]) for s in result["segments"]] == TURNS
    assert result["faces"] == []  # the emulator detects no faces and says so
    assert result["usage"][0]["model"] == "pyannote"
    assert result["cost_usd"] == 0.01  # $0.1 per minute, 6 s
    assert paid.jobs("recognize_speakers")[0]["cost_usd"] == 0.01


def test_summary(video: str, run: Any, paid: Paid) -> None:
    result = run_deferred(MaviSummarizeVideoOperator(task_id="sum", asset_id=video), run, "sum")
    assert "A 6.0 s video, 320x240 at 10 fps, in 3 scene(s)" in result["summary"]
    assert result["usage"]["model"] == "gemini-2.5-flash"
    assert result["cost_usd"] is None
    assert len(paid.jobs("summarize")) == 1


def test_scenes_in_seconds_with_the_fps_and_in_frames_without(video: str, run: Any) -> None:
    timed = run_deferred(MaviDetectScenesOperator(task_id="c", asset_id=video, fps=10), run, "c")
    assert [(s["start_frame"], s["end_frame"]) for s in timed["scenes"]] == [(0, 19), (20, 39), (40, 59)]
    assert [(s["start_seconds"], s["end_seconds"]) for s in timed["scenes"]] == [(0, 2), (2, 4), (4, 6)]
    framed = run_deferred(MaviDetectScenesOperator(task_id="f", asset_id=video), run, "f")
    assert framed["fps"] is None
    assert {s["start_seconds"] for s in framed["scenes"]} == {None}


def test_split_returns_ids_whose_segments_download_and_play(video: str, run: Any, tmp_path: Path) -> None:
    ids = run_deferred(
        MaviSplitVideoOperator(task_id="split", asset_id=video, segment_seconds=2), run, "split"
    )
    assert isinstance(ids, list)
    assert len(ids) == 3
    full = run.xcom("split", "split")
    assert full["asset_ids"] == ids
    assert [s["original_filename"].rsplit("_", 1)[1] for s in full["segments"]] == ["0", "1", "2"]
    hook = MaviHook()
    total = 0.0
    for asset in ids:
        path = hook.download_asset(asset, str(tmp_path) + "/")
        seconds, frames, width, height = decode(path)
        assert (width, height) == (320, 240)
        assert frames > 0
        total += seconds
    assert total == pytest.approx(6.0, abs=0.3)


def test_edit_makes_a_portrait_video(video: str, run: Any, tmp_path: Path) -> None:
    op = MaviEditVideoOperator(
        task_id="edit", asset_ids=[video, video], orientation="portrait", user_prompt="Join them."
    )
    result = run_deferred(op, run, "edit")
    assert result["asset_id"] == run.xcom("edit", "asset_id")
    assert result["asset"]["original_filename"] == "final_video"
    seconds, _, width, height = decode(MaviHook().download_asset(result["asset_id"], str(tmp_path) + "/"))
    assert height > width
    assert seconds == pytest.approx(12.0, abs=0.5)


def test_the_job_sensor_parses_a_job_submitted_elsewhere(video: str, run: Any) -> None:
    job_id = MaviHook().detect_scenes(video)
    sensor = MaviJobSensor(task_id="sense", job_id=job_id, kind="detect_scenes")
    result = run_deferred(sensor, run, "sense")
    assert [(s["start_frame"], s["end_frame"]) for s in result["scenes"]] == [(0, 19), (20, 39), (40, 59)]


# ------------------------------------------------------------------------------------------ every operator

#: kind, endpoint, a factory of the operator for an asset (extra kwargs passed on).
Factory = Callable[..., Any]
OPERATORS: list[tuple[str, str, Factory]] = [
    (
        "transcribe_audio",
        "POST /transcriptions/async-generate-audio",
        lambda a, **kw: MaviTranscribeAudioOperator(asset_id=a, speaker=True, **kw),
    ),
    (
        "diarize",
        "POST /transcriptions/async-generate-speaker",
        lambda a, **kw: MaviSpeakerDiarizationOperator(asset_id=a, **kw),
    ),
    (
        "recognize_speakers",
        "POST /transcriptions/async-generate-multi-speaker",
        lambda a, **kw: MaviRecognizeSpeakersOperator(asset_id=a, **kw),
    ),
    (
        "summarize",
        "POST /transcriptions/async-summary",
        lambda a, **kw: MaviSummarizeVideoOperator(asset_id=a, **kw),
    ),
    ("detect_scenes", "POST /video/clip", lambda a, **kw: MaviDetectScenesOperator(asset_id=a, fps=10, **kw)),
    (
        "split_video",
        "POST /video/split",
        lambda a, **kw: MaviSplitVideoOperator(asset_id=a, segment_seconds=3, **kw),
    ),
    (
        "edit_video",
        "POST /video/edit",
        lambda a, **kw: MaviEditVideoOperator(
            asset_ids=[a], orientation="landscape", user_prompt="Trim.", **kw
        ),
    ),
]
IDS = [kind for kind, _, _ in OPERATORS]


@pytest.mark.parametrize(("kind", "endpoint", "make"), OPERATORS, ids=IDS)
def test_a_failure_callback_fails_with_mavis_message(
    mavi: EmulatorServer, video: str, run: Any, paid: Paid, kind: str, endpoint: str, make: Factory, tid: str
) -> None:
    mavi.set_faults({"failure_callback": {"next": 1, "msg": f"{kind} broke at 00:02"}})
    with pytest.raises(MaviJobFailedError, match=f"{kind} broke at 00:02"):
        run_deferred(make(video, task_id=tid), run, tid)
    assert len(paid.jobs(kind)) == 1


@pytest.mark.parametrize(("kind", "endpoint", "make"), OPERATORS, ids=IDS)
def test_duplicate_callbacks_give_one_result(
    mavi: EmulatorServer,
    bridge: BridgeServer,
    video: str,
    run: Any,
    paid: Paid,
    kind: str,
    endpoint: str,
    make: Factory,
    tid: str,
) -> None:
    mavi.set_faults({"duplicate_callback": {"next": 1, "copies": 3}})
    result = make(video, task_id=tid, deferrable=False).execute(run.context(tid))
    job_id = run.xcom(tid, "job_id")
    assert [job["job_id"] for job in paid.jobs()] == [job_id]
    with MaviBridgeHook.from_url(bridge.url, bridge.token) as hook:
        for _ in range(50):  # the copies land after the first, which the task already used
            record = hook.get_callback(job_id)
            if record is not None and record.deliveries == 3:
                break
            time.sleep(0.1)
    assert record is not None
    assert record.deliveries == 3  # stored once, counted three times
    assert result is not None
    assert make(video, task_id=tid, deferrable=False).execute(run.context(tid)) == result  # a retry: same


@pytest.mark.parametrize(("kind", "endpoint", "make"), OPERATORS, ids=IDS)
def test_no_callback_by_the_deadline_is_a_timeout(
    mavi: EmulatorServer, video: str, run: Any, paid: Paid, kind: str, endpoint: str, make: Factory, tid: str
) -> None:
    mavi.set_faults({"drop_callback": {"next": 1}})
    with pytest.raises(MaviJobTimeoutError) as caught:
        run_deferred(make(video, task_id=tid, callback_timeout=1), run, tid)
    assert f"mavi-bridge show {run.xcom(tid, 'job_id')}" in str(caught.value)
    assert len(paid.jobs(kind)) == 1


@pytest.mark.parametrize(("kind", "endpoint", "make"), OPERATORS, ids=IDS)
def test_the_ambiguous_400_is_retried_a_bounded_number_of_times(
    mavi: EmulatorServer, video: str, run: Any, paid: Paid, kind: str, endpoint: str, make: Factory, tid: str
) -> None:
    mavi.set_faults({"rate_limit": {"next": 1, "status": 400, "endpoints": [endpoint]}})
    deferred(make(video, task_id=f"{tid}_once", mavi_retry_delay=0.05), run.context(f"{tid}_once"))
    assert len(paid.jobs(kind)) == 1
    mavi.set_faults({"rate_limit": {"next": 10, "status": 400, "endpoints": [endpoint]}})
    with pytest.raises(MaviRateLimitError) as caught:
        make(video, task_id=f"{tid}_never", mavi_retry_delay=0.05).execute(run.context(f"{tid}_never"))
    assert caught.value.ambiguous is True
    assert len(paid.jobs(kind)) == 1  # the refused submits created nothing
    assert run.xcom(f"{tid}_never", "job_id") is None


@pytest.mark.parametrize(("kind", "endpoint", "make"), OPERATORS, ids=IDS)
def test_a_retried_task_pays_once(
    mavi: EmulatorServer, video: str, run: Any, paid: Paid, kind: str, endpoint: str, make: Factory, tid: str
) -> None:
    mavi.set_faults({"callback_delay": {"next": 1, "seconds": 1.5}})
    first = deferred(make(video, task_id=tid), run.context(tid))  # the worker is then lost
    second = deferred(make(video, task_id=tid), run.context(tid))  # the retry re-attaches
    assert second.trigger.job_id == first.trigger.job_id
    assert second.trigger.deadline == first.trigger.deadline
    fire(second)  # the callback comes in; the task dies again before using it
    result = make(video, task_id=tid).execute(run.context(tid))  # the third try uses the stored callback
    assert result is not None
    assert [job["job_id"] for job in paid.jobs()] == [first.trigger.job_id]
