"""Upload, download (with safe frame unpacking) and delete, against the emulator and the bridge."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_mavi.compat import TaskDeferred
from airflow_provider_mavi.exceptions import MaviNotFoundError
from airflow_provider_mavi.hooks.mavi import MaviHook
from airflow_provider_mavi.operators.mavi import (
    MaviDeleteAssetOperator,
    MaviDownloadAssetOperator,
    MaviExtractFramesOperator,
    MaviOperatorError,
    MaviUploadOperator,
)
from airflow_provider_mavi.triggers.mavi import MaviAssetReadyTrigger


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


def test_download_and_extract_frames(wired: Any, asset_id: str, tmp_path: Path, run: Any) -> None:
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


def test_upload_from_object_storage_measures_size_and_duration(
    wired: Any, sample_video: Path, run: Any
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
    # read from the MP4 header through the remote file (a few small reads): frame prices are known
    assert media["duration_seconds"] == pytest.approx(6.0, abs=0.2)


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
