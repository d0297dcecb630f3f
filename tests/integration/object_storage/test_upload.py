"""Uploads from S3 (moto) to the emulator: streamed byte for byte, refused before anything is sent when the
object is missing or provably not a video, and a FAILED upload named as such with Mavi's reason."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import ObjectStoragePath

from airflow_provider_mavi.compat import TaskDeferred
from airflow_provider_mavi.exceptions import MaviAssetFailedError, MaviOperatorError
from airflow_provider_mavi.hooks.mavi import MaviHook
from airflow_provider_mavi.operators.mavi import MaviUploadOperator


def received(wired: Any, asset_id: str) -> bytes:
    """The bytes the emulator stored for an upload (its data folder is the test's ``tmp_path/emu``)."""
    folder = Path(wired.settings.data_dir) / "uploads"
    (path,) = [p for p in folder.iterdir() if p.name.split(".")[0] == asset_id]
    return path.read_bytes()


def uploads(wired: Any) -> int:
    requests = wired.stats()["requests"]
    return sum(n for name, n in requests.items() if name.startswith(("POST /upload", "PUT /upload")))


def test_an_s3_video_is_uploaded_byte_for_byte_and_its_duration_measured(
    wired: Any, s3: Any, sample_video: Path, run: Any
) -> None:
    source = s3.put("in/clip one.mp4", sample_video.read_bytes())
    op = MaviUploadOperator(
        task_id="upload", source=source, media_type="video", deferrable=False, poll_interval=0.1
    )
    asset_id = op.execute(run.context("upload"))
    assert received(wired, asset_id) == sample_video.read_bytes()
    media = run.xcom("upload", "media")
    assert media["source"] == source
    assert media["size_bytes"] == sample_video.stat().st_size
    # measured from the MP4 header through a few small range reads: frame prices are known for S3 videos
    assert media["duration_seconds"] == pytest.approx(6.0, abs=0.2)


@pytest.mark.parametrize("method", ["multipart", "signed_url"])
def test_a_large_object_streams_through_both_upload_paths(wired: Any, s3: Any, method: str) -> None:
    # 20 MiB: more than two 8 MiB read-ahead blocks, so the stream crosses block boundaries
    data = os.urandom(20 * 2**20)
    s3.put("big/blob.mp4", data)
    asset_id = MaviHook().upload_file(ObjectStoragePath(s3.url("big/blob.mp4")), method=method)  # type: ignore[arg-type]
    assert received(wired, asset_id) == data


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("missing key", "there is no object at s3://aws_default@{bucket}/in/nope.mp4"),
        ("missing bucket", "the bucket 'mavi-no-such-bucket' does not exist"),
    ],
)
def test_a_missing_object_or_bucket_is_refused_before_uploading(
    wired: Any, s3: Any, run: Any, where: str, message: str
) -> None:
    source = s3.url("in/nope.mp4") if where == "missing key" else "s3://aws_default@mavi-no-such-bucket/a.mp4"
    before = wired.stats()
    op = MaviUploadOperator(task_id="upload", source=source, media_type="video")
    with pytest.raises(MaviOperatorError) as caught:
        op.execute(run.context("upload"))
    assert message.format(bucket=s3.name) in str(caught.value)
    assert "nothing was uploaded, nothing paid" in str(caught.value)
    after = wired.stats()
    assert uploads(wired) == 0
    assert after["jobs"] == before["jobs"] == []
    assert "mavi-no-such-bucket" not in s3.bucket_names()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"notes about the shoot\nnot a video at all\n", "it is a text file, not a video"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "it is a PDF document, not a video"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01", "it is a JPEG image, not a video"),
        (b"", "it is empty"),
    ],
)
@pytest.mark.parametrize("on", ["local", "s3"])
def test_a_file_that_is_provably_not_a_video_is_refused_before_uploading(
    wired: Any, s3: Any, tmp_path: Path, run: Any, content: bytes, problem: str, on: str
) -> None:
    if on == "s3":
        source = s3.put("in/clip.mp4", content)
    else:
        source = str(tmp_path / "clip.mp4")
        Path(source).write_bytes(content)
    op = MaviUploadOperator(task_id="upload", source=source, media_type="video")
    with pytest.raises(MaviOperatorError, match=f"{problem}: nothing was uploaded, nothing paid"):
        op.execute(run.context("upload"))
    assert uploads(wired) == 0
    assert wired.stats()["jobs"] == []


def test_undecodable_bytes_are_refused_locally_by_ffmpeg(wired: Any, tmp_path: Path, run: Any) -> None:
    source = tmp_path / "noise.mp4"
    source.write_bytes(bytes(range(256)) * 64)
    op = MaviUploadOperator(task_id="upload", source=str(source), media_type="video")
    with pytest.raises(MaviOperatorError, match=r"it is not decodable media \(FFmpeg: "):
        op.execute(run.context("upload"))
    assert uploads(wired) == 0


def test_an_audio_file_is_not_a_video(wired: Any, tmp_path: Path, run: Any) -> None:
    from airflow_provider_mavi.emulator.samples import make_sample_audio

    source = make_sample_audio(tmp_path / "tone.m4a", seconds=1.0)
    op = MaviUploadOperator(task_id="upload", source=str(source), media_type="video")
    with pytest.raises(MaviOperatorError, match=r"it has no video stream \(audio only\)"):
        op.execute(run.context("upload"))
    # the same file as audio passes the check and is uploaded
    audio = MaviUploadOperator(task_id="upload_audio", source=str(source), media_type="audio")
    audio.wait_until_ready = False
    assert audio.execute(run.context("upload_audio")).startswith("re_")


def test_a_file_mavi_fails_raises_asset_failed_in_the_worker(wired: Any, s3: Any, run: Any) -> None:
    # binary noise on S3: the first bytes prove nothing and PyAV does not read remote files, so it goes
    source = s3.put("in/noise.mp4", bytes(range(256)) * 64)
    op = MaviUploadOperator(
        task_id="upload", source=source, media_type="video", deferrable=False, poll_interval=0.1
    )
    with pytest.raises(MaviAssetFailedError) as caught:
        op.execute(run.context("upload"))
    message = str(caught.value)
    assert f"Mavi could not process the upload of {source}" in message
    assert "upload_status FAILED; Mavi gives no reason" in message
    assert "could not prove it is not a video" in message
    assert caught.value.asset_id is not None
    assert caught.value.asset_id.startswith("re_")


def test_a_file_mavi_fails_raises_asset_failed_after_deferring(wired: Any, tmp_path: Path, run: Any) -> None:
    source = tmp_path / "noise.mp4"
    source.write_bytes(bytes(range(256)) * 64)
    op = MaviUploadOperator(task_id="upload", source=str(source), poll_interval=0.1)  # no media_type check
    context = run.context("upload")
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context)
    trigger = deferred.value.trigger

    async def first_event() -> Any:
        async for event in trigger.run():
            return event.payload
        return None

    event = asyncio.run(first_event())
    with pytest.raises(MaviAssetFailedError, match=r"not checked before the upload \(media_type=None\)"):
        op.execute_complete(context, event, asset_id=trigger.asset_id)
