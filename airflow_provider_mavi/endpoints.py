"""The Mavi endpoint catalogue: one declaration per endpoint the provider calls.

Pure (no I/O). An :class:`Endpoint` says everything the clients need to know about one endpoint: method and
path template, kind, whether it creates something (the submit rule), its rate-limit bucket, its price rule,
how its request body is built and checked, and how its answer (and, for a job, its callback) becomes a small
result value. ``MaviHook.call(endpoint, **params)`` and ``acall`` do the rest, so adding an endpoint is one
entry here (see CONTRIBUTING.md, "Adding a Mavi endpoint").

Facts from ``mavi-api.md``: paths and bodies §2 and §3, bucket names §6 (every endpoint has its own 1
QPS bucket), prices §2 and §3.
"""

from __future__ import annotations

import enum
import re
import string
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import urlsplit

from airflow_provider_mavi.envelope import require_str
from airflow_provider_mavi.exceptions import MaviServerError
from airflow_provider_mavi.results import (
    Free,
    Price,
    Unknown,
    parse_frames_callback,
    parse_transcript_callback,
)
from airflow_provider_mavi.results.prices import (
    AUDIO_TRANSCRIPTION_PRICE,
    DOWNLOAD_PRICE,
    FRAMES_PRICE,
    VIDEO_DESCRIPTION_PRICE,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = [
    "AUDIO_MODEL",
    "DEFAULT_BASE_URL",
    "DEFAULT_VIDEO_MODEL",
    "DELETE",
    "DOWNLOAD",
    "EXTRACT_FRAMES",
    "METADATA",
    "SIGNED_UPLOAD_POST",
    "SIGNED_UPLOAD_PUT",
    "SIGNED_URL",
    "SUPPORTED_VIDEO_MODELS",
    "TRANSCRIBE_AUDIO",
    "TRANSCRIBE_VIDEO",
    "UPLOAD",
    "Answer",
    "Endpoint",
    "FileBody",
    "Kind",
    "SignedUpload",
    "check_asset_id",
]

T = TypeVar("T")

DEFAULT_BASE_URL = "https://mavi-backend.memories.ai/serve/api/v2"

#: The models Mavi documents for video description (``mavi-api.md`` §3.2).
SUPPORTED_VIDEO_MODELS: tuple[str, ...] = (
    "gemini-2.5-flash-lite",
    "gemini-2.5-flash",
    "gemini-2.5-flash-preview-09-2025",
    "gemini-2.5-flash-lite-preview-09-2025",
)
DEFAULT_VIDEO_MODEL = "gemini-2.5-flash-lite"
#: The only model Mavi documents for audio transcription (``mavi-api.md`` §3.3).
AUDIO_MODEL = "whisper-1"

STORAGE_NOTE = "the call is free; storage costs $0.001 per GB per day"


class Kind(enum.Enum):
    """What an exchange with the endpoint looks like."""

    CALL = "call"  # a JSON request; the answer holds the result
    JOB = "job"  # a JSON request answered with a task_id; the result comes later, by webhook
    UPLOAD = "upload"  # the request body is a file, streamed
    DOWNLOAD = "download"  # the answer is a file, streamed


class Answer(enum.Enum):
    """What the answer to a request is."""

    ENVELOPE = "envelope"  # Mavi's {code, msg, data}: the parser gets ``data``
    JSON = "json"  # JSON without Mavi's envelope (e.g. /vu/chat/completions): the parser gets the body
    STATUS = "status"  # only the HTTP status counts (the storage service behind a signed URL)


@dataclass(frozen=True)
class FileBody:
    """The request body is a file, streamed from the ``source`` parameter.

    :param field: the multipart form field (Mavi documents ``file``); None sends the raw bytes.
    """

    field: str | None = "file"


@dataclass(frozen=True)
class Endpoint(Generic[T]):
    """One Mavi endpoint.

    :param name: a short name for logs and the catalogue, e.g. ``extract_frames``.
    :param method: the HTTP method.
    :param path: the path below the base URL; ``{name}`` marks a path parameter, a checked id put in as one
        escaped segment (e.g. ``/{asset_id}/metadata``). For a request to a full URL (``url_param``) it is
        only the stand-in shown in messages.
    :param kind: JSON call, job answered by webhook, upload or download.
    :param creates: the request creates something or paid work (a job, an asset): it is repeated only when
        Mavi certainly created nothing (the submit rule of
        :func:`~airflow_provider_mavi.envelope.is_retryable`).
    :param bucket: the rate-limit bucket, named as Mavi's rate-limit table names the endpoint.
    :param price: the price rule (cost from usage, never a guess).
    :param parse: turns the answer (the envelope's ``data``, or the JSON body) and the request's label into
        the result value; raises :class:`~airflow_provider_mavi.exceptions.MaviServerError` when a field is
        missing.
    :param body: builds and checks the JSON body from the call's parameters (raises ``ValueError`` before
        anything is sent), a :class:`FileBody`, or None when the request has no body.
    :param callback: for a job, parses its webhook callback into the result value.
    :param answer: what the answer is (Mavi's envelope, bare JSON, or only a status).
    :param url_param: the parameter holding the full URL to send to (a signed upload URL); such a request
        never carries the API key.
    :param gone_means_done: a "not found" after an earlier attempt that may have gone through means done
        (a repeated DELETE).
    """

    name: str
    method: str
    path: str
    kind: Kind
    creates: bool
    bucket: str
    price: Price
    parse: Callable[[Any, str], T]
    body: Callable[..., dict[str, Any]] | FileBody | None = None
    callback: Callable[[Mapping[str, Any]], Any] | None = None
    answer: Answer = Answer.ENVELOPE
    url_param: str | None = None
    gone_means_done: bool = False
    path_params: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.method not in ("GET", "POST", "PUT", "DELETE"):
            raise ValueError(f"{self.name}: unknown HTTP method {self.method!r}")
        if self.url_param is None and not self.path.startswith("/"):
            raise ValueError(f"{self.name}: the path must start with '/', got {self.path!r}")
        if self.kind is Kind.JOB and (self.callback is None or not self.creates):
            raise ValueError(f"{self.name}: a job creates paid work and needs a callback parser")
        if (self.kind is Kind.UPLOAD) != isinstance(self.body, FileBody):
            raise ValueError(f"{self.name}: an upload, and only an upload, has a FileBody")
        names = tuple(name for _, name, _, _ in string.Formatter().parse(self.path) if name is not None)
        if any(not name.isidentifier() for name in names):
            raise ValueError(f"{self.name}: path parameters must be plain names, got {self.path!r}")
        object.__setattr__(self, "path_params", names)

    @property
    def authenticated(self) -> bool:
        """True when the request carries the API key (never to a full URL such as a signed upload URL)."""
        return self.url_param is None


# ---------------------------------------------------------------------------------------- request checks

_UNSAFE_ID = re.compile(r"[\s/\\?#%\x00-\x1f\x7f]")


def check_asset_id(asset_id: str) -> str:
    """Return ``asset_id`` if it can be one path segment, else raise :class:`ValueError`.

    :param asset_id: a Mavi asset id (``re_...``, ``im_...``, ``imc_...``).
    """
    if (
        not isinstance(asset_id, str)
        or not asset_id
        or _UNSAFE_ID.search(asset_id)
        or asset_id in {".", ".."}
    ):
        raise ValueError(f"Not a Mavi asset id: {asset_id!r} (expected e.g. 're_660727003963174912').")
    return asset_id


def check_video_model(model: str) -> str:
    """Return ``model`` if Mavi documents it for video description, else raise :class:`ValueError`.

    :param model: the model name.
    """
    if model not in SUPPORTED_VIDEO_MODELS:
        raise ValueError(
            f"Unsupported video description model {model!r}; "
            f"Mavi supports: {', '.join(SUPPORTED_VIDEO_MODELS)}."
        )
    return model


def asset_body(asset_id: str) -> dict[str, Any]:
    """The body ``{"asset_id": ...}`` that most processing endpoints take.

    :param asset_id: the asset to process.
    """
    return {"asset_id": check_asset_id(asset_id)}


def video_description_body(asset_id: str, model: str = DEFAULT_VIDEO_MODEL) -> dict[str, Any]:
    """The body of an async video description; an undocumented model is refused.

    :param asset_id: the video asset.
    :param model: one of :data:`SUPPORTED_VIDEO_MODELS`.
    """
    return {"asset_id": check_asset_id(asset_id), "model": check_video_model(model)}


def audio_transcription_body(asset_id: str, speaker: bool = False) -> dict[str, Any]:
    """The body of an async Whisper transcription.

    :param asset_id: the audio or video asset.
    :param speaker: label speakers (doubles the price).
    """
    return {"asset_id": check_asset_id(asset_id), "model": AUDIO_MODEL, "speaker": bool(speaker)}


def signed_url_body(original_filename: str) -> dict[str, Any]:
    """The body of a signed upload URL request.

    :param original_filename: the file's name, with its extension.
    """
    if not isinstance(original_filename, str) or not original_filename:
        raise ValueError(f"original_filename must be a non-empty file name, got {original_filename!r}")
    return {"original_filename": original_filename}


# ---------------------------------------------------------------------------------------- answer parsers


@dataclass(frozen=True)
class SignedUpload:
    """The answer of ``POST /upload/signed-url``: where to send the file (the URL is a secret: no repr).

    :param asset_id: the asset the upload becomes.
    :param url: the signed URL, an absolute ``http(s)`` URL.
    """

    asset_id: str
    url: str = field(repr=False)


def job_id(data: Any, label: str) -> str:
    """The job id (``data.task_id``) of a job submit.

    :param data: the envelope's ``data``.
    :param label: the request, named in the error.
    """
    return require_str(data, "task_id", label=label)


def new_asset_id(data: Any, label: str) -> str:
    """The asset id (``data.asset_id``) of an upload.

    :param data: the envelope's ``data``.
    :param label: the request, named in the error.
    """
    return require_str(data, "asset_id", label=label)


def signed_upload(data: Any, label: str) -> SignedUpload:
    """The asset id and signed URL of ``POST /upload/signed-url``; a URL that is not ``http(s)`` is refused
    without being shown (its query is a credential).

    :param data: the envelope's ``data``.
    :param label: the request, named in the error.
    """
    url = require_str(data, "signed_url", label=label)
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise MaviServerError("Mavi returned a signed upload URL that is not an http(s) URL; not uploading.")
    return SignedUpload(asset_id=require_str(data, "asset_id", label=label), url=url)


def metadata_resources(data: Any, label: str) -> list[dict[str, Any]]:
    """The ``resource`` entries of a metadata answer (one per asset, or one per frame of an ``im_`` group).

    :param data: the envelope's ``data``.
    :param label: the request, named in the error.
    """
    resources = data.get("resource") if isinstance(data, dict) else None
    if not isinstance(resources, list) or not all(isinstance(r, dict) for r in resources):
        raise MaviServerError(f"Mavi's answer to {label} has no data.resource list.")
    return resources


def no_result(data: Any, label: str) -> None:
    """For endpoints whose answer carries nothing to keep (delete, a signed upload, a download's file).

    :param data: the answer (ignored).
    :param label: the request (ignored).
    """
    return None


# -------------------------------------------------------------------------------------------- catalogue

UPLOAD: Endpoint[str] = Endpoint(
    "upload", "POST", "/upload", Kind.UPLOAD, creates=True, bucket="Upload File",
    price=Free(STORAGE_NOTE), parse=new_asset_id, body=FileBody("file"),
)  # fmt: skip
SIGNED_URL: Endpoint[SignedUpload] = Endpoint(
    "signed_url", "POST", "/upload/signed-url", Kind.CALL, creates=True, bucket="Get Upload Signed URL",
    price=Free(STORAGE_NOTE), parse=signed_upload, body=signed_url_body,
)  # fmt: skip
SIGNED_UPLOAD_POST: Endpoint[None] = Endpoint(
    "signed_upload", "POST", "<signed upload URL>", Kind.UPLOAD, creates=False,
    bucket="Upload File Using Signed URL", price=Free(STORAGE_NOTE), parse=no_result, body=FileBody("file"),
    answer=Answer.STATUS, url_param="signed_url",
)  # fmt: skip
SIGNED_UPLOAD_PUT: Endpoint[None] = Endpoint(
    "signed_upload_put", "PUT", "<signed upload URL>", Kind.UPLOAD, creates=False,
    bucket="Upload File Using Signed URL", price=Free(STORAGE_NOTE), parse=no_result, body=FileBody(None),
    answer=Answer.STATUS, url_param="signed_url",
)  # fmt: skip
METADATA: Endpoint[list[dict[str, Any]]] = Endpoint(
    "metadata", "GET", "/{asset_id}/metadata", Kind.CALL, creates=False, bucket="Get Asset Metadata",
    price=Unknown("not documented"), parse=metadata_resources,
)  # fmt: skip
DOWNLOAD: Endpoint[None] = Endpoint(
    "download", "GET", "/{asset_id}/download", Kind.DOWNLOAD, creates=False, bucket="Download Asset",
    price=DOWNLOAD_PRICE, parse=no_result,
)  # fmt: skip
DELETE: Endpoint[None] = Endpoint(
    "delete", "DELETE", "/{asset_id}", Kind.CALL, creates=False, bucket="Delete Asset",
    price=Unknown("not documented"), parse=no_result, gone_means_done=True,
)  # fmt: skip
EXTRACT_FRAMES: Endpoint[str] = Endpoint(
    "extract_frames", "POST", "/video/extract-frames", Kind.JOB, creates=True, bucket="Extract Video Frames",
    price=FRAMES_PRICE, parse=job_id, body=asset_body, callback=parse_frames_callback,
)  # fmt: skip
TRANSCRIBE_VIDEO: Endpoint[str] = Endpoint(
    "transcribe_video", "POST", "/transcriptions/async-generate-video", Kind.JOB, creates=True,
    bucket="Async Generate Video Description", price=VIDEO_DESCRIPTION_PRICE, parse=job_id,
    body=video_description_body, callback=parse_transcript_callback,
)  # fmt: skip
TRANSCRIBE_AUDIO: Endpoint[str] = Endpoint(
    "transcribe_audio", "POST", "/transcriptions/async-generate-audio", Kind.JOB, creates=True,
    bucket="Async Generate Audio Transcription", price=AUDIO_TRANSCRIPTION_PRICE, parse=job_id,
    body=audio_transcription_body, callback=parse_transcript_callback,
)  # fmt: skip
