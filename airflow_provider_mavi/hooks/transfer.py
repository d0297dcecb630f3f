"""Streaming file transfer for the Mavi hook: a multipart body read from a file in chunks, upload sources
(local path or ``ObjectStoragePath``), download targets written under a temporary name then renamed, and
progress logs. Nothing here holds a whole file in memory.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, TypeAlias, Union

from airflow.sdk import ObjectStoragePath

from airflow_provider_mavi.compat import is_plain_path
from airflow_provider_mavi.exceptions import MaviConnectionError
from airflow_provider_mavi.paths import describe_missing

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

log = logging.getLogger(__name__)

CHUNK_SIZE = 1024 * 1024
#: Read-ahead and write buffer of a remote file (fsspec's ``block_size``). s3fs would use 50 MiB; 8 MiB keeps
#: a transfer's memory small and is above S3's 5 MiB minimum multipart part.
REMOTE_BLOCK_SIZE = 8 * 1024 * 1024
#: How much of a body that should be small JSON (an answer, an error served as a file) is read at most.
MAX_ERROR_BODY = 1024 * 1024
PROGRESS_EVERY_SECONDS = 5.0

Location: TypeAlias = Union[str, "os.PathLike[str]", ObjectStoragePath]


# --------------------------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class UploadSource:
    """A file to upload, opened anew for every attempt.

    :param name: the file name sent to Mavi.
    :param size: its size in bytes.
    :param opener: returns a fresh binary stream positioned at the start.
    """

    name: str
    size: int
    opener: Callable[[], IO[bytes]]

    @property
    def content_type(self) -> str:
        """The MIME type guessed from the name."""
        return mimetypes.guess_type(self.name)[0] or "application/octet-stream"


def as_location(location: Location) -> Path | ObjectStoragePath:
    """A local ``Path``, or an ``ObjectStoragePath`` for an ``ObjectStoragePath`` or a ``scheme://`` string.

    :param location: what the caller passed.
    """
    if isinstance(location, ObjectStoragePath):
        return location
    text = os.fspath(location)
    if "://" in text:
        return ObjectStoragePath(text)
    return Path(text)


def open_stream(location: Path | ObjectStoragePath, mode: str) -> IO[bytes]:
    """Open a local or remote file in binary ``mode``; a remote one with :data:`REMOTE_BLOCK_SIZE` buffers.

    :param location: the file.
    :param mode: ``rb`` or ``wb``.
    """
    if isinstance(location, ObjectStoragePath) and location.protocol not in ("", "file", "local"):
        stream: IO[bytes] = location.open(mode, block_size=REMOTE_BLOCK_SIZE)
        return stream
    return location.open(mode)


def upload_source(source: Location) -> UploadSource:
    """Describe a local file or an object to upload; raise :class:`FileNotFoundError` if it is not a file.

    :param source: a local path, an ``ObjectStoragePath`` or a ``scheme://`` URL string.
    """
    location = as_location(source)
    if is_plain_path(location):
        if not location.is_file():
            raise FileNotFoundError(f"Nothing to upload: {location} is not a file.")
        local = location
        return UploadSource(location.name, local.stat().st_size, lambda: local.open("rb"))
    if not location.is_file():
        raise FileNotFoundError(f"Nothing to upload: {describe_missing(location)}.")
    remote = location
    return UploadSource(remote.name, int(remote.stat().st_size), lambda: open_stream(remote, "rb"))


# --------------------------------------------------------------------------------------------- multipart


def _quote_filename(name: str) -> str:
    """Escape a file name for a form-data header the way browsers do (HTML living standard)."""
    return name.replace("\r", "%0D").replace("\n", "%0A").replace('"', "%22")


class MultipartFileBody:
    """A ``multipart/form-data`` body with one file field, produced chunk by chunk.

    It has a length (so ``requests`` sends ``Content-Length`` instead of chunked encoding) and can be iterated
    once per attempt; a file whose size changes during the upload raises :class:`OSError`.

    :param source: the file.
    :param field: the form field name (Mavi documents ``file``).
    :param progress: called with the number of file bytes sent so far.
    """

    def __init__(
        self,
        source: UploadSource,
        field: str = "file",
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.source = source
        self.boundary = f"mavi-{secrets.token_hex(16)}"
        self._head = (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="{field}"; filename="{_quote_filename(source.name)}"\r\n'
            f"Content-Type: {source.content_type}\r\n\r\n"
        ).encode()
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()
        self._progress = progress

    @property
    def content_type(self) -> str:
        """The request's ``Content-Type``."""
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self._head) + self.source.size + len(self._tail)

    def __iter__(self) -> Iterator[bytes]:
        yield self._head
        yield from iter_file(self.source, self._progress)
        yield self._tail


class SourceChangedError(OSError):
    """The file being uploaded changed size during the upload (nothing usable reached Mavi)."""


def iter_file(source: UploadSource, progress: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """The bytes of ``source`` in chunks; :class:`SourceChangedError` if its size is not the declared one.

    :param source: the file.
    :param progress: called with the number of bytes read so far.
    """
    sent = 0
    with source.opener() as stream:
        while True:
            chunk = stream.read(CHUNK_SIZE)
            if not chunk:
                break
            sent += len(chunk)
            if sent > source.size:
                raise SourceChangedError(f"{source.name} grew while it was being uploaded; upload it again.")
            if progress:
                progress(sent)
            yield chunk
    if sent != source.size:
        raise SourceChangedError(
            f"{source.name} shrank while it was being uploaded ({sent} of {source.size} bytes); "
            "upload it again."
        )


class RawFileBody:
    """The bare bytes of a file as a body with a length (for a raw ``PUT`` to a signed URL).

    :param source: the file.
    :param progress: called with the number of bytes sent so far.
    """

    def __init__(self, source: UploadSource, progress: Callable[[int], None] | None = None) -> None:
        self.source = source
        self._progress = progress

    @property
    def content_type(self) -> str:
        """The request's ``Content-Type``: the file's own."""
        return self.source.content_type

    def __len__(self) -> int:
        return self.source.size

    def __iter__(self) -> Iterator[bytes]:
        yield from iter_file(self.source, self._progress)


# --------------------------------------------------------------------------------------------- progress


class Progress:
    """Logs a transfer's progress at most every ``every`` seconds.

    :param action: ``Uploading`` or ``Downloading``.
    :param subject: what is moved (a file name or an asset id; never a URL).
    :param total: the size in bytes, when known.
    :param every: seconds between log lines (``PROGRESS_EVERY_SECONDS`` by default).
    :param logger: where to log.
    """

    def __init__(
        self,
        action: str,
        subject: str,
        total: int | None,
        every: float | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.action = action
        self.subject = subject
        self.total = total
        self.every = PROGRESS_EVERY_SECONDS if every is None else every
        self.log = logger or log
        self.started = time.monotonic()
        self._last = self.started
        self.done = 0

    def __call__(self, done: int) -> None:
        self.done = done
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self._emit(now)

    def finish(self) -> None:
        """Log the final figures."""
        self._emit(time.monotonic(), final=True)

    def _emit(self, now: float, final: bool = False) -> None:
        elapsed = max(now - self.started, 1e-6)
        rate = self.done / elapsed / 2**20
        if self.total:
            self.log.info(
                "%s %s: %.1f of %.1f MiB (%d%%), %.1f MiB/s%s",
                self.action,
                self.subject,
                self.done / 2**20,
                self.total / 2**20,
                100 * self.done // self.total,
                rate,
                " (done)" if final else "",
            )
        else:
            self.log.info(
                "%s %s: %.1f MiB, %.1f MiB/s%s",
                self.action,
                self.subject,
                self.done / 2**20,
                rate,
                " (done)" if final else "",
            )


# --------------------------------------------------------------------------------------------- targets


def is_directory_target(destination: Location) -> bool:
    """design.md's rule: an existing directory, or a path ending in ``/``, is a directory.

    :param destination: the caller's destination.
    """
    if isinstance(destination, ObjectStoragePath):
        return destination.is_dir()
    text = os.fspath(destination)
    if text.endswith(("/", os.sep)):
        return True
    location = as_location(text)
    return location.is_dir()


def resolve_target(destination: Location, filename: str) -> Path | ObjectStoragePath:
    """The file to write: ``destination/filename`` for a directory, else ``destination`` itself.

    Local parent directories are created.

    :param destination: a local path, ``ObjectStoragePath`` or ``scheme://`` string.
    :param filename: the safe file name to use inside a directory.
    """
    directory = is_directory_target(destination)
    location = as_location(destination)
    target = location / filename if directory else location
    if is_plain_path(target):
        target.parent.mkdir(parents=True, exist_ok=True)
    return target


class AtomicWriter:
    """Writes a file under a hidden temporary name beside the target and renames it on :meth:`commit`.

    Until then, and after :meth:`discard`, the target is untouched and no partial file is left.

    :param target: the final file.
    """

    def __init__(self, target: Path | ObjectStoragePath) -> None:
        self.target = target
        token = secrets.token_hex(6)
        self.temp = target.parent / f".{target.name}.{token}.part"
        self._stream: IO[bytes] | None = None
        self.written = 0

    def write(self, chunk: bytes) -> None:
        """Append ``chunk``.

        :param chunk: bytes to write.
        """
        if self._stream is None:
            self._stream = open_stream(self.temp, "wb")
        assert self._stream is not None
        self._stream.write(chunk)
        self.written += len(chunk)

    def commit(self) -> Path | ObjectStoragePath:
        """Close and move the file into place; return the target."""
        if self._stream is None:
            self._stream = open_stream(self.temp, "wb")
        assert self._stream is not None
        self._stream.close()
        replace(self.temp, self.target)
        return self.target

    def discard(self) -> None:
        """Close and delete the temporary file (best effort, never raises)."""
        try:
            if self._stream is not None:
                self._stream.close()
        except Exception:  # noqa: S110 - the real error is being raised by the caller
            pass
        remove_quietly(self.temp)


def replace(temp: Path | ObjectStoragePath, target: Path | ObjectStoragePath) -> None:
    """Move a finished temporary file onto its target (atomic on a local disk, a copy on object storage).

    :param temp: the temporary file, beside the target.
    :param target: the final file; an existing one is replaced.
    """
    if is_plain_path(temp) or (temp.protocol or "") in ("", "file", "local"):
        local = temp if is_plain_path(temp) else temp.path
        os.replace(local, target if is_plain_path(target) else target.path)
        return
    if target.exists():
        target.unlink()
    temp.rename(target)


def remove_quietly(path: Path | ObjectStoragePath) -> None:
    """Delete a temporary file if it is there (best effort: logs, never raises).

    :param path: the file.
    """
    try:
        if path.exists():
            path.unlink()
    except Exception:
        log.warning("Could not delete the partial file %s", path)


def copy_download(
    chunks: Iterable[bytes],
    writer: AtomicWriter,
    progress: Progress,
    total: int | None,
    error_in: Callable[[bytes], Exception | None],
) -> None:
    """Write a download's body through ``writer``, chunk by chunk.

    A small body that starts with ``{`` is read first (up to :data:`MAX_ERROR_BODY`) and shown to
    ``error_in``: Mavi may serve a JSON error envelope as a "file", which must raise instead of being kept.
    A body shorter than ``total`` raises :class:`MaviConnectionError`.

    :param chunks: the body's chunks.
    :param writer: where the file goes.
    :param progress: called with the bytes written so far.
    :param total: the expected size (``Content-Length``), when known.
    :param error_in: the error a small JSON-looking body stands for, or None when it is a real file.
    """
    stream = iter(chunks)
    head = b""
    for chunk in stream:
        head += chunk
        if head:
            break
    if head.lstrip().startswith(b"{") and (total is None or total <= MAX_ERROR_BODY):
        for chunk in stream:
            head += chunk
            if len(head) > MAX_ERROR_BODY:
                break
        error = error_in(head)
        if error is not None:
            raise error
    if head:
        writer.write(head)
        progress(writer.written)
    for chunk in stream:
        writer.write(chunk)
        progress(writer.written)
    if total is not None and writer.written != total:
        raise MaviConnectionError(
            f"The download of {progress.subject} ended after {writer.written} of {total} bytes; "
            "nothing was kept."
        )
