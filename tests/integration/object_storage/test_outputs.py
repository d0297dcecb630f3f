"""Results written to S3 (moto), and output locations checked before anything is paid for: a bucket that
does not exist is an error (never created), with zero jobs and zero downloads at the emulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import webvtt

from airflow_provider_mavi.exceptions import MaviOperatorError
from airflow_provider_mavi.hooks.mavi import MaviHook
from airflow_provider_mavi.operators.mavi import (
    MaviDownloadAssetOperator,
    MaviExtractFramesOperator,
    MaviTranscribeVideoOperator,
)
from airflow_provider_mavi.paths import PROBE_PREFIX

MISSING = "s3://aws_default@mavi-no-such-bucket/results/"


@pytest.fixture
def asset_id(wired: Any, sample_video: Path) -> str:
    hook = MaviHook()
    asset = hook.upload_file(str(sample_video))
    hook.wait_for_asset_ready(asset, timeout=60, poll_interval=0.1)
    return asset


def test_transcript_json_and_webvtt_land_on_s3(wired: Any, s3: Any, asset_id: str, run: Any) -> None:
    op = MaviTranscribeVideoOperator(
        task_id="transcribe", asset_id=asset_id, output_path=s3.url("out/transcript"), deferrable=False
    )
    result = op.execute(run.context("transcribe"))
    job_id = result["job_id"]
    assert result["json_path"] == s3.url(f"out/transcript/{job_id}.json")
    assert s3.list_keys("out/") == [f"out/transcript/{job_id}.json", f"out/transcript/{job_id}.vtt"]
    document = json.loads(s3.get(f"out/transcript/{job_id}.json"))
    assert len(document["segments"]) == result["segment_count"] >= 1
    vtt = s3.get(f"out/transcript/{job_id}.vtt").decode()
    captions = webvtt.from_string(vtt)
    assert len(captions) == result["segment_count"]
    assert not [k for k in s3.list_keys() if PROBE_PREFIX in k], "the write check left its object behind"


def test_frames_unzip_to_s3(wired: Any, s3: Any, asset_id: str, run: Any) -> None:
    frames = MaviExtractFramesOperator(task_id="frames", asset_id=asset_id, deferrable=False).execute(
        run.context("frames")
    )
    op = MaviDownloadAssetOperator(
        task_id="download", asset_id=frames["frames_asset_id"], destination=s3.url("out/frames"), extract=True
    )
    result = op.execute(run.context("download"))
    keys = s3.list_keys("out/frames/")
    assert len(keys) == frames["frame_count"] == len(result["files"]) >= 5
    assert all(s3.get(k).startswith(b"\xff\xd8\xff") for k in keys), "every frame is a JPEG"
    assert {f["path"] for f in result["files"]} == {s3.url(k) for k in keys}


def test_a_transcript_to_a_missing_bucket_submits_nothing(
    wired: Any, s3: Any, asset_id: str, run: Any
) -> None:
    op = MaviTranscribeVideoOperator(task_id="transcribe", asset_id=asset_id, output_path=MISSING)
    with pytest.raises(MaviOperatorError) as caught:
        op.execute(run.context("transcribe"))
    assert str(caught.value) == (
        f"output_path {MISSING.rstrip('/')} cannot be written: the bucket 'mavi-no-such-bucket' does not "
        "exist (or cannot be seen with connection 'aws_default'); buckets are never created for you; "
        "nothing was submitted."
    )
    assert wired.stats()["jobs"] == []
    assert "mavi-no-such-bucket" not in s3.bucket_names()


def test_frames_to_a_missing_bucket_are_not_downloaded(wired: Any, s3: Any, asset_id: str, run: Any) -> None:
    frames = MaviExtractFramesOperator(task_id="frames", asset_id=asset_id, deferrable=False).execute(
        run.context("frames")
    )
    before = wired.stats()["requests"]
    for extract in (True, False):
        op = MaviDownloadAssetOperator(
            task_id="download", asset_id=frames["frames_asset_id"], destination=MISSING, extract=extract
        )
        with pytest.raises(MaviOperatorError, match=r"does not exist.*nothing was downloaded"):
            op.execute(run.context("download"))
    downloads = {k: v for k, v in wired.stats()["requests"].items() if "download" in k}
    assert downloads == {k: v for k, v in before.items() if "download" in k}
    assert "mavi-no-such-bucket" not in s3.bucket_names()


def test_a_local_output_under_a_file_submits_nothing(
    wired: Any, tmp_path: Path, asset_id: str, run: Any
) -> None:
    (tmp_path / "taken").write_text("a file where the folder should be")
    op = MaviTranscribeVideoOperator(
        task_id="t", asset_id=asset_id, output_path=str(tmp_path / "taken" / "out")
    )
    with pytest.raises(MaviOperatorError, match=r"taken is a file; nothing was submitted"):
        op.execute(run.context("t"))
    assert wired.stats()["jobs"] == []
