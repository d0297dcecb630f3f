"""The video of a VLM chat, as ``/vu/chat/completions`` can take it (mavi-api.md §12.9, §12.11).

The endpoint takes no ``re_`` asset: only a URL the model provider fetches, or, for Nova alone, the bytes as
a ``data:video/...;base64,`` URI (Gemini does not accept base64 video). So:

- an ``http(s)`` URL or a ``data:`` URI is sent as given;
- a local file, or an object-storage path (``s3://``, ``gs://``...), is read and sent inline to ``nova:``
  models, up to ``max_inline_bytes``;
- with ``presign_expires`` (seconds), an object-storage path is sent as a presigned URL made by its
  filesystem (``fsspec``'s ``sign``: s3fs and gcsfs implement it), for any model. Opt-in, because the URL lets
  whoever holds it (the model provider) read the object until it expires; it is never logged or kept;
- anything else for ``gemini:`` models is refused with a message saying what to give instead.
"""

from __future__ import annotations

import base64
import mimetypes
from urllib.parse import urlsplit

from airflow.sdk import ObjectStoragePath

from airflow_provider_mavi.exceptions import MaviOperatorError

__all__ = ["DEFAULT_MAX_INLINE_BYTES", "guess_video_mime", "is_local", "video_reference"]

#: Amazon's limit for a video sent inline to Nova (25 MB); Mavi documents none.
DEFAULT_MAX_INLINE_BYTES = 25_000_000
_LOCAL = ("", "file", "local")


def guess_video_mime(reference: str, default: str = "video/mp4") -> str:
    """The MIME type of a video from its name (query strings ignored); ``default`` when not a video type.

    :param reference: a URL or a path.
    :param default: the fallback.
    """
    guessed, _ = mimetypes.guess_type(urlsplit(reference).path or reference)
    return guessed if guessed and guessed.startswith("video/") else default


def is_local(path: ObjectStoragePath) -> bool:
    """Whether a path is on the worker's own disk.

    :param path: the path.
    """
    return (path.protocol or "") in _LOCAL


def _presigned(path: ObjectStoragePath, expires: int) -> str:
    if is_local(path):
        raise MaviOperatorError(
            "presign_expires applies to object storage: a local file has no URL the model provider could "
            "fetch. Upload it to object storage, or give an http(s) URL. Nothing was sent to Mavi."
        )
    try:
        url = path.fs.sign(path.path, expiration=int(expires))
    except NotImplementedError:
        raise MaviOperatorError(
            f"The {path.protocol}:// filesystem cannot presign URLs; give an http(s) URL instead. "
            "Nothing was sent to Mavi."
        ) from None
    if not isinstance(url, str) or urlsplit(url).scheme not in ("http", "https"):
        raise MaviOperatorError(
            f"The {path.protocol}:// filesystem signed a URL that is not http(s). Nothing was sent to Mavi."
        )
    return url


def _inline(path: ObjectStoragePath, mime_type: str, max_bytes: int) -> str:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise MaviOperatorError(f"video {str(path)!r} does not exist. Nothing was sent to Mavi.") from None
    except (OSError, ValueError) as error:  # e.g. no filesystem registered for its scheme
        raise MaviOperatorError(f"video {str(path)!r} cannot be read: {error}. Nothing was sent.") from None
    if size > max_bytes:
        raise MaviOperatorError(
            f"video {str(path)!r} is {size} bytes, over max_inline_bytes ({max_bytes}) for a video sent "
            "inline to Nova: give an http(s) URL (or presign_expires for object storage). "
            "Nothing was sent to Mavi."
        )
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f"data:{mime_type};base64,{data}"


def video_reference(
    video: str, provider: str, *, mime_type: str, presign_expires: int | None, max_inline_bytes: int
) -> str:
    """What to send as the chat's ``video``: a URL or a data URI (the request's checks follow in the hook).

    :param video: an http(s) URL, a ``data:`` URI, a local path or an object-storage path.
    :param provider: the model's provider prefix (``gemini``, ``nova``, ``qwen``).
    :param mime_type: the video's MIME type, for a data URI.
    :param presign_expires: sign object-storage paths for this many seconds; None: never sign.
    :param max_inline_bytes: the largest file sent inline.
    :raises MaviOperatorError: when this model cannot take this video (nothing is sent then).
    """
    scheme = urlsplit(video).scheme.lower()
    if scheme in ("http", "https", "data"):
        return video
    path = ObjectStoragePath(video)
    if presign_expires is not None:
        return _presigned(path, presign_expires)
    if provider == "nova":
        return _inline(path, mime_type, max_inline_bytes)
    where = "a local file" if is_local(path) else f"a {path.protocol}:// object"
    raise MaviOperatorError(
        f"{provider}: models cannot take {where}: Mavi's chat endpoint takes a video only as a URL the "
        "model provider can fetch (base64 video is accepted by nova: models only, mavi-api.md §12.9). "
        "Give an http(s) URL, e.g. a presigned object-storage URL (presign_expires=3600 signs s3:// or "
        "gs:// paths for you), or use a nova: model. Nothing was sent to Mavi."
    )
