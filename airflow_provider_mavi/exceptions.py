"""Errors raised by the Mavi provider.

Every error is a :class:`MaviError`. The class is chosen from the HTTP status and the envelope's ``code``
(see :func:`airflow_provider_mavi.envelope.error_from_response`); message text decides only where Mavi gives
no distinct code and documents an exact message. No error ever carries the API key: messages are built from
ids, statuses and Mavi's own message, never from request headers.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk.exceptions import AirflowException

CONSOLE_WEBHOOKS_URL = "https://api-platform.memories.ai/webhooks"


class MaviError(Exception):
    """Base class of every error of the provider.

    :param message: what happened and, where it helps, what to do.
    :param status: the HTTP status of Mavi's answer, if there was one.
    :param code: the envelope's ``code`` as Mavi sent it (``400``, ``"0429"``...), if any.
    :param mavi_message: Mavi's own message (``msg`` or ``message``), verbatim.
    :param outcome_unknown: True when the request may have taken effect although it failed (a timeout or a
        5xx after a job-submitting POST was sent): do not resubmit blindly.

    ``retry_after`` holds the seconds Mavi asked to wait (its ``Retry-After`` header), when it said; the retry
    engine (:mod:`airflow_provider_mavi.retry`) honours it.
    """

    retry_after: float | None = None

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | int | None = None,
        mavi_message: str | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.mavi_message = mavi_message
        self.outcome_unknown = outcome_unknown

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, status={self.status!r}, code={self.code!r}, "
            f"mavi_message={self.mavi_message!r})"
        )


class MaviAuthenticationError(MaviError):
    """HTTP 401 or 403: the API key is missing, wrong, expired, or the account is disabled."""


class MaviInsufficientBalanceError(MaviError):
    """HTTP 402, or the download answer "Insufficient balance to download the resource...": top up."""


class MaviRateLimitError(MaviError):
    """HTTP 429, or the ambiguous HTTP 400 "Request has exceeded the limit." after the bounded retries.

    :param ambiguous: True for the 400 form, which Mavi also sends for a wrong asset id, an asset that is not
        ready, or an unsupported model.
    :param fields: :class:`MaviError`'s keyword arguments.
    """

    def __init__(self, message: str, *, ambiguous: bool = False, **fields: Any) -> None:
        super().__init__(message, **fields)
        self.ambiguous = ambiguous


class MaviWebhookNotConfiguredError(MaviError):
    """HTTP 400 "An async request requires at least one webhook.": register the bridge URL in the console."""


class MaviBadRequestError(MaviError):
    """Mavi refused the request as invalid (400 and other 4xx without a more precise class)."""


class MaviNotFoundError(MaviError):
    """The asset or resource does not exist.

    HTTP 404, or HTTP 400 with Mavi's exact "Asset not found" or "Resource does not exist".
    """


class MaviServerError(MaviError):
    """HTTP 5xx, or an answer that does not follow Mavi's documented shape."""


class MaviConnectionError(MaviError):
    """Mavi could not be reached (refused, DNS, TLS, connection dropped) after the allowed attempts."""


class MaviTimeoutError(MaviError):
    """A request, or a wait (an asset that never became ready), ran out of time."""


class MaviAssetFailedError(MaviError):
    """The asset's ``upload_status`` is ``FAILED``: upload the file again.

    :param asset_id: the failed asset.
    :param fields: :class:`MaviError`'s keyword arguments.
    """

    def __init__(self, message: str, *, asset_id: str | None = None, **fields: Any) -> None:
        super().__init__(message, **fields)
        self.asset_id = asset_id


class MaviCallbackError(MaviError):
    """A webhook callback payload is malformed (raised by :mod:`airflow_provider_mavi.results`).

    :param field: the missing or malformed field, as a dotted path (``data.asset_id``), when known.
    :param job_id: the Mavi job id of the callback, when known.
    :param fields: :class:`MaviError`'s keyword arguments.
    """

    def __init__(
        self, message: str, *, field: str | None = None, job_id: str | None = None, **fields: Any
    ) -> None:
        super().__init__(message, **fields)
        self.field = field
        self.job_id = job_id


class MaviRateLimitStoreError(MaviError):
    """The client-side rate limiter cannot use its store (Redis, PostgreSQL, or its local SQLite file).

    Nothing was sent: the limiter never lets requests through unlimited. The message names the store by its
    URL without the password.
    """


# ------------------------------------------------------------------------------------------- bridge
# Raised by hooks.bridge.MaviBridgeHook; their messages never hold the bridge token nor an unredacted answer.


class MaviBridgeError(MaviError):
    """The bridge answered something unexpected (a 4xx other than its own "not found", a malformed answer).

    :param retry_after: seconds the bridge asked to wait (``Retry-After`` of a 429 or 503), if any.
    """

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class MaviBridgeUnavailableError(MaviBridgeError):
    """The bridge could not be reached, timed out, or answered 5xx or 429: try again later."""


class MaviBridgeAuthError(MaviBridgeError):
    """The bridge refused the token (401): the connection's ``bridge_token`` is wrong."""


# ---------------------------------------------------------------------------------------- operators
# Task failures (AirflowExceptions), raised by the operators and sensors, mostly through
# events.raise_for_event once a wait has ended.


class MaviOperatorError(AirflowException):
    """Base class of the errors the Mavi operators and sensors raise (task failures for Airflow)."""


class MaviJobFailedError(MaviOperatorError):
    """Mavi delivered a callback that reports failure; the message is Mavi's own.

    :param job_id: the Mavi job id.
    :param mavi_message: Mavi's message, verbatim.
    """

    def __init__(self, job_id: str, mavi_message: str) -> None:
        super().__init__(f"Mavi job {job_id} failed: {mavi_message}")
        self.job_id = job_id
        self.mavi_message = mavi_message


class MaviJobTimeoutError(MaviOperatorError):
    """No callback for the job reached the bridge by the deadline.

    :param job_id: the Mavi job id.
    :param bridge_url: the bridge that was asked, without credentials.
    :param deadline: the deadline that passed, epoch seconds, when known.
    :param last_error: why the last look at the bridge failed, when it did.
    """

    def __init__(
        self,
        job_id: str,
        bridge_url: str,
        *,
        deadline: float | None = None,
        last_error: str | None = None,
    ) -> None:
        message = (
            f"No callback for Mavi job {job_id} reached the bridge at {bridge_url} before the deadline. "
            f"Check whether Mavi delivered it with `mavi-bridge show {job_id}` (and that the account's "
            "webhook in the Mavi console points at this bridge). "
            "A retry of this task submits a new, paid job."
        )
        if last_error:
            message += f" Detail: the bridge could not be asked at the deadline: {last_error}"
        super().__init__(message)
        self.job_id = job_id
        self.bridge_url = bridge_url
        self.deadline = deadline
        self.last_error = last_error


class MaviTriggerEventError(MaviOperatorError):
    """The trigger event is not one this provider emits (unknown status, missing payload, other job)."""


class MaviWaitError(MaviOperatorError):
    """The wait itself broke (bridge token refused, connection unusable, errors repeated)."""


class MaviBridgeNotConfiguredError(MaviOperatorError):
    """The connection names no bridge, so a job's callback could never be read: nothing is submitted."""


__all__ = [
    "CONSOLE_WEBHOOKS_URL",
    "MaviAssetFailedError",
    "MaviAuthenticationError",
    "MaviBadRequestError",
    "MaviBridgeAuthError",
    "MaviBridgeError",
    "MaviBridgeNotConfiguredError",
    "MaviBridgeUnavailableError",
    "MaviCallbackError",
    "MaviConnectionError",
    "MaviError",
    "MaviInsufficientBalanceError",
    "MaviJobFailedError",
    "MaviJobTimeoutError",
    "MaviNotFoundError",
    "MaviOperatorError",
    "MaviRateLimitError",
    "MaviRateLimitStoreError",
    "MaviServerError",
    "MaviTimeoutError",
    "MaviTriggerEventError",
    "MaviWaitError",
    "MaviWebhookNotConfiguredError",
]
