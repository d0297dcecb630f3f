"""One request to Mavi and its answer, decided without I/O: :func:`prepare` and :func:`interpret`.

Both dispatchers of :class:`~airflow_provider_mavi.hooks.mavi.MaviHook` (``requests`` and ``httpx``) send what
:func:`prepare` builds and hand what came back to :func:`interpret` (through :class:`Attempts`, which also
numbers the attempts), so the sync and the async client cannot drift apart. The API key goes only into the
``Authorization`` header of a request to Mavi; a :class:`Request` never shows it (nor a signed URL) in its
``repr``, and every error built from an answer is scrubbed of it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow_provider_mavi import __version__
from airflow_provider_mavi.endpoints import Answer, Endpoint, FileBody, Kind, check_asset_id
from airflow_provider_mavi.envelope import (
    TransportFailure,
    check_response,
    decode_body,
    error_from_response,
    final_error,
    is_json_content_type,
    looks_like_error_envelope,
    storage_error,
    transport_error,
)
from airflow_provider_mavi.exceptions import MaviError, MaviNotFoundError, MaviServerError
from airflow_provider_mavi.retry import parse_retry_after

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["Attempts", "Received", "Request", "interpret", "prepare"]

USER_AGENT = f"airflow-provider-mavi/{__version__}"


@dataclass(frozen=True)
class Request:
    """A request ready to send.

    :param endpoint: the catalogue entry.
    :param url: the full URL (a signed URL is a secret: left out of ``repr``).
    :param label: ``METHOD /path`` for logs and messages (ids included, never a secret).
    :param headers: the headers (the API key among them: left out of ``repr``).
    :param json: the JSON body, if any.
    :param upload: the file to stream as the body (the hook's ``UploadSource``), if any.
    :param form_field: the multipart field of ``upload``; None sends its raw bytes.
    """

    endpoint: Endpoint[Any]
    url: str = field(repr=False)
    label: str
    headers: Mapping[str, str] = field(repr=False)
    json: dict[str, Any] | None = None
    upload: Any = None
    form_field: str | None = None

    @property
    def method(self) -> str:
        """The HTTP method."""
        return self.endpoint.method

    @property
    def creates(self) -> bool:
        """The request creates something (the submit rule applies)."""
        return self.endpoint.creates

    @property
    def api_key(self) -> str:
        """The key sent with the request ("" when none is)."""
        return self.headers.get("Authorization", "")


@dataclass(frozen=True)
class Received:
    """What came back from one attempt.

    :param status: the HTTP status.
    :param content_type: the ``Content-Type`` header.
    :param body: the body (at most the first MiB of one that should be small).
    :param retry_after: the ``Retry-After`` header.
    """

    status: int
    content_type: str | None
    body: bytes
    retry_after: str | None = None


def prepare(endpoint: Endpoint[Any], params: Mapping[str, Any], *, base_url: str, api_key: str) -> Request:
    """Build and check a request; raises ``ValueError`` (bad value) or ``TypeError`` (unknown or missing
    parameter) before anything is sent.

    :param endpoint: the catalogue entry.
    :param params: the call's parameters: path parameters, ``url_param``, ``source`` for an upload, and the
        body builder's parameters.
    :param base_url: the connection's base URL.
    :param api_key: the API key.
    """
    rest = dict(params)
    missing = [name for name in (*endpoint.path_params, endpoint.url_param) if name and name not in rest]
    if isinstance(endpoint.body, FileBody) and "source" not in rest:
        missing.append("source")
    if missing:
        raise TypeError(f"{endpoint.name} needs the parameter(s) {', '.join(missing)}")
    segments = {name: quote(check_asset_id(rest.pop(name)), safe="") for name in endpoint.path_params}
    path = endpoint.path.format(**segments) if segments else endpoint.path
    url = str(rest.pop(endpoint.url_param)) if endpoint.url_param else base_url.rstrip("/") + path
    upload = rest.pop("source") if isinstance(endpoint.body, FileBody) else None
    body = None
    if callable(endpoint.body):
        body = endpoint.body(**rest)
    elif rest:
        raise TypeError(f"{endpoint.name} takes no parameter(s) {', '.join(sorted(rest))}")
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
    if endpoint.authenticated:
        headers["Authorization"] = api_key  # the raw key, no "Bearer" (mavi-api.md §1)
    if endpoint.kind is Kind.DOWNLOAD:
        headers["Accept-Encoding"] = "identity"  # the file as stored, and a Content-Length that holds
    return Request(
        endpoint=endpoint,
        url=url,
        label=f"{endpoint.method} {path}",
        headers=headers,
        json=body,
        upload=upload,
        form_field=endpoint.body.field if isinstance(endpoint.body, FileBody) else None,
    )


def is_file_answer(request: Request, status: int, content_type: str | None) -> bool:
    """True when the answer is the file a download asked for (2xx, not JSON): stream it, do not read it.

    :param request: the request.
    :param status: the HTTP status.
    :param content_type: the ``Content-Type`` header.
    """
    download = request.endpoint.kind is Kind.DOWNLOAD
    return download and 200 <= status < 300 and not is_json_content_type(content_type)


def interpret(request: Request, received: Received) -> Any:
    """The result value of an answer, or raise the error it maps to.

    The error carries ``retry_after`` (seconds) when the answer said how long to wait, says when a request
    that creates something may have taken effect (``outcome_unknown``), and never holds the API key.

    :param request: the request.
    :param received: what came back (not a file answer: see :func:`is_file_answer`).
    """
    endpoint = request.endpoint
    try:
        if endpoint.answer is Answer.STATUS:
            if not 200 <= received.status < 300:
                raise storage_error(received.status)
            return endpoint.parse(None, request.label)
        body = decode_body(received.body)
        if endpoint.answer is Answer.JSON and 200 <= received.status < 300:
            return endpoint.parse(body, request.label)
        data = check_response(received.status, body, label=request.label)
        if endpoint.kind is Kind.DOWNLOAD:
            raise MaviServerError(
                f"Mavi answered {request.label} with JSON instead of a file.", status=received.status
            )
        return endpoint.parse(data, request.label)
    except MaviError as error:
        raised = final_error(scrub(error, request.api_key), creates=request.creates)
        raised.retry_after = parse_retry_after(received.retry_after, time.time())
        raise raised from None


def error_in_file(request: Request, status: int, head: bytes) -> MaviError | None:
    """The error of a "file" answer that is really one of Mavi's JSON error envelopes, if it is one.

    :param request: the download request.
    :param status: the HTTP status.
    :param head: the start of the body (all of it when it is small).
    """
    if not looks_like_error_envelope(head):
        return None
    return scrub(error_from_response(status, decode_body(head), label=request.label), request.api_key)


def scrub(error: MaviError, secret: str) -> MaviError:
    """Replace ``secret`` in an error built from Mavi's answer (in case Mavi ever echoes the key back).

    :param error: the error about to be raised.
    :param secret: the API key.
    """
    if not secret:
        return error
    if error.mavi_message and secret in error.mavi_message:
        error.mavi_message = error.mavi_message.replace(secret, "<API key>")
    if secret in error.message:
        error.message = error.message.replace(secret, "<API key>")
        error.args = (error.message,)
    return error


class Attempts:
    """The attempts of one request, for a dispatcher: numbered, with what each outcome means.

    :param request: the request.
    """

    def __init__(self, request: Request) -> None:
        self.request = request
        self.number = 0
        self.maybe_done = False  # an earlier attempt may have taken effect (sent, then no clear answer)
        self.settled_by_earlier = False

    def begin(self) -> int:
        """Count an attempt; return its number, from 1."""
        self.number += 1
        return self.number

    def lost(self, failure: TransportFailure, detail: str) -> MaviError:
        """The error of an attempt that got no answer.

        :param failure: how it failed.
        :param detail: the exception class names (never a URL or header).
        """
        self.maybe_done = self.maybe_done or failure is not TransportFailure.NOT_SENT
        return transport_error(
            self.request.label,
            creates=self.request.creates,
            failure=failure,
            detail=detail,
            attempts=self.number,
        )

    def answered(self, received: Received) -> Any:
        """The result value of an answer, or raise its error (see :func:`interpret`).

        For an endpoint whose repeat may find its work already done (``gone_means_done``: DELETE), "not
        found" after an attempt that may have gone through is success.

        :param received: what came back.
        """
        try:
            return interpret(self.request, received)
        except MaviNotFoundError:
            if self.request.endpoint.gone_means_done and self.maybe_done:
                self.settled_by_earlier = True
                return None
            raise
        except MaviError as error:
            self.maybe_done = self.maybe_done or (error.status or 0) >= 500
            raise
