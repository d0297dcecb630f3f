"""MaviUploadOperator: upload a local file or any ObjectStoragePath, optionally wait until it is ready."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow.sdk import ObjectStoragePath

from airflow_provider_mavi.exceptions import MaviError, MaviOperatorError
from airflow_provider_mavi.media import probe_duration_seconds
from airflow_provider_mavi.operators.base import NEVER_EXPIRE, MaviBaseOperator
from airflow_provider_mavi.operators.lineage import UploadLineage
from airflow_provider_mavi.readiness import asset_status
from airflow_provider_mavi.triggers.mavi import MaviAssetReadyTrigger

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.sdk import Context

#: XCom key with ``{asset_id, source, size_bytes, duration_seconds}`` of the uploaded file.
MEDIA_XCOM_KEY = "media"
#: task_state_store key with the asset an earlier try uploaded.
UPLOAD_STATE_KEY = "mavi_upload"
_LOCAL_PROTOCOLS = {"", "file", "local"}


def local_path(source: str | os.PathLike[str] | ObjectStoragePath) -> str | None:
    """
    The local file system path of ``source``, or None when it lives elsewhere (S3, GCS...).

    :param source: a path string, ``os.PathLike`` or ``ObjectStoragePath``.
    """
    if isinstance(source, ObjectStoragePath):
        return source.path if source.protocol in _LOCAL_PROTOCOLS else None
    text = os.fspath(source)
    if text.startswith("file://"):
        return text[len("file://") :]
    if "://" in text:
        return None
    return text


def describe_source(source: str | os.PathLike[str] | ObjectStoragePath, log: Any) -> dict[str, Any]:
    """
    Size and (for local video files) duration of what is about to be uploaded.

    :param source: the file.
    :param log: where to say why a duration is unknown.
    :raises MaviOperatorError: when the file does not exist.
    """
    path = local_path(source)
    if path is not None:
        if not os.path.isfile(path):
            raise MaviOperatorError(f"source {path!r} is not an existing file: nothing was uploaded")
        size: int | None = os.path.getsize(path)
        duration = probe_duration_seconds(path)
        if duration is None:
            log.info("The duration of %s could not be read (not a video, or an unknown container)", path)
    else:
        remote = source if isinstance(source, ObjectStoragePath) else ObjectStoragePath(os.fspath(source))
        if not remote.is_file():
            raise MaviOperatorError(f"source {remote!s} is not an existing file: nothing was uploaded")
        size = remote.stat().st_size
        duration = None
        log.info(
            "The duration of %s is not measured (not a local file): frame prices will be unknown", remote
        )
    return {"source": str(source), "size_bytes": size, "duration_seconds": duration}


class MaviUploadOperator(UploadLineage, MaviBaseOperator):
    """
    Upload a file to Mavi and return its ``re_`` asset id (optionally once it is ready to use).

    Also pushes the XCom ``media``: ``{asset_id, source, size_bytes, duration_seconds}``; pass it to
    :class:`MaviExtractFramesOperator` as ``video_duration_seconds=upload.output["media"]`` for a price.
    A retry re-uses the asset an earlier try uploaded (Airflow >= 3.3) unless Mavi marked it failed.

    :param source: a local path or any ``ObjectStoragePath`` (``s3://...``, ``gs://...``). (templated)
    :param wait_until_ready: wait until Mavi's ``upload_status`` is ``SUCCESS``.
    :param ready_timeout: seconds to wait for readiness.
    :param poll_interval: seconds between metadata reads (never faster than the rate limit).
    :param deferrable: wait in the triggerer (default) instead of holding a worker slot.
    :param mavi_conn_id: the ``mavi`` connection. (templated)
    """

    template_fields: Sequence[str] = ("source", "mavi_conn_id")

    def __init__(
        self,
        *,
        source: str | os.PathLike[str] | ObjectStoragePath,
        wait_until_ready: bool = True,
        ready_timeout: float = 600,
        poll_interval: float = 5,
        deferrable: bool = True,
        mavi_conn_id: str = "mavi_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(mavi_conn_id=mavi_conn_id, **kwargs)
        if ready_timeout <= 0 or poll_interval <= 0:
            raise ValueError("ready_timeout and poll_interval must be > 0 seconds")
        self.source = source
        self.wait_until_ready = wait_until_ready
        self.ready_timeout = float(ready_timeout)
        self.poll_interval = float(poll_interval)
        self.deferrable = deferrable

    def _reusable_asset(self, context: Context, source: str) -> str | None:
        store = context.get("task_state_store")
        if store is None:
            return None
        recorded = store.get(UPLOAD_STATE_KEY)
        if not isinstance(recorded, Mapping) or recorded.get("source") != source:
            return None
        asset_id = str(recorded.get("asset_id"))
        try:
            status = asset_status(self.hook.get_asset_metadata(asset_id), asset_id)
        except (MaviError, ValueError) as error:
            self.log.info(
                "Asset %s of an earlier try cannot be re-used (%s); uploading again", asset_id, error
            )
            return None
        if not status.reusable:
            self.log.info("Asset %s of an earlier try is %s; uploading again", asset_id, status.status)
            return None
        self.log.info("Re-using asset %s uploaded by an earlier try (%s)", asset_id, status.status)
        return asset_id

    def execute(self, context: Context) -> str:
        """
        Upload (or re-use an earlier try's asset), push ``media``, and wait for readiness if asked.

        :param context: the task's context.
        """
        if not isinstance(self.source, (str, os.PathLike, ObjectStoragePath)) or not str(self.source):
            raise MaviOperatorError(f"source must be a path or ObjectStoragePath, got {self.source!r}")
        media = describe_source(self.source, self.log)
        asset_id = self._reusable_asset(context, media["source"])
        if asset_id is None:
            source = self.source
            if local_path(source) is None and not isinstance(source, ObjectStoragePath):
                source = ObjectStoragePath(os.fspath(source))  # "s3://..." as text: the hook needs the path
            asset_id = self.hook.upload_file(source)
            self.log.info(
                "Uploaded %s as Mavi asset %s (%s bytes)", media["source"], asset_id, media["size_bytes"]
            )
            store = context.get("task_state_store")
            if store is not None:
                store.set(
                    UPLOAD_STATE_KEY,
                    {"asset_id": asset_id, "source": media["source"]},
                    retention=NEVER_EXPIRE,
                )
        context["ti"].xcom_push(key=MEDIA_XCOM_KEY, value={"asset_id": asset_id, **media})
        if not self.wait_until_ready:
            return asset_id
        if self.deferrable:
            deadline = time.time() + self.ready_timeout
            trigger = MaviAssetReadyTrigger(
                asset_id=asset_id,
                deadline=deadline,
                poll_interval=self.poll_interval,
                **self.trigger_kwargs(),
            )
            self.defer_on(trigger, deadline, asset_id=asset_id)
        self.hook.wait_for_asset_ready(asset_id, timeout=self.ready_timeout, poll_interval=self.poll_interval)
        self.log.info("Mavi asset %s is ready", asset_id)
        return asset_id

    execute_complete = MaviBaseOperator.asset_ready  # the asset id once the trigger saw it ready
