"""Tell, before anything is paid for, whether a file is provably NOT the kind of media it is meant to be.

Only proof counts: a file is refused when it is empty, when its first bytes are those of a document, an
archive, a program or plain text (no audio or video container starts that way), when a still image is given
as a video or a sound, or, where PyAV is installed and the file is on the worker's disk, when FFmpeg cannot
open it at all or finds no stream of the wanted kind. Anything else (an unknown container, a remote file PyAV
would have to download) may be media, and goes on to Mavi, which has the last word.
"""

from __future__ import annotations

import logging
import os
from typing import Literal

log = logging.getLogger(__name__)

MediaType = Literal["video", "audio", "image"]
MEDIA_TYPES: tuple[str, ...] = ("video", "audio", "image")
#: How many first bytes are looked at.
HEAD_BYTES = 4096

_NOT_MEDIA: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a zip archive (or an Office document)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x7fELF", "a Linux program"),
    (b"SQLite format 3\x00", "an SQLite database"),
)
_STILLS: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
)
_ATTACHED_PIC = 0x0400  # AV_DISPOSITION_ATTACHED_PIC: cover art, not a video
_TEXT_CONTROLS = {"\t", "\n", "\r", "\f", "\v"}


def check_media_type(media_type: object) -> MediaType | None:
    """Validate a ``media_type`` argument.

    :param media_type: ``"video"``, ``"audio"``, ``"image"`` or None (no check).
    :raises ValueError: for anything else.
    """
    if media_type is None or media_type in MEDIA_TYPES:
        return media_type  # type: ignore[return-value]
    raise ValueError(f"media_type must be one of {', '.join(MEDIA_TYPES)} or None, got {media_type!r}")


def is_text(head: bytes) -> bool:
    """True when ``head`` is plain text: UTF-8 (a character cut at the end allowed) without control bytes.

    :param head: a file's first bytes.
    """
    if not head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 3:
            return False
        text = head[: error.start].decode("utf-8")
    return all(char.isprintable() or char in _TEXT_CONTROLS for char in text)


def sniff_problem(head: bytes, size: int, media_type: MediaType) -> str | None:
    """Why a file with these first bytes cannot be ``media_type``, or None when it may be.

    :param head: its first bytes (up to :data:`HEAD_BYTES`).
    :param size: its size in bytes.
    :param media_type: what it should be.
    """
    if size == 0:
        return "it is empty"
    for signature, what in _NOT_MEDIA:
        if head.startswith(signature):
            return f"it is {what}, not {_article(media_type)}"
    if media_type != "image":
        for signature, what in _STILLS:
            if head.startswith(signature):
                return f"it is {what}, not {_article(media_type)}"
    if is_text(head):
        return f"it is a text file, not {_article(media_type)}"
    return None


def decode_problem(path: str | os.PathLike[str], media_type: MediaType) -> str | None:
    """Why FFmpeg (PyAV) proves a local file is not ``media_type``, or None (also when PyAV is missing).

    :param path: a local file.
    :param media_type: ``video`` needs a video stream (cover art does not count), ``audio`` an audio stream;
        ``image`` is only checked to be decodable.
    """
    try:
        import av
        from av.error import InvalidDataError
    except ImportError:
        return None
    try:
        with av.open(os.fspath(path)) as container:
            videos = [s for s in container.streams.video if not int(s.disposition or 0) & _ATTACHED_PIC]
            audios = list(container.streams.audio)
    except InvalidDataError as error:
        return f"it is not decodable media (FFmpeg: {error.strerror or 'invalid data'})"
    except Exception as error:  # not a proof: an I/O error, an FFmpeg build without that demuxer...
        log.info("PyAV could not open %s (%s): leaving the decision to Mavi", path, type(error).__name__)
        return None
    if media_type == "video" and not videos:
        return "it has no video stream" + (" (audio only)" if audios else "")
    if media_type == "audio" and not audios:
        return "it has no audio stream"
    return None


def _article(media_type: str) -> str:
    return {"audio": "an audio file", "image": "an image"}.get(media_type, f"a {media_type}")
