"""File names for downloads: read from ``Content-Disposition``, made safe to write in a directory.

Pure (no I/O). Mavi sends the original name of an asset in ``Content-Disposition`` (``mavi-api.md`` §2.7);
that name comes from whoever uploaded the file, so it is stripped of any path, control and reserved
characters before it names a file on disk or in object storage.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata
from email.message import Message
from email.utils import collapse_rfc2231_value

__all__ = ["MAX_FILENAME_BYTES", "download_filename", "filename_from_content_disposition", "safe_filename"]

_FORBIDDEN_NAME_CHARS = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$", re.IGNORECASE)
#: The longest file name written, in UTF-8 bytes (file systems allow 255).
MAX_FILENAME_BYTES = 200


def filename_from_content_disposition(header: str | None) -> str | None:
    """The raw file name of a ``Content-Disposition`` header (``filename*`` preferred), unsanitised.

    :param header: the header value.
    """
    if not header:
        return None
    message = Message()
    message["content-disposition"] = header
    try:
        params = message.get_params(header="content-disposition") or []
    except (ValueError, LookupError, TypeError):
        return None
    plain: str | None = None
    for key, value in params[1:]:
        if key.lower() != "filename":
            continue
        if isinstance(value, tuple):  # RFC 2231/5987 ``filename*``: preferred (RFC 6266 §4.3)
            try:
                return str(collapse_rfc2231_value(value))
            except (LookupError, UnicodeError, TypeError):
                continue
        if plain is None and isinstance(value, str):
            plain = collapse_rfc2231_value(value)
    return plain


def safe_filename(name: str | None, fallback: str) -> str:
    """A file name that cannot escape a directory or break a terminal.

    Keeps only the last path component, drops control and reserved characters, leading dots and
    surrounding spaces, and caps the length (keeping the extension); returns ``fallback`` when nothing is
    left.

    :param name: the proposed name (e.g. from ``Content-Disposition``).
    :param fallback: the name to use when ``name`` is unusable (itself assumed safe).
    """
    if not name:
        return fallback
    name = unicodedata.normalize("NFC", name)
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if ch.isprintable())  # drops control, format, unassigned, separators
    name = _FORBIDDEN_NAME_CHARS.sub("_", name)
    name = name.strip().lstrip(".").strip().rstrip(". ")
    if not name or _WINDOWS_RESERVED.match(name):
        return fallback
    if len(name.encode("utf-8")) > MAX_FILENAME_BYTES:
        stem, dot, ext = name.rpartition(".")
        ext = ext if dot and len(ext) <= 16 else ""
        stem = stem if dot and ext else name
        budget = MAX_FILENAME_BYTES - len(ext.encode("utf-8")) - 1
        stem = stem.encode("utf-8")[:budget].decode("utf-8", "ignore")
        name = f"{stem}.{ext}" if ext else stem
    return name


def download_filename(content_disposition: str | None, asset_id: str, content_type: str | None) -> str:
    """The file name to write a download under in a destination directory.

    :param content_disposition: the ``Content-Disposition`` header.
    :param asset_id: the asset (the fallback name is ``<asset_id><ext>``).
    :param content_type: the ``Content-Type`` header (gives the fallback's extension).
    """
    ext = ""
    if content_type:
        ext = mimetypes.guess_extension(content_type.split(";")[0].strip().lower()) or ""
    fallback = safe_filename(f"{asset_id}{ext}", "mavi-download")
    return safe_filename(filename_from_content_disposition(content_disposition), fallback)
