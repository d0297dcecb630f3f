"""MaviUploadOperator without a server: re-using an earlier try's asset follows the one readiness rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airflow_provider_mavi.compat import TaskDeferred
from airflow_provider_mavi.exceptions import MaviNotFoundError
from airflow_provider_mavi.operators.mavi import MaviUploadOperator
from airflow_provider_mavi.retry import RetryPolicy
from airflow_provider_mavi.triggers.mavi import MaviAssetReadyTrigger


class Uploads:
    """Stands in for Mavi: counts uploads; metadata answers ``status`` for every asset."""

    def __init__(self) -> None:
        self.uploaded = 0
        self.status: str | Exception | None = "UPLOADING"

    def upload_file(self, source: Any) -> str:
        self.uploaded += 1
        return f"re_{self.uploaded}"

    def get_asset_metadata(self, asset_id: str) -> list[dict[str, Any]]:
        if isinstance(self.status, Exception):
            raise self.status
        return [] if self.status is None else [{"asset_id": asset_id, "upload_status": self.status}]


@pytest.fixture
def video(tmp_path: Path) -> str:
    path = tmp_path / "cam.mp4"
    path.write_bytes(b"not really a video")
    return str(path)


def upload(mavi: Uploads, video: str, **kwargs: Any) -> MaviUploadOperator:
    op = MaviUploadOperator(task_id="upload", source=video, wait_until_ready=False, **kwargs)
    op.hook = mavi
    return op


@pytest.mark.parametrize(
    ("status", "reused"),
    [
        ("SUCCESS", True),
        ("UPLOADING", True),
        ("WAITING", True),
        ("FAILED", False),
        (None, False),
        (MaviNotFoundError("Asset not found"), False),
    ],
)
def test_a_retry_re_uses_an_asset_only_when_it_is_reusable(
    run: Any, video: str, status: Any, reused: bool
) -> None:
    mavi = Uploads()
    first = upload(mavi, video).execute(run.context("upload"))
    mavi.status = status
    second = upload(mavi, video).execute(run.context("upload"))
    assert (second == first) is reused
    assert mavi.uploaded == (1 if reused else 2)


def test_the_readiness_trigger_carries_the_retry_settings(run: Any, video: str) -> None:
    op = upload(Uploads(), video, mavi_retry_attempts=6)
    op.wait_until_ready = True
    with pytest.raises(TaskDeferred) as caught:
        op.execute(run.context("upload"))
    trigger = caught.value.trigger
    assert isinstance(trigger, MaviAssetReadyTrigger)
    assert trigger.serialize()[1]["retry_policy"] == RetryPolicy.from_params(6, None).to_json()
