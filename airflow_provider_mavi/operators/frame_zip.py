"""Reading a frame zip (an ``im_`` download) safely: every member checked and read to its end before a single
file is written, so a corrupt, hostile or oversized zip raises :class:`MaviOperatorError` and leaves the
destination untouched.
"""

from __future__ import annotations

import hashlib
import lzma
import posixpath
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO

from airflow_provider_mavi.exceptions import MaviOperatorError

#: File types that count as frames when a frame zip is unpacked; anything else stays out.
FRAME_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"})
#: The first bytes each frame type must start with.
_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".gif": (b"GIF87a", b"GIF89a"),
    ".bmp": (b"BM",),
    ".tif": (b"II*\x00", b"MM\x00*"),
    ".tiff": (b"II*\x00", b"MM\x00*"),
}
#: What the standard library raises for a damaged zip: a bad CRC or header (BadZipFile), a broken deflate,
#: bzip2 or lzma stream, a cut member (EOFError), an unknown compression method (NotImplementedError), an
#: encrypted member (RuntimeError), impossible sizes or offsets (ValueError, OverflowError, struct.error).
ZIP_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    NotImplementedError,
    RuntimeError,
    ValueError,
    OverflowError,
    struct.error,
    OSError,
)
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Frame:
    """A frame of a checked zip.

    :param info: its zip member.
    :param name: the file name it gets in the destination.
    :param sha256: the digest of its bytes.
    :param size: its size in bytes.
    """

    info: zipfile.ZipInfo
    name: str
    sha256: str
    size: int


def frame_members(
    archive: zipfile.ZipFile, *, max_bytes: int, max_files: int
) -> list[tuple[zipfile.ZipInfo, str]]:
    """
    Check every member's name and declared size, and pick the frames (nothing is read or written).

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


def is_image_start(name: str, head: bytes) -> bool:
    """True when ``head`` (a file's first bytes) starts the way an image of ``name``'s type does.

    :param name: the file name (its suffix says the type).
    :param head: at least its first 12 bytes (fewer only for a shorter file).
    """
    suffix = posixpath.splitext(name)[1].lower()
    if suffix == ".webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    return head.startswith(_SIGNATURES.get(suffix, ()))


def read_frames(archive_path: str, *, asset_id: str, max_bytes: int, max_files: int) -> list[Frame]:
    """Check a whole frame zip and return its frames; nothing is written.

    Names and declared sizes are checked first (:func:`frame_members`); then every frame is read to its
    end, which checks its CRC-32, its size against the bound, and that it starts like an image of its type.

    :param archive_path: the downloaded zip (local).
    :param asset_id: the ``im_`` asset, for messages.
    :param max_bytes: bound on the total uncompressed size of the frames.
    :param max_files: bound on the number of frames.
    :raises MaviOperatorError: for any damaged, hostile or oversized zip, naming the member when one is at
        fault; nothing has been written then.
    """
    member = ""
    try:
        with zipfile.ZipFile(archive_path) as archive:
            frames: list[Frame] = []
            total = 0
            for info, name in frame_members(archive, max_bytes=max_bytes, max_files=max_files):
                member = info.filename
                with archive.open(info) as stream:
                    head = _read_head(stream)
                    if not is_image_start(name, head):
                        raise MaviOperatorError(
                            f"Mavi asset {asset_id}: the frame zip's member {member!r} is not a "
                            f"{posixpath.splitext(name)[1].lower().lstrip('.').upper()} image: "
                            "nothing was extracted"
                        )
                    digest = hashlib.sha256(head)
                    size = len(head)
                    while chunk := stream.read(_CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        if total + size > max_bytes:
                            raise MaviOperatorError(
                                f"The frame zip holds more than {max_bytes} bytes of frames: "
                                "nothing was extracted"
                            )
                total += size
                frames.append(Frame(info, name, digest.hexdigest(), size))
    except MaviOperatorError:
        raise
    except ZIP_ERRORS as error:
        where = f" (member {member!r})" if member else ""
        raise MaviOperatorError(
            f"Mavi asset {asset_id} is not a readable zip of frames{where}: {type(error).__name__}: "
            f"{error}. Nothing was extracted; download it again."
        ) from error
    return frames


def _read_head(stream: IO[bytes]) -> bytes:
    head = b""
    while len(head) < 12:
        chunk = stream.read(12 - len(head))
        if not chunk:
            break
        head += chunk
    return head
