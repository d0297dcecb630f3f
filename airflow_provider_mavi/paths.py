"""Where DAGs read videos and write results: local paths and object storage URLs alike."""

from __future__ import annotations

import os
import re

from airflow.sdk import ObjectStoragePath


def storage_path(location: str) -> ObjectStoragePath:
    """Turn a local path (``~`` and relative paths allowed) or an object storage URL into a path.

    :param location: a local path or a URL such as ``s3://bucket/prefix``.
    """
    if "://" in location:
        return ObjectStoragePath(location)
    return ObjectStoragePath("file://" + os.path.abspath(os.path.expanduser(location)))


def safe_segment(text: str, fallback: str) -> str:
    """Make a run id or a file stem safe as one path segment on every object store.

    :param text: the text to clean.
    :param fallback: the segment to use when nothing is left of ``text``.
    """
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or fallback
