"""Where DAGs read videos and write results: local paths and object storage URLs alike.

Object storage goes through Airflow's ``ObjectStoragePath``: ``s3://bucket/key`` uses the default credentials
of the environment, ``s3://aws_default@bucket/key`` (or ``ObjectStoragePath(url, conn_id=...)``) an Airflow
connection. Two rules hold for every operator and example DAG:

- a bucket is never created: a missing one is a clear error (``ObjectStoragePath.mkdir(parents=True)`` would
  create it, and with it a typo's bucket);
- an output location is checked (:func:`check_output_location`) before anything is paid for.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
from pathlib import Path
from typing import Union

from airflow.sdk import ObjectStoragePath

from airflow_provider_mavi.compat import storage_conn_id
from airflow_provider_mavi.exceptions import MaviOperatorError

log = logging.getLogger(__name__)

__all__ = [
    "BUCKET_PROTOCOLS",
    "LOCAL_PROTOCOLS",
    "PathLike",
    "bucket_of",
    "check_output_location",
    "describe_missing",
    "ensure_directory",
    "is_local",
    "missing_bucket",
    "safe_segment",
    "storage_path",
]

#: Protocols of the worker's own disk.
LOCAL_PROTOCOLS = frozenset({"", "file", "local"})
#: Protocols whose first path segment is a bucket (or container) that must exist and is never created.
BUCKET_PROTOCOLS = frozenset({"s3", "s3a", "s3n", "gs", "gcs", "az", "abfs", "abfss", "adl", "oss", "r2"})
#: Name prefix of the empty object written and deleted at once to prove a location is writable.
PROBE_PREFIX = ".mavi-write-check-"

PathLike = Union[str, "os.PathLike[str]", ObjectStoragePath]


def storage_path(location: PathLike) -> ObjectStoragePath:
    """Turn a local path (``~`` and relative paths allowed) or an object storage URL into a path.

    :param location: a local path, a URL such as ``s3://bucket/prefix`` or ``s3://conn_id@bucket/prefix``,
        or an ``ObjectStoragePath`` (returned as it is).
    """
    if isinstance(location, ObjectStoragePath):
        return location
    text = os.fspath(location)
    if "://" in text:
        return ObjectStoragePath(text)
    return ObjectStoragePath("file://" + os.path.abspath(os.path.expanduser(text)))


def safe_segment(text: str, fallback: str) -> str:
    """Make a run id or a file stem safe as one path segment on every object store.

    :param text: the text to clean.
    :param fallback: the segment to use when nothing is left of ``text``.
    """
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or fallback


def is_local(path: ObjectStoragePath) -> bool:
    """True when ``path`` is on the worker's own disk.

    :param path: the path.
    """
    return (path.protocol or "") in LOCAL_PROTOCOLS


def bucket_of(path: ObjectStoragePath) -> str | None:
    """The bucket (or container) of an object storage path, None for other file systems.

    :param path: the path.
    """
    if (path.protocol or "") not in BUCKET_PROTOCOLS:
        return None
    return path.path.lstrip("/").split("/", 1)[0] or None


def _connection(path: ObjectStoragePath) -> str:
    conn_id = storage_conn_id(path)
    return f"connection {conn_id!r}" if conn_id else "the environment's default credentials"


def missing_bucket(path: ObjectStoragePath) -> str | None:
    """Why ``path`` cannot exist because its bucket does not, or None when the bucket is there (or n/a).

    :param path: an object storage path.
    """
    bucket = bucket_of(path)
    if bucket is None or path.fs.exists(bucket):
        return None
    return (
        f"the bucket {bucket!r} does not exist (or cannot be seen with {_connection(path)}); "
        "buckets are never created for you"
    )


def describe_missing(path: ObjectStoragePath) -> str:
    """Say why there is no file at ``path``: no bucket, or no object at that key, or no local file.

    :param path: a path that is not an existing file.
    """
    bucket = missing_bucket(path)
    if bucket is not None:
        return bucket
    if bucket_of(path) is not None:
        return f"there is no object at {path} ({_connection(path)})"
    return f"{path} is not an existing file"


def ensure_directory(location: PathLike) -> ObjectStoragePath:
    """Make ``location`` ready to hold files, never creating a bucket.

    A local directory is created with its parents; on an object store nothing is created (there are no
    directories) but the bucket must exist; other file systems get ``mkdir(parents=True)``.

    :param location: the directory.
    :raises MaviOperatorError: when its bucket does not exist.
    """
    path = storage_path(location)
    if bucket_of(path) is not None:
        problem = missing_bucket(path)
        if problem is not None:
            raise MaviOperatorError(f"Cannot write to {path}: {problem}.")
        return path
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_output_location(location: PathLike, what: str, nothing: str) -> ObjectStoragePath:
    """Check, before anything is paid for, that files can be written under the directory ``location``.

    Local: the directory, or its nearest existing ancestor, must be a writable directory (nothing is
    created). Object storage: the bucket must exist, and an empty object ``.mavi-write-check-<random>`` is
    written and deleted under the prefix (the only proof of write access; a versioned bucket keeps a
    delete marker). Other file systems are not checked.

    :param location: the directory the results go to.
    :param what: what it is, for the message (``output_path``, ``destination``).
    :param nothing: what was not done, for the message (``nothing was submitted``).
    :raises MaviOperatorError: saying why it cannot be written.
    """
    path = storage_path(location)
    if is_local(path):
        _check_local_directory(Path(path.path), what, nothing)
        return path
    if bucket_of(path) is None:
        return path
    try:
        problem = missing_bucket(path)
    except Exception as error:  # the store's client raises its own errors (botocore, gcsfs, ...)
        raise MaviOperatorError(
            f"{what} {path} cannot be checked ({type(error).__name__}: {error}): {nothing}."
        ) from error
    if problem is not None:
        raise MaviOperatorError(f"{what} {path} cannot be written: {problem}; {nothing}.")
    probe = path / f"{PROBE_PREFIX}{secrets.token_hex(6)}"
    try:
        probe.write_bytes(b"")
    except Exception as error:
        raise MaviOperatorError(
            f"{what} {path} cannot be written ({type(error).__name__}: {error}); {nothing}."
        ) from error
    try:
        probe.unlink()
    except Exception as error:
        log.warning("Could not delete the write check %s: %s", probe, type(error).__name__)
    return path


def _check_local_directory(directory: Path, what: str, nothing: str) -> None:
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise MaviOperatorError(f"{what} {directory} cannot be a directory: {existing} is a file; {nothing}.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise MaviOperatorError(f"{what} {directory} cannot be written: {existing} is read-only; {nothing}.")
