"""Extra links: the URLs the operators push to XCom (the bridge's job page, the results location).

The links' ``get_link`` (reading those XComs back) runs in tests/e2e/test_airflow_native.py on finished
task instances, through the code the API server uses.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_mavi.compat import TaskDeferred
from airflow_provider_mavi.get_provider_info import get_provider_info
from airflow_provider_mavi.hooks.bridge import MaviBridgeHook
from airflow_provider_mavi.operators.links import (
    BRIDGE_JOB_URL_XCOM_KEY,
    RESULTS_URL_XCOM_KEY,
    MaviBridgeJobLink,
    MaviResultsLink,
    bridge_job_url,
    results_url,
)
from airflow_provider_mavi.operators.mavi import (
    MaviDownloadAssetOperator,
    MaviExtractFramesOperator,
    MaviTranscribeVideoOperator,
)


class PaidMavi:
    def __init__(self) -> None:
        self.submitted = 0

    def extract_frames(self, asset_id: str) -> str:
        self.submitted += 1
        return f"job {self.submitted}?x"  # a job id that must be escaped to be one path segment

    def transcribe_video(self, asset_id: str, model: str) -> str:
        self.submitted += 1
        return f"job-{self.submitted}"


@pytest.fixture
def make(fake_bridge: Any) -> Any:
    def build(cls: type = MaviExtractFramesOperator, **kwargs: Any) -> Any:
        kwargs.setdefault("task_id", "job")
        kwargs.setdefault("asset_id", "re_1")
        op = cls(**kwargs)
        op.hook = PaidMavi()
        op.bridge_hook = fake_bridge.hook()
        return op

    return build


def test_the_bridge_page_has_the_job_id_as_one_escaped_segment_and_no_credentials() -> None:
    url = bridge_job_url("https://airflow:s3cret-token@bridge.example.com:8443/mavi/", "a b?c#d%..")
    assert url == "https://bridge.example.com:8443/mavi/ui/jobs/a%20b%3Fc%23d%25.."
    assert "s3cret" not in url
    assert "airflow@" not in url
    assert bridge_job_url("http://bridge:8787", "5f0c") == "http://bridge:8787/ui/jobs/5f0c"


@pytest.mark.parametrize("job_id", ["", "..", ".", "a/b", "..\\x", "x" * 201, "a\nb", 7])
def test_a_job_id_that_cannot_be_a_segment_gets_no_page(job_id: Any) -> None:
    with pytest.raises(ValueError):
        bridge_job_url("http://bridge:8787", job_id)


def test_a_bridge_url_that_is_not_http_gets_no_page() -> None:
    with pytest.raises(ValueError, match="must be http"):
        bridge_job_url("ftp://bridge", "5f0c")


@pytest.mark.parametrize(
    ("location", "directory", "expected"),
    [
        # a signed URL's query is its signature: dropped, as user info is
        (
            "https://user:pw@cdn.example.com:8443/out/run 1/?X-Amz-Signature=abc#f",
            True,
            "https://cdn.example.com:8443/out/run 1/",
        ),
        ("http://files.example.com", True, "http://files.example.com/"),
        (
            "s3://results/2026-01-01/transcripts",
            True,
            "https://s3.console.aws.amazon.com/s3/buckets/results?prefix=2026-01-01%2Ftranscripts%2F",
        ),
        (
            "s3://aws_conn@results/a b/clip.zip",
            False,
            "https://s3.console.aws.amazon.com/s3/buckets/results?prefix=a%20b%2Fclip.zip",
        ),
        ("s3://results", True, "https://s3.console.aws.amazon.com/s3/buckets/results"),
        ("gs://bkt/frames/", True, "https://console.cloud.google.com/storage/browser/bkt/frames/"),
        ("gs://bkt/f.zip", False, "https://console.cloud.google.com/storage/browser/_details/bkt/f.zip"),
        ("file:///tmp/out", True, None),
        ("/tmp/out", True, None),
        ("relative/out", True, None),
        ("abfs://container@account.dfs.core.windows.net/out", True, None),
        ("s3:///no-bucket", True, None),
        ("", True, None),
        (None, True, None),
    ],
)
def test_results_locations(location: Any, directory: bool, expected: str | None) -> None:
    assert results_url(location, directory=directory) == expected


def test_a_job_pushes_its_bridge_page_before_it_defers(make: Any, run: Any, fake_bridge: Any) -> None:
    context = run.context("job")
    with pytest.raises(TaskDeferred):
        make().execute(context)
    assert run.xcom("job", BRIDGE_JOB_URL_XCOM_KEY) == f"{fake_bridge.URL}/ui/jobs/job%201%3Fx"
    assert run.xcom("job", RESULTS_URL_XCOM_KEY) == ""  # frames stay at Mavi: no results location
    assert fake_bridge.token not in json.dumps(list(run.xcoms.values()))


def test_a_retry_that_re_attaches_pushes_the_same_page(make: Any, run: Any) -> None:
    with pytest.raises(TaskDeferred):
        make().execute(run.context("job"))
    first = run.xcom("job", BRIDGE_JOB_URL_XCOM_KEY)
    run.xcoms.clear()  # a new try starts with no XCom
    with pytest.raises(TaskDeferred):
        make().execute(run.context("job"))
    assert run.xcom("job", BRIDGE_JOB_URL_XCOM_KEY) == first


def test_a_transcript_written_to_object_storage_links_there(
    make: Any, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[object] = []  # no S3 here: the bucket check (tests/integration/object_storage) is recorded
    monkeypatch.setattr(
        "airflow_provider_mavi.operators.transcribe.check_output_location",
        lambda location, *_: checked.append(location) or location,
    )
    with pytest.raises(TaskDeferred):
        make(MaviTranscribeVideoOperator, output_path="s3://results/{{ ds }}/").execute(run.context("job"))
    assert len(checked) == 1
    assert run.xcom("job", RESULTS_URL_XCOM_KEY).startswith(
        "https://s3.console.aws.amazon.com/s3/buckets/results"
    )


def test_the_public_url_of_the_connection_is_what_people_get(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = {
        "conn_type": "mavi",
        "password": "sk-unit",
        "extra": {
            "bridge_url": "http://bridge:8787",
            "bridge_token": "tok-unit-0123456789",
            "bridge_public_url": "https://bridge.example.com/",
        },
    }
    monkeypatch.setenv("AIRFLOW_CONN_MAVI_LINKS", json.dumps(conn))
    settings = MaviBridgeHook("mavi_links").get_settings()
    assert settings.url == "http://bridge:8787"  # what workers and triggers call
    assert bridge_job_url(settings.pages_url, "j1") == "https://bridge.example.com/ui/jobs/j1"
    assert "tok-unit" not in repr(settings)
    conn["extra"].pop("bridge_public_url")
    monkeypatch.setenv("AIRFLOW_CONN_MAVI_LINKS", json.dumps(conn))
    assert MaviBridgeHook("mavi_links").get_settings().pages_url == "http://bridge:8787"


def test_a_download_links_to_its_destination(run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    op = MaviDownloadAssetOperator(
        task_id="dl", asset_id="im_1", destination="gs://bkt/frames/", extract=True
    )

    class Refused(Exception):
        pass

    def download(*_: Any) -> Any:
        raise Refused

    op.hook = type("H", (), {"download_asset": staticmethod(download)})()
    checked: list[
        object
    ] = []  # no GCS here: the destination check (tests/integration/object_storage) is recorded
    monkeypatch.setattr(
        "airflow_provider_mavi.operators.download.check_output_location",
        lambda location, *_: checked.append(location) or location,
    )
    with pytest.raises(Refused):
        op.execute(run.context("dl"))
    # the folder given (Airflow 3.1's ObjectStoragePath drops a trailing slash, 3.2+ keep it)
    assert [str(location).rstrip("/") for location in checked] == ["gs://bkt/frames"]
    # pushed before the download: a failed try still links to where its files would be
    assert (
        run.xcom("dl", RESULTS_URL_XCOM_KEY) == "https://console.cloud.google.com/storage/browser/bkt/frames/"
    )


def test_links_are_declared_on_the_operators_and_registered() -> None:
    names = {type(link).__name__ for link in MaviExtractFramesOperator.operator_extra_links}
    assert names == {"MaviBridgeJobLink", "MaviResultsLink"}
    assert [type(link) for link in MaviDownloadAssetOperator.operator_extra_links] == [MaviResultsLink]
    registered = get_provider_info()["extra-links"]
    for link in (MaviBridgeJobLink, MaviResultsLink):
        assert f"{link.__module__}.{link.__name__}" in registered
    assert MaviBridgeJobLink().xcom_key == "_link_MaviBridgeJobLink"
