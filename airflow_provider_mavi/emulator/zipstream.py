"""A stored (uncompressed) zip written as a stream, with its exact length known before the first byte.

Frames are JPEGs, which do not compress, so storing them costs nothing; knowing every size and CRC in
advance (they are measured when the frames are written) lets the download send ``Content-Length`` and
stream the files from disk without building the archive anywhere.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

_DOS_DATE = (0 << 9) | (1 << 5) | 1  # 1980-01-01: fixed, so the archive is deterministic
_DOS_TIME = 0
_CHUNK = 1 << 16
_LIMIT = 0xFFFFFFFF


@dataclass(frozen=True)
class ZipMember:
    """One file of the archive."""

    name: str
    path: Path
    size: int
    crc32: int


def _flags(name: str) -> int:
    """Return the general-purpose flags: bit 11 marks a UTF-8 name.

    :param name: the member's name.
    """
    return 0 if name.isascii() else 0x0800


def _local_header(member: ZipMember) -> bytes:
    """Return the local file header of a member (version 2.0, stored, sizes and CRC known).

    :param member: the member.
    """
    name = member.name.encode()
    fixed = (
        0x04034B50,
        20,
        _flags(member.name),
        0,
        _DOS_TIME,
        _DOS_DATE,
        member.crc32,
        member.size,
        member.size,
    )
    return struct.pack("<IHHHHHIIIHH", *fixed, len(name), 0) + name


def _central_header(member: ZipMember, offset: int) -> bytes:
    """Return the central directory entry of a member.

    :param member: the member.
    :param offset: where its local header starts.
    """
    name = member.name.encode()
    fixed = (0x02014B50, 20, 20, _flags(member.name), 0, _DOS_TIME, _DOS_DATE, member.crc32, member.size)
    tail = (member.size, len(name), 0, 0, 0, 0, 0o100644 << 16, offset)
    return struct.pack("<IHHHHHHIIIHHHHHII", *fixed, *tail) + name


def zip_size(members: list[ZipMember]) -> int:
    """Return the exact byte length of the archive.

    :param members: the files, in order.
    """
    names = sum(len(m.name.encode()) for m in members)
    return sum(m.size for m in members) + 30 * len(members) + 46 * len(members) + 2 * names + 22


def check_fits(members: list[ZipMember]) -> None:
    """Refuse archives that would need ZIP64 (over 65,535 files or 4 GiB).

    :param members: the files.
    :raises ValueError: when the archive is too big for a plain zip.
    """
    if len(members) > 0xFFFF or zip_size(members) > _LIMIT:
        raise ValueError("frame archive too large for a plain zip")


def iter_zip(members: list[ZipMember]) -> Iterator[bytes]:
    """Yield the archive's bytes, reading each member from disk in chunks.

    :param members: the files, in order.
    """
    check_fits(members)
    offsets = []
    offset = 0
    for member in members:
        offsets.append(offset)
        header = _local_header(member)
        yield header
        with member.path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                yield chunk
        offset += len(header) + member.size
    directory = b"".join(_central_header(m, o) for m, o in zip(members, offsets, strict=True))
    yield directory
    yield struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(directory), offset, 0)
