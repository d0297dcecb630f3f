"""What an endpoint of the catalogue is (:class:`Endpoint`), and the answer parsers several entries share.

Pure (no I/O). An :class:`Endpoint` says everything the clients need to know about one endpoint: method and
path template, kind, whether it creates something or paid work (the submit rule), its rate-limit bucket, its
price rule, how its request body is built and checked, and how its answer (and, for a job, its callback)
becomes a small result value. ``MaviHook.call(endpoint, **params)`` and ``acall`` do the rest.
"""

from __future__ import annotations

import enum
import functools
import string
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from airflow_provider_mavi.defaults import DEFAULT_BASE_URL
from airflow_provider_mavi.envelope import require_str
from airflow_provider_mavi.exceptions import MaviServerError
from airflow_provider_mavi.results import FieldError, Price

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = [
    "DEFAULT_BASE_URL",
    "Answer",
    "Endpoint",
    "FileBody",
    "Kind",
    "answer",
    "job_id",
    "new_asset_id",
    "no_result",
]

T = TypeVar("T")


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
    :param creates: the request creates something or paid work (a job, an asset, a paid sync model call): it
        is repeated only when Mavi certainly did nothing (the submit rule of
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


# ---------------------------------------------------------------------------------------- answer parsers


def answer(read: Callable[[Any], T]) -> Callable[[Any, str], T]:
    """The ``parse`` of a sync call, from a reader of :mod:`airflow_provider_mavi.results`.

    A malformed field (:class:`~airflow_provider_mavi.results.FieldError`) becomes a
    :class:`~airflow_provider_mavi.exceptions.MaviServerError` naming the request and the field, and saying
    that the call went through: it is never repeated (the submit rule), since it may be billed.

    :param read: the reader, e.g. ``results.parse_audio_answer``: the envelope's ``data`` (or the bare JSON
        body) → the result.
    """

    @functools.wraps(read)
    def parse(data: Any, label: str) -> T:
        try:
            return read(data)
        except FieldError as error:
            raise MaviServerError(
                f"Mavi's answer to {label} is malformed: field {error.field!r} {error.problem}. The call "
                "went through and may be billed: it was not repeated."
            ) from None

    return parse


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


def no_result(data: Any, label: str) -> None:
    """For endpoints whose answer carries nothing to keep (delete, a signed upload, a download's file).

    :param data: the answer (ignored).
    :param label: the request (ignored).
    """
    return None
