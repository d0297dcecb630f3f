"""Probe a video's duration without decoding it: the ``mvhd`` box of an MP4/MOV file, else PyAV.

Frame extraction costs $0.01 per second of video, so the price needs the duration. It is measured where it is
known (the file being uploaded); when it cannot be measured this returns None and callers say so.
"""

from __future__ import annotations

import logging
import os
import struct
from typing import IO, TYPE_CHECKING, Union

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

log = logging.getLogger(__name__)

__all__ = ["mvhd_duration", "probe_duration_seconds"]

#: Boxes whose children are read on the way to ``moov/mvhd``; every other box is skipped by seeking.
_MAX_BOXES = 10_000
PathLike = Union[str, "os.PathLike[str]", "ObjectStoragePath"]


def probe_duration_seconds(path: PathLike) -> float | None:
    """The duration of a video in seconds, or None when it cannot be told.

    Reads the MP4/MOV ``moov/mvhd`` box by seeking over the other boxes (no media data is read); falls back
    to PyAV when it is installed and the file is local.

    :param path: a local path or an ``ObjectStoragePath``.
    """
    try:
        with _open(path) as stream:
            duration = mvhd_duration(stream)
    except (OSError, ValueError, struct.error) as exc:
        log.debug("Could not read the MP4 header of %s: %s", path, type(exc).__name__)
        duration = None
    if duration is not None:
        return duration
    return _pyav_duration(path)


def _open(path: PathLike) -> IO[bytes]:
    if hasattr(path, "fs") and hasattr(path, "open"):
        return path.open("rb")
    return open(os.fspath(path), "rb")


def mvhd_duration(stream: IO[bytes]) -> float | None:
    """The duration from the ``mvhd`` box of an MP4/MOV stream (seekable), or None.

    :param stream: a binary stream positioned at the start of the file.
    """
    end = _stream_size(stream)
    return _scan(stream, 0, end, in_moov=False)


def _stream_size(stream: IO[bytes]) -> int:
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    return size


def _scan(stream: IO[bytes], start: int, end: int, *, in_moov: bool) -> float | None:
    position = start
    for _ in range(_MAX_BOXES):
        if position + 8 > end:
            return None
        stream.seek(position)
        header = stream.read(8)
        if len(header) < 8:
            return None
        size, kind = struct.unpack(">I4s", header)
        header_size = 8
        if size == 1:
            large = stream.read(8)
            if len(large) < 8:
                return None
            size = struct.unpack(">Q", large)[0]
            header_size = 16
        elif size == 0:
            size = end - position
        if size < header_size or position + size > end:
            return None
        body = position + header_size
        if not in_moov and kind == b"moov":
            return _scan(stream, body, position + size, in_moov=True)
        if in_moov and kind == b"mvhd":
            return _read_mvhd(stream, body, position + size)
        position += size
    return None


def _read_mvhd(stream: IO[bytes], start: int, end: int) -> float | None:
    stream.seek(start)
    version_flags = stream.read(4)
    if len(version_flags) < 4:
        return None
    if version_flags[0] == 1:
        fields = stream.read(28)
        if len(fields) < 28 or start + 32 > end:
            return None
        timescale, duration = struct.unpack(">16xIQ", fields)
        unknown = duration == 0xFFFFFFFFFFFFFFFF
    else:
        fields = stream.read(16)
        if len(fields) < 16 or start + 20 > end:
            return None
        timescale, duration = struct.unpack(">8xII", fields)
        unknown = duration == 0xFFFFFFFF
    if timescale == 0 or unknown or duration == 0:
        return None
    return duration / timescale


def _pyav_duration(path: PathLike) -> float | None:
    if hasattr(path, "fs"):
        return None
    try:
        import av
    except ImportError:
        return None
    try:
        with av.open(os.fspath(path)) as container:
            if container.duration:
                return float(container.duration) / 1_000_000
            for stream in container.streams.video:
                if stream.duration and stream.time_base:
                    return float(stream.duration * stream.time_base)
    except Exception as exc:  # PyAV raises many kinds of errors for non-media files
        log.debug("PyAV could not read %s: %s", path, type(exc).__name__)
    return None
