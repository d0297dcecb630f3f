"""Output locations: checked before paying, nothing created by the check, buckets never created."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.sdk import ObjectStoragePath

from airflow_provider_mavi.compat import storage_conn_id
from airflow_provider_mavi.exceptions import MaviOperatorError
from airflow_provider_mavi.paths import bucket_of, check_output_location, ensure_directory, storage_path


def test_a_local_output_is_checked_without_creating_anything(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "c"
    checked = check_output_location(str(target), "output_path", "nothing was submitted")
    assert checked.path == str(target)
    assert not (tmp_path / "a").exists()
    assert ensure_directory(str(target)).path == str(target)
    assert target.is_dir()


def test_a_file_in_the_way_is_refused(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("x")
    with pytest.raises(MaviOperatorError) as caught:
        check_output_location(str(tmp_path / "taken" / "out"), "output_path", "nothing was submitted")
    assert str(caught.value) == (
        f"output_path {tmp_path}/taken/out cannot be a directory: {tmp_path}/taken is a file; "
        "nothing was submitted."
    )


@pytest.mark.parametrize(
    ("url", "bucket"),
    [
        ("s3://aws_default@bucket-a/x/y.mp4", "bucket-a"),
        ("s3://bucket-b", "bucket-b"),
        ("gs://bucket-c/k", "bucket-c"),
        ("file:///tmp/x", None),
        ("memory://x/y", None),
    ],
)
def test_the_bucket_of_a_path(url: str, bucket: str | None) -> None:
    assert bucket_of(storage_path(url)) == bucket


def test_storage_path_keeps_the_connection_and_expands_local_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    path = storage_path("s3://my_conn@bucket/videos/a.mp4")
    assert (storage_conn_id(path), str(path)) == ("my_conn", "s3://my_conn@bucket/videos/a.mp4")
    assert str(path / "b") == "s3://my_conn@bucket/videos/a.mp4/b"
    assert storage_path(path) is path
    monkeypatch.setenv("HOME", "/home/someone")
    assert storage_path("~/x").path == "/home/someone/x"


@pytest.mark.usefixtures("memory_fs")
def test_other_file_systems_get_their_directories(tmp_path: Path) -> None:
    path = ensure_directory(ObjectStoragePath("memory://mavi-unit/out/frames"))
    assert path.exists()
