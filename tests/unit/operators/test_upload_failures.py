"""A FAILED upload is MaviAssetFailedError naming the file, with Mavi's reason when its metadata has one."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_mavi.exceptions import MaviAssetFailedError, MaviNotFoundError
from airflow_provider_mavi.operators.mavi import MaviUploadOperator

FAILED = {"status": "failed", "asset_id": "re_1", "message": "Mavi reports upload_status FAILED for re_1"}


class Metadata:
    """Stands in for Mavi's metadata of a FAILED asset."""

    def __init__(self, entry: dict[str, Any] | Exception) -> None:
        self.entry = entry

    def get_asset_metadata(self, asset_id: str) -> list[dict[str, Any]]:
        if isinstance(self.entry, Exception):
            raise self.entry
        return [{"asset_id": asset_id, "upload_status": "FAILED", **self.entry}]


@pytest.mark.parametrize(
    ("entry", "says", "reason"),
    [
        (
            {"fail_reason": "unsupported codec: prores"},
            "Mavi says: unsupported codec: prores",
            "unsupported codec: prores",
        ),
        (
            {"error_msg": "  file is not a media file "},
            "Mavi says: file is not a media file",
            "file is not a media file",
        ),
        ({}, "Mavi gives no reason", None),
        ({"fail_reason": ""}, "Mavi gives no reason", None),
        (MaviNotFoundError("Asset not found"), "Mavi gives no reason", None),
    ],
)
def test_mavi_reason_is_in_the_error(run: Any, entry: Any, says: str, reason: str | None) -> None:
    op = MaviUploadOperator(task_id="upload", source="s3://bucket/in/clip.mp4", media_type="video")
    op.hook = Metadata(entry)  # type: ignore[assignment]
    with pytest.raises(MaviAssetFailedError) as caught:
        op.execute_complete(run.context("upload"), dict(FAILED), asset_id="re_1")
    message = str(caught.value)
    assert message.startswith("Mavi could not process the upload of s3://bucket/in/clip.mp4: Mavi asset re_1")
    assert says in message
    assert "could not prove it is not a video" in message
    assert (caught.value.asset_id, caught.value.mavi_message) == ("re_1", reason)
