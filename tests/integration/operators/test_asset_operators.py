"""Upload, download (with safe frame unpacking), delete, and the sensors, against the emulator and bridge."""

from __future__ import annotations

import hashlib
import io
import json
import stat
import zipfile
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.bases.sensor import PokeReturnValue
from airflow.sdk.exceptions import TaskDeferred

from airflow_provider_mavi.bridge.testing import BridgeServer
from airflow_provider_mavi.exceptions import MaviNotFoundError
from airflow_provider_mavi.hooks.mavi import MaviHook
from airflow_provider_mavi.operators.download import frame_members
from airflow_provider_mavi.operators.mavi import (
    MaviDeleteAssetOperator,
    MaviDownloadAssetOperator,
    MaviExtractFramesOperator,
    MaviJobFailedError,
    MaviOperatorError,
    MaviTriggerEventError,
    MaviUploadOperator,
)
from airflow_provider_mavi.sensors.mavi import MaviAssetReadySensor, MaviJobSensor
from airflow_provider_mavi.triggers.mavi import MaviAssetReadyTrigger, MaviJobCallbackTrigger


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def asset_id(wired: Any, sample_video: Any) -> str:
    hook = MaviHook()
    asset = hook.upload_file(str(sample_video))
    hook.wait_for_asset_ready(asset, timeout=60, poll_interval=0.1)
    return asset


# ------------------------------------------------------------------------------------------ upload


def test_upload_defers_on_readiness_and_pushes_media(wired: Any, sample_video: Path, run: Any) -> None:
    op = MaviUploadOperator(task_id="upload", source=str(sample_video), poll_interval=0.2)
    context = run.context("upload")
    with pytest.raises(TaskDeferred) as caught:
        op.execute(context)
    trigger = caught.value.trigger
    assert isinstance(trigger, MaviAssetReadyTrigger)
    assert trigger.asset_id.startswith("re_")
    media = run.xcom("upload", "media")
    assert media["asset_id"] == trigger.asset_id
    assert media["size_bytes"] == sample_video.stat().st_size
    assert media["duration_seconds"] == pytest.approx(6.0, abs=0.2)
    assert media["source"] == str(sample_video)
    event = {"status": "success", "asset_id": trigger.asset_id, "metadata": {}, "message": "SUCCESS"}
    assert op.execute_complete(context, event, asset_id=trigger.asset_id) == trigger.asset_id


def test_upload_blocking_waits_until_ready(wired: Any, sample_video: Path, run: Any) -> None:
    op = MaviUploadOperator(task_id="upload", source=sample_video, deferrable=False, poll_interval=0.1)
    asset = op.execute(run.context("upload"))
    assert MaviHook().get_asset_metadata(asset)[0]["upload_status"] == "SUCCESS"


def test_upload_without_waiting_returns_at_once(wired: Any, sample_video: Path, run: Any) -> None:
    op = MaviUploadOperator(task_id="upload", source=str(sample_video), wait_until_ready=False)
    assert op.execute(run.context("upload")).startswith("re_")


def test_upload_retry_re_uses_the_asset(wired: Any, sample_video: Path, run: Any) -> None:
    first = MaviUploadOperator(task_id="upload", source=str(sample_video), wait_until_ready=False)
    a = first.execute(run.context("upload"))
    b = MaviUploadOperator(task_id="upload", source=str(sample_video), wait_until_ready=False).execute(
        run.context("upload")
    )
    assert a == b
    assert wired.stats()["requests"].get("POST /upload", 0) == 1


def test_upload_of_a_missing_file_sends_nothing(wired: Any, tmp_path: Path, run: Any) -> None:
    op = MaviUploadOperator(task_id="upload", source=str(tmp_path / "nope.mp4"))
    with pytest.raises(MaviOperatorError, match="is not an existing file: nothing was uploaded"):
        op.execute(run.context("upload"))
    assert wired.stats()["requests"].get("POST /upload", 0) == 0


@pytest.mark.parametrize(
    ("event", "error", "match"),
    [
        ({"status": "failed", "asset_id": "re_1", "message": "FAILED"}, MaviOperatorError, "not usable"),
        (
            {"status": "timeout", "asset_id": "re_1", "message": "late"},
            MaviOperatorError,
            "not ready in time",
        ),
        ({"status": "maybe", "asset_id": "re_1"}, MaviTriggerEventError, "unknown status"),
        ({"status": "success", "asset_id": "re_2"}, MaviTriggerEventError, "not 're_1'"),
        ([], MaviTriggerEventError, "not an object"),
    ],
)
def test_upload_execute_complete_rejects_bad_events(run: Any, event: Any, error: type, match: str) -> None:
    op = MaviUploadOperator(task_id="upload", source="/x.mp4")
    with pytest.raises(error, match=match):
        op.execute_complete(run.context("upload"), event, asset_id="re_1")


# ------------------------------------------------------------------------------------------ download


def test_download_a_video_to_a_directory(
    wired: Any, asset_id: str, sample_video: Path, tmp_path: Path, run: Any
) -> None:
    op = MaviDownloadAssetOperator(task_id="dl", asset_id=asset_id, destination=str(tmp_path / "out") + "/")
    result = op.execute(run.context("dl"))
    (path,) = result["paths"]
    assert Path(path).parent == tmp_path / "out"
    assert result["bytes"] == sample_video.stat().st_size
    assert result["sha256"] == sha256(sample_video) == sha256(path)
    assert result["files"] == [{"path": path, "bytes": result["bytes"], "sha256": result["sha256"]}]
    assert result["cost_usd"] == round(result["bytes"] * 0.12 / 1e9, 6)


def test_download_and_extract_frames(
    wired: Any, bridge: BridgeServer, asset_id: str, tmp_path: Path, run: Any
) -> None:
    frames = MaviExtractFramesOperator(task_id="frames", asset_id=asset_id, deferrable=False).execute(
        run.context("frames")
    )
    target = tmp_path / "frames"
    op = MaviDownloadAssetOperator(
        task_id="dl", asset_id=frames["frames_asset_id"], destination=str(target), extract=True
    )
    result = op.execute(run.context("dl"))
    assert len(result["paths"]) == frames["frame_count"]
    assert sorted(p.name for p in target.iterdir()) == sorted(Path(p).name for p in result["paths"])
    for entry in result["files"]:
        assert sha256(entry["path"]) == entry["sha256"]
        assert Path(entry["path"]).read_bytes()[:2] == b"\xff\xd8"  # real JPEGs
    assert result["bytes"] == sum(f["bytes"] for f in result["files"])


def test_extract_needs_a_frame_group(wired: Any, asset_id: str, tmp_path: Path, run: Any) -> None:
    op = MaviDownloadAssetOperator(task_id="dl", asset_id=asset_id, destination=str(tmp_path), extract=True)
    with pytest.raises(MaviOperatorError, match="needs an im_ frame group"):
        op.execute(run.context("dl"))
    assert wired.stats()["requests"].get(f"GET /{asset_id}/download", 0) == 0


def test_download_of_an_unknown_asset_leaves_nothing(wired: Any, tmp_path: Path, run: Any) -> None:
    out = tmp_path / "out"
    out.mkdir()
    op = MaviDownloadAssetOperator(task_id="dl", asset_id="re_404", destination=str(out / "x.mp4"))
    with pytest.raises(MaviNotFoundError):
        op.execute(run.context("dl"))
    assert list(out.iterdir()) == []


def _zip(entries: list[tuple[str, bytes]], *, link: str | None = None) -> zipfile.ZipFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            archive.writestr(name, data)
        if link is not None:
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    buffer.seek(0)
    return zipfile.ZipFile(buffer)


@pytest.mark.parametrize(
    ("entries", "link", "match"),
    [
        ([("../evil.jpg", b"x")], None, "leaving the destination"),
        ([("frames/../../evil.jpg", b"x")], None, "leaving the destination"),
        ([("/etc/evil.jpg", b"x")], None, "absolute path"),
        ([("C:/evil.jpg", b"x")], None, "absolute path"),
        ([("..\\evil.jpg", b"x")], None, "leaving the destination"),
        ([("ok.jpg", b"x")], "link.jpg", "a link"),
        ([("a/f.jpg", b"x"), ("b/f.jpg", b"y")], None, "two frames named 'f.jpg'"),
        ([(f"{i}.jpg", b"x" * 10) for i in range(5)], None, "more than 4 frames"),
        ([("big.jpg", b"x" * 2000)], None, "1000 bytes"),
    ],
)
def test_unsafe_frame_zips_are_refused_before_writing(entries: Any, link: Any, match: str) -> None:
    with pytest.raises(MaviOperatorError, match=match) as caught:
        frame_members(_zip(entries, link=link), max_bytes=1000, max_files=4)
    assert "nothing was extracted" in str(caught.value)


def test_only_frames_are_taken_from_the_zip() -> None:
    archive = _zip(
        [("f/0.jpg", b"a"), ("f/1.JPEG", b"b"), ("notes.txt", b"c"), (".hidden.jpg", b"d"), ("d/", b"")]
    )
    assert [name for _, name in frame_members(archive, max_bytes=100, max_files=10)] == ["0.jpg", "1.JPEG"]


def test_a_refused_zip_writes_nothing(
    wired: Any, tmp_path: Path, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("0.jpg", b"\xff\xd8ok")
        archive.writestr("../../escape.jpg", b"\xff\xd8bad")
    monkeypatch.setattr(MaviHook, "download_asset", lambda self, asset_id, destination: str(evil))
    target = tmp_path / "frames"
    op = MaviDownloadAssetOperator(task_id="dl", asset_id="im_1", destination=str(target), extract=True)
    with pytest.raises(MaviOperatorError, match="leaving the destination"):
        op.execute(run.context("dl"))
    assert not target.exists()
    assert not (tmp_path.parent / "escape.jpg").exists()


# ------------------------------------------------------------------------------------------ delete


def test_delete_and_a_retry_after_it(wired: Any, asset_id: str, run: Any) -> None:
    assert MaviDeleteAssetOperator(task_id="rm", asset_id=asset_id).execute(run.context("rm")) == {
        "asset_id": asset_id,
        "deleted": True,
    }
    with pytest.raises(MaviNotFoundError):
        MaviHook().get_asset_metadata(asset_id)
    # A retry of the same task after its delete went through: succeeds (the state store remembers).
    assert (
        MaviDeleteAssetOperator(task_id="rm", asset_id=asset_id).execute(run.context("rm"))["deleted"] is True
    )


def test_delete_of_an_unknown_asset(wired: Any, run: Any) -> None:
    with pytest.raises(MaviNotFoundError):
        MaviDeleteAssetOperator(task_id="rm", asset_id="re_404").execute(run.context("rm"))
    result = MaviDeleteAssetOperator(task_id="rm2", asset_id="re_404", missing_ok=True).execute(
        run.context("rm2")
    )
    assert result == {"asset_id": "re_404", "deleted": False}


# ------------------------------------------------------------------------------------------ sensors


def test_job_sensor_defers_then_returns_the_callback(
    bridge: BridgeServer, mavi_conn: str, kit: Any, run: Any
) -> None:
    job_id = kit.new_job_id()
    sensor = MaviJobSensor(task_id="sense", job_id=job_id, timeout=120)
    with pytest.raises(TaskDeferred) as caught:
        sensor.execute(run.context("sense"))
    trigger = caught.value.trigger
    assert isinstance(trigger, MaviJobCallbackTrigger)
    assert trigger.job_id == job_id
    payload = kit.frames_callback(job_id)
    event = {"status": "success", "job_id": job_id, "payload": payload}
    assert sensor.execute_complete(run.context("sense"), event, job_id=job_id) == payload
    with pytest.raises(MaviJobFailedError, match="broken"):
        sensor.execute_complete(
            run.context("sense"), {"status": "failed", "job_id": job_id, "message": "broken"}, job_id=job_id
        )


def test_job_sensor_pokes_the_bridge(bridge: BridgeServer, mavi_conn: str, kit: Any, run: Any) -> None:
    job_id = kit.new_job_id()
    sensor = MaviJobSensor(task_id="sense", job_id=job_id, deferrable=False)
    assert sensor.poke(run.context("sense")) is False
    kit.post_callback(bridge, kit.frames_callback(job_id))
    done = sensor.poke(run.context("sense"))
    assert isinstance(done, PokeReturnValue)
    assert done.xcom_value == kit.frames_callback(job_id)
    failed = kit.new_job_id()
    kit.post_callback(bridge, kit.failure_callback(failed, "nope"))
    with pytest.raises(MaviJobFailedError, match="nope"):
        MaviJobSensor(task_id="s2", job_id=failed, deferrable=False).poke(run.context("s2"))


def test_asset_sensor(wired: Any, asset_id: str, run: Any) -> None:
    sensor = MaviAssetReadySensor(task_id="ready", asset_id=asset_id, timeout=60)
    with pytest.raises(TaskDeferred) as caught:
        sensor.execute(run.context("ready"))
    assert isinstance(caught.value.trigger, MaviAssetReadyTrigger)
    poked = MaviAssetReadySensor(task_id="ready", asset_id=asset_id, deferrable=False).poke(
        run.context("ready")
    )
    assert isinstance(poked, PokeReturnValue)
    assert poked.xcom_value == asset_id
    event = {"status": "success", "asset_id": asset_id, "message": "SUCCESS"}
    assert sensor.execute_complete(run.context("ready"), event, asset_id=asset_id) == asset_id


def test_every_id_field_is_templated() -> None:
    assert "source" in MaviUploadOperator.template_fields
    assert {"asset_id", "destination"} <= set(MaviDownloadAssetOperator.template_fields)
    assert "asset_id" in MaviDeleteAssetOperator.template_fields
    assert "job_id" in MaviJobSensor.template_fields
    assert "asset_id" in MaviAssetReadySensor.template_fields
    json.dumps(list(MaviUploadOperator.template_fields))


def test_upload_from_object_storage_has_size_but_no_duration(
    wired: Any, sample_video: Path, run: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import fsspec
    from airflow.sdk import ObjectStoragePath
    from airflow.sdk.io import attach

    attach("memory", fs=fsspec.filesystem("memory"))  # a non-local object store, in process
    remote = ObjectStoragePath("memory://videos/cam1.mp4")
    remote.parent.mkdir(parents=True, exist_ok=True)
    remote.write_bytes(sample_video.read_bytes())
    op = MaviUploadOperator(task_id="upload", source="memory://videos/cam1.mp4", wait_until_ready=False)
    asset = op.execute(run.context("upload"))
    assert asset.startswith("re_")
    media = run.xcom("upload", "media")
    assert media["size_bytes"] == sample_video.stat().st_size
    assert media["duration_seconds"] is None
    assert "frame prices will be unknown" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("event", "error", "match"),
    [
        (
            {"status": "timeout", "job_id": "j1", "bridge_url": "http://b:1"},
            "MaviJobTimeoutError",
            "mavi-bridge show j1",
        ),
        ({"status": "error", "job_id": "j1", "message": "401"}, "MaviWaitError", "401"),
        ({"status": "nope", "job_id": "j1"}, "MaviTriggerEventError", "unknown status"),
        ({"status": "success", "job_id": "j1"}, "MaviTriggerEventError", "no callback payload"),
    ],
)
def test_job_sensor_execute_complete_errors(run: Any, event: Any, error: str, match: str) -> None:
    from airflow_provider_mavi.operators import errors

    sensor = MaviJobSensor(task_id="sense", job_id="j1")
    with pytest.raises(getattr(errors, error), match=match):
        sensor.execute_complete(run.context("sense"), event, job_id="j1")


@pytest.mark.parametrize("bad", ["", None, 7])
def test_sensors_refuse_missing_ids(run: Any, bad: Any) -> None:
    with pytest.raises(MaviOperatorError, match="job_id must be a non-empty string"):
        MaviJobSensor(task_id="s", job_id=bad).execute(run.context("s"))
    with pytest.raises(MaviOperatorError, match="asset_id must be a non-empty string"):
        MaviAssetReadySensor(task_id="a", asset_id=bad).execute(run.context("a"))


def test_download_and_extract_to_object_storage(
    wired: Any, asset_id: str, sample_video: Path, run: Any
) -> None:
    import fsspec
    from airflow.sdk import ObjectStoragePath
    from airflow.sdk.io import attach

    attach("memory", fs=fsspec.filesystem("memory"))
    plain = MaviDownloadAssetOperator(task_id="dl", asset_id=asset_id, destination="memory://dl/video.mp4")
    result = plain.execute(run.context("dl"))
    assert result["paths"] == ["memory://dl/video.mp4"]
    assert result["sha256"] == sha256(sample_video)
    frames = MaviExtractFramesOperator(task_id="frames", asset_id=asset_id, deferrable=False).execute(
        run.context("frames")
    )
    unpacked = MaviDownloadAssetOperator(
        task_id="dl2", asset_id=frames["frames_asset_id"], destination="memory://dl/frames/", extract=True
    ).execute(run.context("dl2"))
    assert len(unpacked["paths"]) == frames["frame_count"]
    first = unpacked["files"][0]
    data = ObjectStoragePath(first["path"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == first["sha256"]
