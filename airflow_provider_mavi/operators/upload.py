"""MaviUploadOperator: upload a local file or any ObjectStoragePath, optionally wait until it is ready."""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from airflow.sdk import ObjectStoragePath

from airflow_provider_mavi.compat import NEVER_EXPIRE
from airflow_provider_mavi.exceptions import MaviAssetFailedError, MaviError, MaviOperatorError
from airflow_provider_mavi.media import mvhd_duration, probe_duration_seconds
from airflow_provider_mavi.media_check import (
    HEAD_BYTES,
    MediaType,
    check_media_type,
    decode_problem,
    sniff_problem,
)
from airflow_provider_mavi.operators.base import MaviBaseOperator
from airflow_provider_mavi.operators.lineage import UploadLineage
from airflow_provider_mavi.paths import describe_missing, storage_path
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
#: fsspec block size for reading a remote file's header: small, so a probe costs a few small range reads.
PROBE_BLOCK_SIZE = 64 * 1024
#: Where a reason for a FAILED upload would be in its metadata entry (mavi-api.md documents none).
_REASON_KEYS = ("fail_reason", "failed_reason", "reason", "error_msg", "error_message", "error", "msg")


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


def _refuse(source: object, problem: str) -> MaviOperatorError:
    return MaviOperatorError(f"source {source!s}: {problem}: nothing was uploaded, nothing paid")


def describe_source(
    source: str | os.PathLike[str] | ObjectStoragePath, log: Any, media_type: MediaType | None = None
) -> dict[str, Any]:
    """
    Size and duration of what is about to be uploaded, after checking it is there and, when ``media_type``
    is given, that it is not provably something else (:mod:`airflow_provider_mavi.media_check`).

    The duration comes from the MP4/MOV header (a few small range reads for a remote file) or, for a local
    file, PyAV; None when it cannot be read.

    :param source: the file.
    :param log: where to say why a duration is unknown.
    :param media_type: ``video``, ``audio``, ``image``, or None for no check.
    :raises MaviOperatorError: when the file does not exist (saying whether the bucket or the key is
        missing) or is provably not ``media_type``; nothing has been sent then.
    """
    path = local_path(source)
    problem: str | None = None
    if path is not None:
        if not os.path.isfile(path):
            raise _refuse(path, "it is not an existing file")
        size = os.path.getsize(path)
        if media_type is not None:
            with open(path, "rb") as stream:
                problem = sniff_problem(stream.read(HEAD_BYTES), size, media_type)
            problem = problem or decode_problem(path, media_type)
        duration = None if problem else probe_duration_seconds(path)
    else:
        remote = storage_path(os.fspath(source) if not isinstance(source, ObjectStoragePath) else source)
        if not remote.is_file():
            raise _refuse(remote, describe_missing(remote))
        size = int(remote.stat().st_size)
        with remote.open("rb", block_size=PROBE_BLOCK_SIZE) as stream:
            head = stream.read(HEAD_BYTES)
            if media_type is not None:
                problem = sniff_problem(head, size, media_type)
            duration = None if problem else _remote_duration(stream)
    if problem is not None:
        raise _refuse(source, problem)
    if duration is None and media_type in (None, "video", "audio"):
        log.info("The duration of %s could not be read (not MP4/MOV, or not media)", source)
    return {"source": str(source), "size_bytes": size, "duration_seconds": duration}


def _remote_duration(stream: Any) -> float | None:
    try:
        stream.seek(0)
        return mvhd_duration(stream)
    except (OSError, ValueError, struct.error):
        return None


def mavi_reason(entries: object, asset_id: str) -> str | None:
    """Mavi's reason for a ``FAILED`` upload, when its metadata gives one.

    mavi-api.md documents no such field; these are the names an error would most likely be under.

    :param entries: the metadata ``resource`` entries.
    :param asset_id: the asset.
    """
    entry = asset_status(entries, asset_id).entry
    for key in _REASON_KEYS:
        value = entry.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:500]
    return None


class MaviUploadOperator(UploadLineage, MaviBaseOperator):
    """
    Upload a file to Mavi and return its ``re_`` asset id (optionally once it is ready to use).

    Also pushes the XCom ``media``: ``{asset_id, source, size_bytes, duration_seconds}``; pass it to
    :class:`MaviExtractFramesOperator` as ``video_duration_seconds=upload.output["media"]`` for a price.
    A retry re-uses the asset an earlier try uploaded (Airflow >= 3.3) unless Mavi marked it failed.

    With ``media_type`` (``"video"``, ``"audio"`` or ``"image"``) the file is checked first and refused,
    before anything is sent, when it is provably not that (:mod:`airflow_provider_mavi.media_check`: empty,
    a document or text, a still image given as a video, or not decodable by PyAV where it is installed). An
    upload Mavi marks ``FAILED`` raises :class:`MaviAssetFailedError` with Mavi's reason when it gives one.

    :param source: a local path or any ``ObjectStoragePath`` (``s3://...``, ``s3://conn_id@bucket/key``,
        ``gs://...``). (templated)
    :param media_type: what the file must be (``video``, ``audio``, ``image``), or None: no check.
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
        media_type: MediaType | None = None,
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
        self.media_type = check_media_type(media_type)
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
        media = describe_source(self.source, self.log, self.media_type)
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
        try:
            self.hook.wait_for_asset_ready(
                asset_id, timeout=self.ready_timeout, poll_interval=self.poll_interval
            )
        except MaviAssetFailedError as error:
            raise self._upload_failed(asset_id, error) from None
        self.log.info("Mavi asset %s is ready", asset_id)
        return asset_id

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None, asset_id: str | None = None
    ) -> str:
        """
        The asset id once the trigger saw it ready; :class:`MaviAssetFailedError` (with Mavi's reason when
        it gives one) when Mavi marked it ``FAILED``.

        :param context: the task's context.
        :param event: the trigger event.
        :param asset_id: the asset waited for.
        """
        try:
            return self.asset_ready(context, event, asset_id)
        except MaviAssetFailedError as error:
            raise self._upload_failed(error.asset_id or asset_id or "", error) from None

    def _upload_failed(self, asset_id: str, error: MaviAssetFailedError) -> MaviAssetFailedError:
        """The error of an upload Mavi could not process: what was uploaded, and Mavi's reason if any."""
        reason = None
        try:
            reason = mavi_reason(self.hook.get_asset_metadata(asset_id), asset_id)
        except Exception as read_error:  # best effort: never hide the failure itself
            self.log.info("Could not read why asset %s failed: %s", asset_id, type(read_error).__name__)
        checked = (
            "it was not checked before the upload (media_type=None)"
            if self.media_type is None
            else f"the check before the upload could not prove it is not a {self.media_type}"
        )
        because = f"Mavi says: {reason}" if reason else "Mavi gives no reason"
        return MaviAssetFailedError(
            f"Mavi could not process the upload of {self.source!s}: Mavi asset {asset_id} is not usable "
            f"(upload_status FAILED; {because}). Most often the file is not media Mavi can decode "
            f"({checked}): check the file, then upload it again.",
            asset_id=asset_id,
            mavi_message=reason or error.mavi_message,
        )
