"""Mavi's answers, read: the JSON envelope, the error each failed answer maps to, and whether to try again.

Pure (no I/O), so the sync and the async client share every decision (house style rules 1 and 2). The facts
come from ``mavi-api.md``: two success codes (``200`` and ``"0000"``, §1.1, §8), ``msg`` in answers and
``message`` in callbacks, and the ambiguous HTTP 400 "Request has exceeded the limit." (§3.3, §6).

The submit rule lives here too. A request that creates something (a paid job, an asset) is repeated only when
Mavi certainly created nothing: :func:`final_error` and :func:`transport_error` mark every failure after which
the request may have taken effect with ``outcome_unknown``, and :func:`is_retryable` never repeats those.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_mavi.retry import RetryPolicy

__all__ = [
    "SUCCESS_CODES",
    "Envelope",
    "TransportFailure",
    "allowed_attempts",
    "check_response",
    "error_from_response",
    "final_error",
    "is_retryable",
    "is_success_code",
    "parse_envelope",
    "transport_error",
]

#: ``code`` values that mean success, in answers and in callbacks (``mavi-api.md`` §1.1 and §8).
SUCCESS_CODES: frozenset[object] = frozenset({200, "200", "0000"})

# The exact messages Mavi documents where it gives no distinct code (mavi-api.md §2.8, §3.3, §7).
LIMIT_MESSAGE = "Request has exceeded the limit."
WEBHOOK_MESSAGE = "An async request requires at least one webhook."
ASSET_NOT_FOUND_MESSAGE = "Asset not found"
RESOURCE_NOT_FOUND_MESSAGE = "Resource does not exist"
BALANCE_DOWNLOAD_MESSAGE = "Insufficient balance to download the resource."

CHECK_BEFORE_RUNNING = (
    "For a job or an upload, check for it (the bridge's callbacks, the Mavi console) before running again; "
    "a synchronous model call may have been billed."
)


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
    """True for ``200``, ``"200"`` and ``"0000"`` (never for ``True``, a list or anything else).

    :param code: the envelope's ``code``.
    """
    return isinstance(code, (int, str)) and not isinstance(code, bool) and code in SUCCESS_CODES


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


def decode_body(raw: bytes) -> object:
    """The JSON of a body, or its text when it is not JSON.

    :param raw: the body bytes.
    """
    text = raw.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


_JSON_TYPE = re.compile(r"^\s*(application|text)/([\w.+-]*\+)?json\s*(;|$)", re.IGNORECASE)


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
    stripped = head.lstrip()
    if not stripped.startswith(b"{"):
        return False
    try:
        envelope = parse_envelope(json.loads(stripped.decode("utf-8")))
    except (UnicodeDecodeError, ValueError):
        return False
    return envelope is not None and not envelope.ok


# ---------------------------------------------------------------------------------------- error mapping


def _code_status(code: str | int | None) -> int | None:
    """The HTTP-like status carried by an error ``code`` (``400``, ``"0429"``), if it is one."""
    if isinstance(code, int):
        value = code
    elif isinstance(code, str) and code.isdigit():
        value = int(code)
    else:
        return None
    return value if 400 <= value <= 599 else None


def snippet(text: str, limit: int = 200) -> str:
    """A short single-line excerpt of a non-JSON body.

    :param text: the body as text.
    :param limit: the most characters kept.
    """
    clean = "".join(ch if ch.isprintable() else " " for ch in text)
    clean = " ".join(clean.split())
    return clean[:limit] + ("..." if len(clean) > limit else "")


def error_from_response(status: int, body: object, *, label: str | None = None) -> MaviError:
    """Map a failed answer to the right :class:`MaviError`.

    The class comes from the HTTP status (or, for a 2xx carrying an error envelope, the envelope's code);
    message text decides only for Mavi's documented exact messages.

    :param status: the HTTP status.
    :param body: the decoded JSON body, or the start of a non-JSON body as text.
    :param label: the request (``METHOD /path``), named in the message.
    """
    envelope = parse_envelope(body)
    code = envelope.code if envelope else None
    mavi_message = envelope.message if envelope else None
    effective = status if status >= 400 else (_code_status(code) or status)
    where = f" ({label})" if label else ""
    said = f": {mavi_message}" if mavi_message else ""
    if envelope is None and isinstance(body, str) and body.strip():
        said = f": {snippet(body)}"
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


def check_response(status: int, body: object, *, label: str | None = None) -> Any:
    """Return the envelope's ``data`` of a successful answer, else raise the mapped error.

    :param status: the HTTP status.
    :param body: the decoded JSON body (or text when it was not JSON).
    :param label: the request, named in messages.
    """
    envelope = parse_envelope(body)
    if 200 <= status < 300 and envelope is not None and envelope.ok:
        return envelope.data
    if 200 <= status < 300 and envelope is None:
        where = f" ({label})" if label else ""
        raise MaviServerError(
            f"Mavi answered HTTP {status} without its JSON envelope{where}.",
            status=status,
            mavi_message=snippet(body) if isinstance(body, str) else None,
        )
    raise error_from_response(status, body, label=label)


def require_str(data: Any, key: str, *, label: str | None = None) -> str:
    """Return ``data[key]`` when it is a non-empty string, else raise :class:`MaviServerError`.

    :param data: the envelope's ``data``.
    :param key: e.g. ``task_id`` or ``asset_id``.
    :param label: the request, named in the message.
    """
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, str) or not value:
        where = f" to {label}" if label else ""
        raise MaviServerError(f"Mavi's answer{where} has no data.{key}.")
    return value


def storage_error(status: int) -> MaviError:
    """The error of a refused upload to a signed URL (the storage service's answer, never the URL).

    :param status: the HTTP status.
    """
    what = "the upload to the signed URL"
    if status == 429:
        return MaviRateLimitError(f"The storage service rate-limited {what} (HTTP 429).", status=status)
    if status >= 500:
        return MaviServerError(f"The storage service failed {what} (HTTP {status}).", status=status)
    return MaviBadRequestError(
        f"The storage service refused {what} (HTTP {status}); the signed URL may have expired: upload again.",
        status=status,
    )


# ------------------------------------------------------------------------------------- failures, retries


class TransportFailure(enum.Enum):
    """How a request failed below HTTP."""

    NOT_SENT = "not_sent"  # refused, DNS, connect timeout, no pooled connection: Mavi saw nothing
    TIMEOUT = "timeout"  # read or write timed out after (part of) the request was sent
    BROKEN = "broken"  # the connection broke after (part of) the request was sent


def transport_error(
    label: str, *, creates: bool, failure: TransportFailure, detail: str, attempts: int
) -> MaviError:
    """The error of a request that got no answer (raised as is when it is the last attempt).

    :param label: the request (``METHOD /path``).
    :param creates: the request creates something (a job, an asset).
    :param failure: how it failed.
    :param detail: the exception class names (never a URL or header).
    :param attempts: the attempts made so far, this one included.
    """
    unknown = creates and failure is not TransportFailure.NOT_SENT
    tail = (
        " The request was sent, so Mavi may have done the work (and billed it): it was NOT resubmitted. "
        + CHECK_BEFORE_RUNNING
        if unknown
        else ""
    )
    tries = f" after {attempts} attempt{'s' if attempts != 1 else ''}"
    if failure is TransportFailure.TIMEOUT:
        return MaviTimeoutError(f"{label} timed out{tries} ({detail}).{tail}", outcome_unknown=unknown)
    if failure is TransportFailure.NOT_SENT:
        return MaviConnectionError(
            f"Could not connect to Mavi for {label}{tries} ({detail}). Check the Base URL of the `mavi` "
            "connection and the network."
        )
    return MaviConnectionError(
        f"The connection broke during {label}{tries} ({detail}).{tail}", outcome_unknown=unknown
    )


def final_error(error: MaviError, *, creates: bool) -> MaviError:
    """The error of an answer, as raised: a 5xx to a creating request says the job or asset may exist.

    :param error: the mapped error of the answer.
    :param creates: the request creates something (a job, an asset).
    """
    if creates and isinstance(error, MaviServerError) and (error.status or 0) >= 500:
        return MaviServerError(
            f"{error.message} Mavi may have done the work (and billed it) anyway: it was NOT resubmitted. "
            + CHECK_BEFORE_RUNNING,
            status=error.status,
            code=error.code,
            mavi_message=error.mavi_message,
            outcome_unknown=True,
        )
    return error


def is_retryable(error: BaseException, *, creates: bool) -> bool:
    """THE retry predicate of the Mavi clients (sync and async): may this failed attempt be repeated?

    Reads repeat on a transport failure, 429, the 400 limit answer and 5xx. A request that creates something
    (a job submit, an upload) repeats only when Mavi certainly created nothing: 429, the 400 limit answer, or
    a connection that failed before the request was sent. Never when ``outcome_unknown`` is set (a timeout,
    a dropped connection or a 5xx after the request was sent): the paid job may exist.

    :param error: the exception of the failed attempt.
    :param creates: the request creates something.
    """
    if not isinstance(error, MaviError) or error.outcome_unknown:
        return False
    if isinstance(error, MaviRateLimitError):
        return True
    if isinstance(error, (MaviConnectionError, MaviTimeoutError)):
        return True  # raised by transport_error, which marks a sent creating request outcome_unknown
    return not creates and isinstance(error, MaviServerError) and (error.status or 0) >= 500


def allowed_attempts(policy: RetryPolicy) -> Callable[[BaseException], int]:
    """How many attempts an error allows under ``policy``: ``limit_attempts`` for the ambiguous 400 limit
    answer (it may also mean a bad request), ``max_attempts`` for anything else.

    :param policy: the retry policy.
    """

    def attempts(error: BaseException) -> int:
        if isinstance(error, MaviRateLimitError) and error.ambiguous:
            return policy.limit_attempts
        return policy.max_attempts

    return attempts
