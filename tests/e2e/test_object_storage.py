"""The example DAGs with the video and every output on S3: moto's S3 server (a subprocess on loopback), the
Amazon provider's ``ObjectStoragePath`` support, an ``aws_default`` connection whose ``endpoint_url`` is that
server, and ``airflow dags test`` against the real emulator and bridge. Bad locations fail before any job."""

from __future__ import annotations

import hashlib
import io
import json
import secrets
from typing import Any

import httpx
import pytest
import webvtt
from PIL import Image

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(1800)]

MAVI_QPS = 4  # a faster account than Mavi's 1, to keep six DAG runs within a few minutes on 2 cores
SECONDS = 3.0


class S3:
    def __init__(self, server: Any) -> None:
        self.client = server.client()
        self.bucket = f"mavi-e2e-{secrets.token_hex(4)}"
        self.client.create_bucket(Bucket=self.bucket)

    def url(self, key: str) -> str:
        return f"s3://aws_default@{self.bucket}/{key}"

    def key(self, url: str) -> str:
        assert url.startswith(self.url("")), url
        return url[len(self.url("")) :]

    def get(self, url_or_key: str) -> bytes:
        key = self.key(url_or_key) if "://" in url_or_key else url_or_key
        body: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body

    def list_keys(self, prefix: str = "") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def buckets(self) -> set[str]:
        return {b["Name"] for b in self.client.list_buckets()["Buckets"]}


@pytest.fixture(scope="module")
def s3(s3_server: Any, airflow_env: Any) -> S3:
    airflow_env.env["AIRFLOW_CONN_AWS_DEFAULT"] = s3_server.connection()
    airflow_env.env["AWS_EC2_METADATA_DISABLED"] = "true"
    return S3(s3_server)


@pytest.fixture(scope="module")
def pipeline(airflow_env: Any, services: Any, s3: S3, make_video: Any, tmp_path_factory: Any) -> dict:
    video = make_video(
        tmp_path_factory.mktemp("s3video") / "clip.mp4", seconds=SECONDS, width=320, height=240
    )
    s3.client.put_object(Bucket=s3.bucket, Key="in/clip.mp4", Body=video.read_bytes())
    before = services.stats()
    run = airflow_env.dags_test(
        "mavi_video_pipeline", {"video": s3.url("in/clip.mp4"), "output": s3.url("out")}
    )
    assert run.succeeded, run.tail()
    return {"run": run, "video": video.read_bytes(), "before": before, "after": services.stats()}


def new_jobs(before: dict, after: dict) -> list[dict]:
    return [j for j in after["jobs"] if j not in before["jobs"]]


def uploads(stats: dict) -> int:
    return sum(n for k, n in stats["requests"].items() if k.startswith(("POST /upload", "PUT /upload")))


def test_the_pipeline_writes_every_output_to_s3(pipeline: dict, s3: S3) -> None:
    summary = pipeline["run"].xcom[("summary", -1)]
    run_dir = s3.key(summary["run_dir"])
    assert run_dir.startswith("out/")
    keys = s3.list_keys(run_dir + "/")
    frames = [k for k in keys if k.startswith(f"{run_dir}/frames/")]
    assert len(frames) == summary["frame_count"] >= int(SECONDS) - 1
    for key in frames:
        with Image.open(io.BytesIO(s3.get(key))) as image:
            assert (image.format, image.size) == ("JPEG", (320, 240))
    document = json.loads(s3.get(summary["transcript_json"]))
    assert len(document["segments"]) == summary["segment_count"] >= 1
    assert len(webvtt.from_string(s3.get(summary["transcript_vtt"]).decode())) == summary["segment_count"]
    assert summary["contact_sheet"] == summary["run_dir"] + "/contact_sheet.jpg"
    with Image.open(io.BytesIO(s3.get(summary["contact_sheet"]))) as sheet:
        assert sheet.format == "JPEG"
    assert json.loads(s3.get(f"{run_dir}/summary.json")) == summary
    assert not [k for k in keys if ".mavi-write-check-" in k or k.endswith(".part")], keys


def test_the_video_mavi_received_is_the_s3_object_byte_for_byte(pipeline: dict, services: Any) -> None:
    asset_id = pipeline["run"].xcom[("upload", -1)]
    answer = httpx.get(
        f"{services.emulator.base_url}/{asset_id}/download",
        headers={"Authorization": services.emulator.api_key},
        timeout=30,
    )
    assert answer.status_code == 200
    assert hashlib.sha256(answer.content).digest() == hashlib.sha256(pipeline["video"]).digest()


def test_the_s3_video_is_priced_from_its_measured_duration(pipeline: dict) -> None:
    summary = pipeline["run"].xcom[("summary", -1)]
    assert summary["cost_usd"]["extract_frames"] == pytest.approx(0.01 * SECONDS, abs=0.011)
    assert summary["cost_usd"]["total"] is not None
    jobs = new_jobs(pipeline["before"], pipeline["after"])
    assert sorted(j["kind"] for j in jobs) == ["extract_frames", "transcribe_video"]


def test_a_backfill_day_from_and_to_s3(
    airflow_env: Any, services: Any, s3: S3, make_video: Any, tmp_path_factory: Any
) -> None:
    folder = tmp_path_factory.mktemp("s3day")
    for name in ("alpha", "beta"):
        video = make_video(folder / f"{name}.mp4", seconds=2.0)
        s3.client.put_object(Bucket=s3.bucket, Key=f"incoming/2026-03-01/{name}.mp4", Body=video.read_bytes())
    s3.client.put_object(Bucket=s3.bucket, Key="incoming/2026-03-01/notes.txt", Body=b"not a video")
    conf = {"root": s3.url("incoming"), "output": s3.url("results")}
    before = services.stats()
    run = airflow_env.dags_test("mavi_backfill_historical", conf, logical_date="2026-03-01")
    assert run.succeeded, run.tail()
    for name in ("alpha", "beta"):
        result = json.loads(s3.get(f"results/2026-03-01/{name}/result.json"))
        assert result["video"] == s3.url(f"incoming/2026-03-01/{name}.mp4")
        frames = s3.list_keys(f"results/2026-03-01/{name}/frames/")
        assert len(frames) == result["frame_count"] >= 1
        assert len(json.loads(s3.get(result["transcript_json"]))["segments"]) == result["segment_count"]
        assert s3.key(result["transcript_vtt"]).startswith(f"results/2026-03-01/{name}/transcript/")
    assert len(new_jobs(before, services.stats())) == 4
    assert not [k for k in s3.list_keys("results/") if ".mavi-write-check-" in k or ".partial" in k]


def test_an_output_bucket_that_does_not_exist_fails_before_any_upload_or_job(
    pipeline: dict, airflow_env: Any, services: Any, s3: S3
) -> None:
    before = services.stats()
    missing = "s3://aws_default@mavi-e2e-no-such-bucket/out"
    run = airflow_env.dags_test("mavi_video_pipeline", {"video": s3.url("in/clip.mp4"), "output": missing})
    assert run.state == "failed"
    assert "the bucket 'mavi-e2e-no-such-bucket' does not exist" in run.output
    assert "nothing was uploaded or submitted" in run.output
    after = services.stats()
    assert (uploads(after), after["jobs"]) == (uploads(before), before["jobs"])
    assert "mavi-e2e-no-such-bucket" not in s3.buckets()
    day = airflow_env.dags_test(
        "mavi_backfill_historical",
        {
            "root": s3.url("incoming"),
            "output": "s3://aws_default@mavi-e2e-no-such-bucket/r",
            "day": "2026-03-01",
        },
    )
    assert day.state == "failed"
    assert "the bucket 'mavi-e2e-no-such-bucket' does not exist" in day.output
    later = services.stats()
    assert (uploads(later), later["jobs"]) == (uploads(before), before["jobs"])


def test_a_missing_video_key_fails_before_any_upload(
    pipeline: dict, airflow_env: Any, services: Any, s3: S3
) -> None:
    before = services.stats()
    run = airflow_env.dags_test(
        "mavi_video_pipeline", {"video": s3.url("in/no-such.mp4"), "output": s3.url("out")}
    )
    assert run.state == "failed"
    assert f"video {s3.url('in/no-such.mp4')} does not exist (param 'video')" in run.output
    assert uploads(services.stats()) == uploads(before)
    assert services.stats()["jobs"] == before["jobs"]


def test_a_text_file_given_as_the_video_is_refused_before_paying(
    pipeline: dict, airflow_env: Any, services: Any, s3: S3
) -> None:
    s3.client.put_object(Bucket=s3.bucket, Key="in/notes.mp4", Body=b"meeting notes, not a video\n")
    before = services.stats()
    run = airflow_env.dags_test(
        "mavi_video_pipeline", {"video": s3.url("in/notes.mp4"), "output": s3.url("out")}
    )
    assert run.state == "failed"
    assert "it is a text file, not a video: nothing was uploaded, nothing paid" in run.output
    assert uploads(services.stats()) == uploads(before)
    assert services.stats()["jobs"] == before["jobs"]
