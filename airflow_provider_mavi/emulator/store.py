"""The account's assets: uploads (``re_``), frame groups (``im_``) and single frames (``imc_``).

Bytes live on disk under the data folder; this registry keeps only small records in memory.
"""

from __future__ import annotations

import mimetypes
import shutil
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_mavi.emulator.names import disk_suffix

if TYPE_CHECKING:
    import random
    from pathlib import Path


def epoch_ms() -> str:
    """Return the current time in Unix epoch milliseconds, as the string Mavi uses."""
    return str(int(time.time() * 1000))


@dataclass
class Asset:
    """One asset. ``original_filename`` is the name without its extension, as in Mavi's metadata example."""

    asset_id: str
    original_filename: str
    extension: str
    path: Path | None
    file_size: int = 0
    upload_status: str = "WAITING"
    create_time: str = field(default_factory=epoch_ms)
    modify_time: str = field(default_factory=epoch_ms)
    duration: float | None = None
    has_video: bool = False
    has_audio: bool = False
    children: list[str] = field(default_factory=list)
    crc32: int = 0
    deleted: bool = False

    @property
    def filename(self) -> str:
        """The download name: original name and extension."""
        return f"{self.original_filename}.{self.extension}" if self.extension else self.original_filename

    @property
    def content_type(self) -> str:
        """The real MIME type, from the extension."""
        if self.extension == "zip":
            return "application/zip"
        return mimetypes.guess_type(self.filename)[0] or "application/octet-stream"

    def set_status(self, status: str) -> None:
        """Move to ``status`` and touch ``modify_time``.

        :param status: ``WAITING``, ``UPLOADING``, ``SUCCESS`` or ``FAILED``.
        """
        self.upload_status = status
        self.modify_time = epoch_ms()

    def record(self) -> dict[str, Any]:
        """Return the asset as split and edit callbacks show it (``file_size`` an integer there)."""
        return {**self.metadata(), "file_size": self.file_size}

    def metadata(self) -> dict[str, Any]:
        """Return the metadata entry exactly as Mavi documents it (sizes and times as strings)."""
        return {
            "extension": self.extension,
            "asset_id": self.asset_id,
            "original_filename": self.original_filename,
            "file_size": str(self.file_size),
            "upload_status": self.upload_status,
            "create_time": self.create_time,
            "modify_time": self.modify_time,
        }


class AssetStore:
    """Assets by id, and the ids the account hands out.

    :param root: the data folder.
    :param rng: random source for ids (seeded for reproducible runs).
    """

    def __init__(self, root: Path, rng: random.Random) -> None:
        """Create the folders."""
        self.root = root
        self.uploads = root / "uploads"
        self.frames = root / "frames"
        self.uploads.mkdir(parents=True, exist_ok=True)
        self.frames.mkdir(parents=True, exist_ok=True)
        self._rng = rng
        self._assets: dict[str, Asset] = {}
        self._lock = threading.Lock()

    def new_digits(self) -> str:
        """Return 18 random digits for a new ``re_`` id."""
        with self._lock:
            return str(self._rng.randrange(10**17, 10**18))

    def new_task_id(self) -> str:
        """Return a new async task id: 32 lower-case hex characters."""
        return f"{self.new_task_id_int():032x}"

    def new_task_id_int(self) -> int:
        """Return 128 random bits (seeded): a task id, or a UUID for answers that carry one."""
        with self._lock:
            return self._rng.getrandbits(128)

    def create(self, original_filename: str, extension: str, **fields: Any) -> Asset:
        """Register a new ``re_`` asset whose bytes will live in the uploads folder.

        :param original_filename: the name without its extension.
        :param extension: the lower-case extension (may be empty).
        :param fields: more :class:`Asset` fields (``upload_status``, ``duration``, ...).
        """
        asset_id = f"re_{self.new_digits()}"
        path = self.uploads / (asset_id + disk_suffix(extension))
        return self.add(
            Asset(
                asset_id=asset_id,
                original_filename=original_filename,
                extension=extension,
                path=path,
                **fields,
            )
        )

    def add(self, asset: Asset) -> Asset:
        """Register an asset.

        :param asset: the asset.
        """
        with self._lock:
            self._assets[asset.asset_id] = asset
        return asset

    def get(self, asset_id: str) -> Asset | None:
        """Return the live asset with that id, or ``None`` if unknown or deleted.

        :param asset_id: the id.
        """
        asset = self._assets.get(asset_id)
        return None if asset is None or asset.deleted else asset

    def children(self, asset: Asset) -> list[Asset]:
        """Return the live frames of a frame group, in order.

        :param asset: an ``im_`` asset.
        """
        return [child for cid in asset.children if (child := self.get(cid)) is not None]

    def delete(self, asset: Asset) -> None:
        """Delete an asset and its bytes; a frame group takes its frames with it.

        :param asset: the asset.
        """
        with self._lock:
            asset.deleted = True
            for cid in asset.children:
                child = self._assets.get(cid)
                if child is not None:
                    child.deleted = True
        if asset.asset_id.startswith("im_"):
            shutil.rmtree(self.frames / asset.asset_id, ignore_errors=True)
        elif asset.path is not None:
            asset.path.unlink(missing_ok=True)
