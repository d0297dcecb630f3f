"""MaviDownloadAssetOperator: stream an asset to a destination; unpack an ``im_`` frame zip safely."""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import tempfile
import zipfile
from typing import IO, TYPE_CHECKING, Any

from airflow.sdk import ObjectStoragePath

from airflow_provider_mavi.exceptions import MaviOperatorError
from airflow_provider_mavi.hooks.task import require_id
from airflow_provider_mavi.hooks.transfer import is_directory_target, open_stream, remove_quietly, replace
from airflow_provider_mavi.operators.base import MaviBaseOperator, log_spend
from airflow_provider_mavi.operators.frame_zip import FRAME_SUFFIXES, Frame, frame_members, read_frames
from airflow_provider_mavi.operators.lineage import DownloadLineage
from airflow_provider_mavi.operators.links import (
    RESULTS_URL_XCOM_KEY,
    MaviResultsLink,
    push_link,
    results_url,
)
from airflow_provider_mavi.paths import check_output_location, ensure_directory, is_local, storage_path
from airflow_provider_mavi.results import download_cost_usd

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.sdk import Context

_CHUNK = 1024 * 1024
__all__ = ["FRAME_SUFFIXES", "MaviDownloadAssetOperator", "frame_members"]


def _sha256_of(path: str | ObjectStoragePath) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    opener = path if isinstance(path, ObjectStoragePath) else ObjectStoragePath(path)
    with opener.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _copy_hashing(source: IO[bytes], target: IO[bytes]) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    while chunk := source.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
        target.write(chunk)
    return digest.hexdigest(), size


def write_frames(archive_path: str, frames: list[Frame], target: ObjectStoragePath) -> list[dict[str, Any]]:
    """Write checked frames into ``target``: all under hidden temporary names, then each renamed into place.

    If writing fails, every temporary file is deleted (and ``target`` too when this call created it), so
    the destination is as it was; files already there are replaced only in the final renames.

    :param archive_path: the zip :func:`read_frames` checked.
    :param frames: its frames.
    :param target: the destination directory.
    :raises MaviOperatorError: when a frame cannot be written; nothing is kept then.
    """
    created = is_local(target) and not target.exists()
    token = secrets.token_hex(6)
    staged: list[tuple[ObjectStoragePath, ObjectStoragePath]] = []
    try:
        ensure_directory(target)
        with zipfile.ZipFile(archive_path) as archive:
            for frame in frames:
                temp = target / f".{frame.name}.{token}.part"
                staged.append((temp, target / frame.name))
                with archive.open(frame.info) as source, open_stream(temp, "wb") as sink:
                    written = _copy_hashing(source, sink)
                if written != (frame.sha256, frame.size):
                    raise OSError(f"{frame.name} changed between the check and the copy")
    except BaseException as error:
        for temp, _ in staged:
            remove_quietly(temp)
        if created:
            shutil.rmtree(target.path, ignore_errors=True)
        if isinstance(error, (MaviOperatorError, KeyboardInterrupt, SystemExit)):
            raise
        if not isinstance(error, Exception):
            raise
        raise MaviOperatorError(
            f"Could not write the frames to {target} ({type(error).__name__}: {error}): nothing was kept"
        ) from error
    for temp, final in staged:
        replace(temp, final)
    return [
        {"path": str(final), "bytes": frame.size, "sha256": frame.sha256}
        for (_, final), frame in zip(staged, frames, strict=True)
    ]


class MaviDownloadAssetOperator(DownloadLineage, MaviBaseOperator):
    """
    Download an asset (streamed) to a local path or any ``ObjectStoragePath``.

    ``destination`` is a directory when it exists as one or ends with ``/`` (the name comes from Mavi),
    else the file to write. With ``extract=True`` and an ``im_`` frame group, the zip is unpacked into the
    ``destination`` directory (created if missing; a bucket never is) and only the frames land there: the
    whole zip is checked first (names, bounds, every member's CRC, each frame an image), so a damaged zip
    raises :class:`MaviOperatorError` and leaves the destination as it was. The destination is checked
    writable before the (billed) download. Returns
    ``{asset_id, paths, files: [{path, bytes, sha256}], bytes, sha256, cost_usd}``; ``sha256`` is that of the
    downloaded file (the zip when extracted).

    :param asset_id: the asset (``re_``, ``im_`` or ``imc_``). (templated)
    :param destination: a directory or file path, local or remote. (templated)
    :param extract: unpack an ``im_`` frame zip into ``destination``.
    :param max_extract_bytes: bound on the unpacked size of the frames.
    :param max_extract_files: bound on the number of frames.
    :param mavi_conn_id: the ``mavi`` connection. (templated)
    """

    template_fields: Sequence[str] = ("asset_id", "destination", "mavi_conn_id")
    operator_extra_links = (MaviResultsLink(),)

    def __init__(
        self,
        *,
        asset_id: str,
        destination: str | os.PathLike[str] | ObjectStoragePath,
        extract: bool = False,
        max_extract_bytes: int = 4 * 1024**3,
        max_extract_files: int = 100_000,
        mavi_conn_id: str = "mavi_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(mavi_conn_id=mavi_conn_id, **kwargs)
        if max_extract_bytes <= 0 or max_extract_files <= 0:
            raise ValueError("max_extract_bytes and max_extract_files must be > 0")
        self.asset_id = asset_id
        self.destination = destination
        self.extract = extract
        self.max_extract_bytes = int(max_extract_bytes)
        self.max_extract_files = int(max_extract_files)

    def execute(self, context: Context) -> dict[str, Any]:
        """
        Download, hash, and (for frames) unpack.

        :param context: the task's context.
        """
        asset_id = require_id(self.asset_id, "asset_id")
        if not str(self.destination or ""):
            raise MaviOperatorError("destination must be a path")
        if self.extract and not asset_id.startswith("im_"):
            raise MaviOperatorError(
                f"extract=True needs an im_ frame group id, got {asset_id!r}: nothing downloaded"
            )
        push_link(context, RESULTS_URL_XCOM_KEY, results_url(self.destination, directory=self.extract))
        if self.extract:
            result = self._download_frames(asset_id)
        else:
            self._check_destination()
            written = self.hook.download_asset(asset_id, self.destination)
            sha, size = _sha256_of(written)
            path = str(written)
            self.log.info("Downloaded Mavi asset %s to %s (%d bytes, sha256 %s)", asset_id, path, size, sha)
            result = {
                "asset_id": asset_id,
                "paths": [path],
                "files": [{"path": path, "bytes": size, "sha256": sha}],
                "bytes": size,
                "sha256": sha,
                "cost_usd": download_cost_usd(size),
            }
        self.note_lineage("return_value", result)
        log_spend(context, result["cost_usd"], self)
        return result

    def _check_destination(self) -> None:
        """Before the (billed) download: the directory the file goes to must be writable."""
        destination = self.destination
        if is_directory_target(destination):
            directory = storage_path(destination)
        else:
            directory = storage_path(destination).parent
        check_output_location(directory, "destination", "nothing was downloaded")

    def _download_frames(self, asset_id: str) -> dict[str, Any]:
        destination = self.destination
        target = (  # paths in the result stay as given (a plain local path, a URL)
            destination
            if isinstance(destination, ObjectStoragePath)
            else ObjectStoragePath(os.fspath(destination))
        )
        check_output_location(target, "destination", "nothing was downloaded")
        with tempfile.TemporaryDirectory(prefix="mavi-frames-") as scratch:
            archive_path = str(self.hook.download_asset(asset_id, scratch + os.sep))
            archive_sha, archive_size = _sha256_of(archive_path)
            frames = read_frames(
                archive_path,
                asset_id=asset_id,
                max_bytes=self.max_extract_bytes,
                max_files=self.max_extract_files,
            )
            files = write_frames(archive_path, frames, target)
        total = sum(f["bytes"] for f in files)
        self.log.info(
            "Unpacked %d frames of Mavi asset %s into %s (%d bytes; zip sha256 %s)",
            len(files),
            asset_id,
            target,
            total,
            archive_sha,
        )
        return {
            "asset_id": asset_id,
            "paths": [f["path"] for f in files],
            "files": files,
            "bytes": total,
            "sha256": archive_sha,
            "archive_bytes": archive_size,
            "cost_usd": download_cost_usd(archive_size),
        }
