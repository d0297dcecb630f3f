"""Pure helpers for the Mavi v2 API: paths, envelopes, error mapping, the retry decision, file names.

Nothing here does I/O, so the sync and the async client share every decision (house style rule 1 and 2).
The facts come from ``mavi-api.md``: two success codes (``200`` and ``"0000"``), ``msg`` in answers and
``message`` in callbacks, and the ambiguous HTTP 400 "Request has exceeded the limit.".
"""

from __future__ import annotations

import enum
import math
import mimetypes
import random
import re
import unicodedata
from dataclasses import dataclass
from email.message import Message
from email.utils import collapse_rfc2231_value, parsedate_to_datetime
from typing import Any
from urllib.parse import quote, urlsplit

from airflow_provider_mavi.exceptions import (
    CONSOLE_WEBHOOKS_URL,
    MaviAuthenticationError,
    MaviBadRequestError,
    MaviConnectionError,
    MaviError,
    MaviInsufficientBalanceError,
    MaviNotFoundError,
    MaviRateLimitError,
    MaviServerError,
    MaviTimeoutError,
    MaviWebhookNotConfiguredError,
)

DEFAULT_BASE_URL = "https://mavi-backend.memories.ai/serve/api/v2"

SUPPORTED_VIDEO_MODELS: tuple[str, ...] = (
    "gemini-2.5-flash-lite",
    "gemini-2.5-flash",
    "gemini-2.5-flash-preview-09-2025",
    "gemini-2.5-flash-lite-preview-09-2025",
)
DEFAULT_VIDEO_MODEL = "gemini-2.5-flash-lite"
AUDIO_MODEL = "whisper-1"

#: ``code`` values that mean success (``mavi-api.md`` §1.1 and §8).
SUCCESS_CODES: frozenset[object] = frozenset({200, "200", "0000"})

# The exact messages Mavi documents where it gives no distinct code (mavi-api.md §2.8, §3.3, §7).
LIMIT_MESSAGE = "Request has exceeded the limit."
WEBHOOK_MESSAGE = "An async request requires at least one webhook."
ASSET_NOT_FOUND_MESSAGE = "Asset not found"
RESOURCE_NOT_FOUND_MESSAGE = "Resource does not exist"
BALANCE_DOWNLOAD_MESSAGE = "Insufficient balance to download the resource."

UPLOAD_STATUS_READY = "SUCCESS"
UPLOAD_STATUS_FAILED = "FAILED"


# --------------------------------------------------------------------------------------------- paths


@dataclass(frozen=True)
class Call:
    """One request to Mavi, as the dispatchers need it.

    :param method: the HTTP method.
    :param path: the path below the base URL, starting with ``/``.
    :param idempotent: False for a POST that creates something (a job, an asset): such a call is retried
        only when Mavi certainly created nothing.
    """

    method: str
    path: str
    idempotent: bool

    @property
    def label(self) -> str:
        """``METHOD /path`` for logs and messages (ids included, never secrets)."""
        return f"{self.method} {self.path}"


_UNSAFE_ID = re.compile(r"[\s/\\?#%\x00-\x1f\x7f]")


def check_asset_id(asset_id: str) -> str:
    """Return ``asset_id`` if it can be put in a path, else raise :class:`ValueError`.

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


def upload_call() -> Call:
    """``POST /upload`` (multipart, field ``file``)."""
    return Call("POST", "/upload", idempotent=False)


def signed_url_call() -> Call:
    """``POST /upload/signed-url`` (JSON ``original_filename``)."""
    return Call("POST", "/upload/signed-url", idempotent=False)


def metadata_call(asset_id: str) -> Call:
    """``GET /{asset_id}/metadata``.

    :param asset_id: the asset.
    """
    return Call("GET", f"/{quote(check_asset_id(asset_id), safe='')}/metadata", idempotent=True)


def download_call(asset_id: str) -> Call:
    """``GET /{asset_id}/download``.

    :param asset_id: the asset.
    """
    return Call("GET", f"/{quote(check_asset_id(asset_id), safe='')}/download", idempotent=True)


def delete_call(asset_id: str) -> Call:
    """``DELETE /{asset_id}``.

    :param asset_id: the asset.
    """
    return Call("DELETE", f"/{quote(check_asset_id(asset_id), safe='')}", idempotent=True)


def extract_frames_call() -> Call:
    """``POST /video/extract-frames`` (submits a paid job)."""
    return Call("POST", "/video/extract-frames", idempotent=False)


def transcribe_video_call() -> Call:
    """``POST /transcriptions/async-generate-video`` (submits a paid job)."""
    return Call("POST", "/transcriptions/async-generate-video", idempotent=False)


def transcribe_audio_call() -> Call:
    """``POST /transcriptions/async-generate-audio`` (submits a paid job)."""
    return Call("POST", "/transcriptions/async-generate-audio", idempotent=False)


def join_url(base_url: str, path: str) -> str:
    """Join the base URL and a call's path.

    :param base_url: e.g. ``https://mavi-backend.memories.ai/serve/api/v2`` (a trailing ``/`` is fine).
    :param path: the path, starting with ``/``.
    """
    return base_url.rstrip("/") + path


def auth_headers(api_key: str) -> dict[str, str]:
    """The header Mavi authenticates with: the raw key, no ``Bearer`` prefix.

    :param api_key: the API key.
    """
    return {"Authorization": api_key}


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


def transcribe_video_body(asset_id: str, model: str) -> dict[str, Any]:
    """JSON body of an async video description.

    :param asset_id: the video asset.
    :param model: one of :data:`SUPPORTED_VIDEO_MODELS`.
    """
    return {"asset_id": check_asset_id(asset_id), "model": check_video_model(model)}


def transcribe_audio_body(asset_id: str, speaker: bool) -> dict[str, Any]:
    """JSON body of an async audio transcription.

    :param asset_id: the audio or video asset.
    :param speaker: label speakers (doubles the price).
    """
    return {"asset_id": check_asset_id(asset_id), "model": AUDIO_MODEL, "speaker": bool(speaker)}


# ------------------------------------------------------------------------------------------ envelopes


@dataclass(frozen=True)
class Envelope:
    """Mavi's JSON envelope, read leniently.

    :param code: ``code`` as sent (``200``, ``"0000"``, ``400``...), or None.
    :param message: ``msg`` or, in callbacks, ``message``; None when neither is a string.
    :param data: ``data``.
    :param success: the ``success`` flag, None when absent.
    :param failed: the ``failed`` flag, None when absent.
    """

    code: str | int | None
    message: str | None
    data: Any
    success: bool | None
    failed: bool | None

    @property
    def ok(self) -> bool:
        """True when the code is a success code and no flag says otherwise."""
        return is_success_code(self.code) and self.failed is not True and self.success is not False


def is_success_code(code: object) -> bool:
    """True for ``200``, ``"200"`` and ``"0000"``.

    :param code: the envelope's ``code``.
    """
    return not isinstance(code, bool) and code in SUCCESS_CODES


def parse_envelope(body: object) -> Envelope | None:
    """Read an envelope from a decoded JSON body; None when it is not one (no ``code``).

    :param body: the decoded JSON.
    """
    if not isinstance(body, dict) or "code" not in body:
        return None
    code = body.get("code")
    if not isinstance(code, (str, int)) or isinstance(code, bool):
        code = None
    message = body.get("msg")
    if not isinstance(message, str):
        message = body.get("message")
    success = body.get("success")
    failed = body.get("failed")
    return Envelope(
        code=code,
        message=message if isinstance(message, str) else None,
        data=body.get("data"),
        success=success if isinstance(success, bool) else None,
        failed=failed if isinstance(failed, bool) else None,
    )


def _code_status(code: str | int | None) -> int | None:
    """The HTTP-like status carried by an error ``code`` (``400``, ``"0429"``), if it is one."""
    if isinstance(code, int):
        value = code
    elif isinstance(code, str) and code.isdigit():
        value = int(code)
    else:
        return None
    return value if 400 <= value <= 599 else None


def error_from_response(status: int, body: object, *, call: Call | None = None) -> MaviError:
    """Map a failed answer to the right :class:`MaviError`.

    The class comes from the HTTP status (or, for a 2xx carrying an error envelope, the envelope's code);
    message text decides only for Mavi's documented exact messages.

    :param status: the HTTP status.
    :param body: the decoded JSON body, or the start of a non-JSON body as text.
    :param call: the request, named in the message.
    """
    envelope = parse_envelope(body)
    code = envelope.code if envelope else None
    mavi_message = envelope.message if envelope else None
    effective = status if status >= 400 else (_code_status(code) or status)
    where = f" ({call.label})" if call else ""
    said = f": {mavi_message}" if mavi_message else ""
    if envelope is None and isinstance(body, str) and body.strip():
        said = f": {_snippet(body)}"
    fields: dict[str, Any] = {"status": status, "code": code, "mavi_message": mavi_message}
    text = (mavi_message or "").strip()

    if text.startswith(BALANCE_DOWNLOAD_MESSAGE) or effective == 402:
        return MaviInsufficientBalanceError(
            f"Mavi: insufficient balance{where}{said}. Top up the account in the Mavi console "
            "(https://api-platform.memories.ai) and run again.",
            **fields,
        )
    if effective in (401, 403):
        return MaviAuthenticationError(
            f"Mavi refused the API key (HTTP {effective}){where}{said}. Check the password (API Key) of the "
            "`mavi` connection; a key is shown only once when created in the console.",
            **fields,
        )
    if effective == 429:
        return MaviRateLimitError(f"Mavi rate limit exceeded (HTTP 429){where}{said}.", **fields)
    if effective == 400 and text == LIMIT_MESSAGE:
        return MaviRateLimitError(
            f"Mavi answered HTTP 400 {LIMIT_MESSAGE!r}{where} after the allowed retries. Mavi sends this for "
            "its rate limit, but also for a wrong asset id, an asset that is not ready (upload_status is not "
            "SUCCESS), or an unsupported model: check those.",
            ambiguous=True,
            **fields,
        )
    if effective == 400 and text == WEBHOOK_MESSAGE:
        return MaviWebhookNotConfiguredError(
            f"Mavi refused an async job{where}: {WEBHOOK_MESSAGE} Register the bridge's callback URL "
            f"(print it with `mavi-bridge url`) in the Mavi console at {CONSOLE_WEBHOOKS_URL}, "
            "then run again.",
            **fields,
        )
    if effective == 404 or (
        effective == 400 and text in (ASSET_NOT_FOUND_MESSAGE, RESOURCE_NOT_FOUND_MESSAGE)
    ):
        hint = " Check the Base URL (host) of the `mavi` connection." if effective == 404 else ""
        return MaviNotFoundError(f"Mavi: not found (HTTP {effective}){where}{said}.{hint}", **fields)
    if effective >= 500:
        return MaviServerError(f"Mavi server error (HTTP {effective}){where}{said}.", **fields)
    if effective >= 400:
        return MaviBadRequestError(f"Mavi refused the request (HTTP {effective}){where}{said}.", **fields)
    return MaviServerError(
        f"Mavi answered HTTP {status} with an error envelope (code {code!r}){where}{said}.", **fields
    )


def _snippet(text: str, limit: int = 200) -> str:
    """A short single-line excerpt of a non-JSON body."""
    clean = "".join(ch if ch.isprintable() else " " for ch in text)
    clean = " ".join(clean.split())
    return clean[:limit] + ("..." if len(clean) > limit else "")


def check_response(status: int, body: object, *, call: Call | None = None) -> Any:
    """Return the envelope's ``data`` of a successful answer, else raise the mapped error.

    :param status: the HTTP status.
    :param body: the decoded JSON body (or text when it was not JSON).
    :param call: the request, named in messages.
    """
    envelope = parse_envelope(body)
    if 200 <= status < 300 and envelope is not None and envelope.ok:
        return envelope.data
    if 200 <= status < 300 and envelope is None:
        where = f" ({call.label})" if call else ""
        raise MaviServerError(
            f"Mavi answered HTTP {status} without its JSON envelope{where}.",
            status=status,
            mavi_message=_snippet(body) if isinstance(body, str) else None,
        )
    raise error_from_response(status, body, call=call)


def require_str(data: Any, key: str, *, call: Call | None = None) -> str:
    """Return ``data[key]`` when it is a non-empty string, else raise :class:`MaviServerError`.

    :param data: the envelope's ``data``.
    :param key: e.g. ``task_id`` or ``asset_id``.
    :param call: the request, named in the message.
    """
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, str) or not value:
        where = f" to {call.label}" if call else ""
        raise MaviServerError(f"Mavi's answer{where} has no data.{key}.")
    return value


def check_signed_url(url: str) -> str:
    """Return a signed upload URL if it is an absolute ``http(s)`` URL, else raise :class:`MaviServerError`
    (which never shows the URL: its query is a credential).

    :param url: ``data.signed_url`` of ``POST /upload/signed-url``.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise MaviServerError("Mavi returned a signed upload URL that is not an http(s) URL; not uploading.")
    return url


def metadata_resources(data: Any, *, call: Call | None = None) -> list[dict[str, Any]]:
    """The ``resource`` entries of a metadata answer.

    :param data: the envelope's ``data``.
    :param call: the request, named in the message.
    """
    resources = data.get("resource") if isinstance(data, dict) else None
    if not isinstance(resources, list) or not all(isinstance(r, dict) for r in resources):
        where = f" to {call.label}" if call else ""
        raise MaviServerError(f"Mavi's answer{where} has no data.resource list.")
    return resources


def find_resource(resources: list[dict[str, Any]], asset_id: str) -> dict[str, Any] | None:
    """The entry of ``asset_id`` (or the only entry when Mavi leaves ``asset_id`` out).

    :param resources: the ``resource`` entries.
    :param asset_id: the asset.
    """
    for entry in resources:
        if entry.get("asset_id") == asset_id:
            return entry
    if len(resources) == 1 and "asset_id" not in resources[0]:
        return resources[0]
    return None


# -------------------------------------------------------------------------------------------- retries


class TransportFailure(enum.Enum):
    """How a request failed below HTTP."""

    NOT_SENT = "not_sent"  # refused, DNS, connect timeout, no pooled connection: Mavi saw nothing
    TIMEOUT = "timeout"  # read or write timed out after (part of) the request was sent
    BROKEN = "broken"  # the connection broke after (part of) the request was sent


@dataclass(frozen=True)
class RetryPolicy:
    """How many times and how long to retry.

    :param max_attempts: attempts in all (at least 1) for reads, 429, 5xx and transport failures.
    :param limit_attempts: attempts in all when Mavi answers the ambiguous 400 "Request has exceeded the
        limit."
    :param base_delay: first backoff in seconds; it doubles each attempt.
    :param max_delay: cap of one backoff in seconds.
    :param max_retry_after: the longest ``Retry-After`` honoured; a longer one ends the retries.
    """

    max_attempts: int = 3
    limit_attempts: int = 3
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.limit_attempts < 1:
            raise ValueError("max_attempts and limit_attempts must be at least 1")


def is_retryable(
    *,
    idempotent: bool,
    error: MaviError | None = None,
    failure: TransportFailure | None = None,
) -> bool:
    """THE retry predicate, shared by the sync and the async client.

    Reads retry on connection errors, timeouts, 429, the 400 limit answer and 5xx. A call that creates
    something (job submit, upload) retries only when Mavi certainly created nothing: 429, the 400 limit
    answer, or a connection that failed before the request was sent. Never after a timeout or a 5xx.

    :param idempotent: whether repeating the call is harmless.
    :param error: the mapped error of an HTTP answer, if there was one.
    :param failure: the transport failure, if there was no answer.
    """
    if failure is not None:
        return idempotent or failure is TransportFailure.NOT_SENT
    if isinstance(error, MaviRateLimitError):
        return True
    if isinstance(error, MaviServerError) and error.status is not None and error.status >= 500:
        return idempotent
    return False


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date); None when absent or invalid.

    :param value: the header value.
    :param now: the current time, epoch seconds.
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - now
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def backoff_delay(attempt: int, policy: RetryPolicy, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: uniform in [half, full] of ``base * 2**(attempt-1)``, capped.

    :param attempt: the attempt that just failed, from 1.
    :param policy: the retry policy.
    :param rng: a random source (tests pass a seeded one).
    """
    full = min(policy.max_delay, policy.base_delay * (2 ** max(0, attempt - 1)))
    return (rng or random).uniform(full / 2, full)


def retry_delay(
    *,
    attempt: int,
    policy: RetryPolicy,
    idempotent: bool,
    error: MaviError | None = None,
    failure: TransportFailure | None = None,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float | None:
    """Seconds to wait before the next attempt, or None to give up.

    :param attempt: the attempt that just failed, from 1.
    :param policy: the retry policy.
    :param idempotent: whether repeating the call is harmless.
    :param error: the mapped error of an HTTP answer, if there was one.
    :param failure: the transport failure, if there was no answer.
    :param retry_after: the parsed ``Retry-After``, honoured when present (up to ``policy.max_retry_after``).
    :param rng: a random source.
    """
    if not is_retryable(idempotent=idempotent, error=error, failure=failure):
        return None
    limit = policy.max_attempts
    if isinstance(error, MaviRateLimitError) and error.ambiguous:
        limit = policy.limit_attempts
    if attempt >= limit:
        return None
    if retry_after is not None:
        return retry_after if retry_after <= policy.max_retry_after else None
    return backoff_delay(attempt, policy, rng)


# ---------------------------------------------------------------------------------------- downloads

_JSON_TYPE = re.compile(r"^\s*(application|text)/([\w.+-]*\+)?json\s*(;|$)", re.IGNORECASE)
_FORBIDDEN_NAME_CHARS = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]')
_WINDOWS_RESERVED = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\..*)?$", re.IGNORECASE)
MAX_FILENAME_BYTES = 200


def is_json_content_type(content_type: str | None) -> bool:
    """True for ``application/json``, ``text/json`` and ``application/*+json``.

    :param content_type: the ``Content-Type`` header.
    """
    return bool(content_type and _JSON_TYPE.match(content_type))


def looks_like_error_envelope(head: bytes) -> bool:
    """True when the start of a download body is one of Mavi's JSON error envelopes.

    Used when the ``Content-Type`` does not say JSON: a body that begins with ``{`` and parses as an envelope
    that is not a success is an error, not a file.

    :param head: the first bytes of the body (the whole body when it is small).
    """
    import json

    stripped = head.lstrip()
    if not stripped.startswith(b"{"):
        return False
    try:
        envelope = parse_envelope(json.loads(stripped.decode("utf-8")))
    except (UnicodeDecodeError, ValueError):
        return False
    return envelope is not None and not envelope.ok


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


# ------------------------------------------------------------------------------------ reading answers


def decode_body(raw: bytes) -> object:
    """The JSON of a body, or its text when it is not JSON.

    :param raw: the body bytes.
    """
    import json

    text = raw.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def interpret_answer(
    status: int,
    content_type: str | None,
    raw: bytes | None,
    *,
    call: Call,
    expect_file: bool = False,
    envelope: bool = True,
) -> tuple[MaviError | None, Any]:
    """Decide what an answer means: ``(error, None)`` or ``(None, data)``.

    :param status: the HTTP status.
    :param content_type: the ``Content-Type`` header.
    :param raw: the body (None for a streamed file answer that has not been read).
    :param call: the request.
    :param expect_file: the call downloads a file: a 2xx non-JSON answer is the file, JSON is an error.
    :param envelope: False for answers that are not Mavi's (the signed-URL storage): only the status counts.
    """
    if not envelope:
        if 200 <= status < 300:
            return None, None
        return signed_upload_error(status), None
    if expect_file and 200 <= status < 300 and not is_json_content_type(content_type):
        return None, None
    body = decode_body(raw or b"")
    try:
        data = check_response(status, body, call=call)
    except MaviError as error:
        return error, None
    if expect_file:
        return MaviServerError(
            f"Mavi answered {call.label} with JSON instead of a file.", status=status, mavi_message=None
        ), None
    return None, data


def signed_upload_error(status: int) -> MaviError:
    """The error of a refused upload to a signed URL (the storage service's answer, never the URL).

    :param status: the HTTP status.
    """
    label = "the upload to the signed URL"
    if status == 429:
        return MaviRateLimitError(f"The storage service rate-limited {label} (HTTP 429).", status=status)
    if status >= 500:
        return MaviServerError(f"The storage service failed {label} (HTTP {status}).", status=status)
    return MaviBadRequestError(
        f"The storage service refused {label} (HTTP {status}); the signed URL may have expired: "
        "upload again.",
        status=status,
    )


def transport_error(call: Call, failure: TransportFailure, detail: str, attempts: int) -> MaviError:
    """The error raised when a request got no answer after the allowed attempts.

    :param call: the request.
    :param failure: how it failed.
    :param detail: the exception class names (never a URL or header).
    :param attempts: how many attempts were made.
    """
    unknown = not call.idempotent and failure is not TransportFailure.NOT_SENT
    tail = (
        " The request was sent, so Mavi may have created the job or asset: it was NOT resubmitted. "
        "Check for it (the bridge's callbacks, the Mavi console) before running again."
        if unknown
        else ""
    )
    tries = f" after {attempts} attempt{'s' if attempts != 1 else ''}"
    if failure is TransportFailure.TIMEOUT:
        return MaviTimeoutError(f"{call.label} timed out{tries} ({detail}).{tail}", outcome_unknown=unknown)
    if failure is TransportFailure.NOT_SENT:
        return MaviConnectionError(
            f"Could not connect to Mavi for {call.label}{tries} ({detail}). Check the Base URL of the `mavi` "
            "connection and the network."
        )
    return MaviConnectionError(
        f"The connection broke during {call.label}{tries} ({detail}).{tail}", outcome_unknown=unknown
    )


def final_error(error: MaviError, call: Call) -> MaviError:
    """The error to raise when retries end: a 5xx after a creating call says the job may exist.

    :param error: the mapped error of the last answer.
    :param call: the request.
    """
    if not call.idempotent and isinstance(error, MaviServerError) and (error.status or 0) >= 500:
        return MaviServerError(
            f"{error.message} Mavi may have created the job or asset anyway: it was NOT resubmitted. "
            "Check for it (the bridge's callbacks, the Mavi console) before running again.",
            status=error.status,
            code=error.code,
            mavi_message=error.mavi_message,
            outcome_unknown=True,
        )
    return error
