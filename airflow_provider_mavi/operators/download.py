"""MaviDownloadAssetOperator: stream an asset to a destination; unpack an ``im_`` frame zip safely."""

from __future__ import annotations

import hashlib
import os
import posixpath
import stat
import tempfile
import zipfile
from typing import IO, TYPE_CHECKING, Any

from airflow.sdk import ObjectStoragePath

from airflow_provider_mavi.exceptions import MaviOperatorError
from airflow_provider_mavi.hooks.task import require_id
from airflow_provider_mavi.operators.base import MaviBaseOperator, log_spend
from airflow_provider_mavi.operators.lineage import DownloadLineage
from airflow_provider_mavi.operators.links import (
    RESULTS_URL_XCOM_KEY,
    MaviResultsLink,
    push_link,
    results_url,
)
from airflow_provider_mavi.results import download_cost_usd

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.sdk import Context

#: File types that count as frames when a frame zip is unpacked; anything else stays out.
FRAME_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})
_CHUNK = 1024 * 1024


def _sha256_of(path: str | ObjectStoragePath) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    opener = path if isinstance(path, ObjectStoragePath) else ObjectStoragePath(path)
    with opener.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def frame_members(
    archive: zipfile.ZipFile, *, max_bytes: int, max_files: int
) -> list[tuple[zipfile.ZipInfo, str]]:
    """
    Check every member of a frame zip before anything is written, and pick the frames.

    Rejects absolute paths, drive letters, ``..``, links, duplicate names, too many files and a total
    (declared) size over the bound. Frames land flat in the destination under their base name.

    :param archive: the open zip.
    :param max_bytes: bound on the total uncompressed size of the frames.
    :param max_files: bound on the number of frames.
    :raises MaviOperatorError: naming the offending member; nothing has been written then.
    """
    chosen: list[tuple[zipfile.ZipInfo, str]] = []
    names: set[str] = set()
    total = 0
    for info in archive.infolist():
        raw = info.filename
        name = raw.replace("\\", "/")
        if name.startswith("/") or (len(name) > 1 and name[1] == ":") or "\x00" in name:
            raise MaviOperatorError(f"The frame zip holds an absolute path {raw!r}: nothing was extracted")
        if ".." in name.split("/"):
            raise MaviOperatorError(
                f"The frame zip holds a path leaving the destination {raw!r}: nothing was extracted"
            )
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise MaviOperatorError(f"The frame zip holds a link {raw!r}: nothing was extracted")
        if info.is_dir():
            continue
        base = posixpath.basename(name)
        if posixpath.splitext(base)[1].lower() not in FRAME_SUFFIXES or base.startswith("."):
            continue
        if base in names:
            raise MaviOperatorError(f"The frame zip holds two frames named {base!r}: nothing was extracted")
        names.add(base)
        total += info.file_size
        if len(names) > max_files or total > max_bytes:
            raise MaviOperatorError(
                f"The frame zip holds more than {max_files} frames or {max_bytes} bytes: "
                "nothing was extracted"
            )
        chosen.append((info, base))
    return chosen


def _copy_hashing(source: IO[bytes], target: IO[bytes]) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    while chunk := source.read(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
        target.write(chunk)
    return digest.hexdigest(), size


class MaviDownloadAssetOperator(DownloadLineage, MaviBaseOperator):
    """
    Download an asset (streamed) to a local path or any ``ObjectStoragePath``.

    ``destination`` is a directory when it exists as one or ends with ``/`` (the name comes from Mavi),
    else the file to write. With ``extract=True`` and an ``im_`` frame group, the zip is unpacked into the
    ``destination`` directory (created if missing) and only the frames land there. Returns
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

    def _download_frames(self, asset_id: str) -> dict[str, Any]:
        destination = self.destination
        target = (
            destination
            if isinstance(destination, ObjectStoragePath)
            else ObjectStoragePath(os.fspath(destination))
        )
        with tempfile.TemporaryDirectory(prefix="mavi-frames-") as scratch:
            archive_path = str(self.hook.download_asset(asset_id, scratch + os.sep))
            archive_sha, archive_size = _sha256_of(archive_path)
            try:
                archive = zipfile.ZipFile(archive_path)
            except zipfile.BadZipFile as error:
                raise MaviOperatorError(f"Mavi asset {asset_id} is not a zip of frames: {error}") from error
            with archive:
                members = frame_members(
                    archive, max_bytes=self.max_extract_bytes, max_files=self.max_extract_files
                )
                target.mkdir(parents=True, exist_ok=True)
                files: list[dict[str, Any]] = []
                for info, name in members:
                    path = target / name
                    with archive.open(info) as source, path.open("wb") as sink:
                        sha, size = _copy_hashing(source, sink)
                    files.append({"path": str(path), "bytes": size, "sha256": sha})
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
