"""What a wait hands back to the task that deferred (or waited in the worker): events as small types.

A trigger yields ``TriggerEvent(event.to_json())``. The task's ``execute_complete`` reads it back with
:meth:`JobEvent.from_json` / :meth:`AssetEvent.from_json`, which refuse anything this provider does not emit
(:class:`~airflow_provider_mavi.exceptions.MaviTriggerEventError`), then :func:`raise_for_event` turns
anything but a success into the task's exception. The blocking modes (``deferrable=False``, ``poke``) build
the same events and take the same two steps, so a wait ends the same way in the triggerer and in the worker.

Every field is data: ``message`` is for people only, and what code needs (the deadline, the bridge's public
URL, the last error, why the wait broke) is in ``detail``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_provider_mavi.exceptions import (
    MaviAssetFailedError,
    MaviAuthenticationError,
    MaviCallbackError,
    MaviJobFailedError,
    MaviJobTimeoutError,
    MaviNotFoundError,
    MaviOperatorError,
    MaviTriggerEventError,
    MaviWaitError,
)
from airflow_provider_mavi.results import callback_outcome

if TYPE_CHECKING:
    from airflow_provider_mavi.readiness import AssetStatus

__all__ = [
    "ERROR",
    "EVENT_STATUSES",
    "FAILED",
    "SUCCESS",
    "TIMEOUT",
    "AssetEvent",
    "JobEvent",
    "Reason",
    "WaitDetail",
    "defer_timeout",
    "describe_error",
    "raise_for_event",
]

#: Event statuses; ``from_json`` refuses any other.
SUCCESS = "success"
FAILED = "failed"
TIMEOUT = "timeout"
ERROR = "error"
EVENT_STATUSES = frozenset({SUCCESS, FAILED, TIMEOUT, ERROR})

#: How long past the trigger's own deadline Airflow's defer timeout fires, as a backstop only.
DEFER_TIMEOUT_GRACE_SECONDS = 300


class Reason:
    """Why a wait ended without a result (``detail.reason`` of ``failed`` and ``error`` events)."""

    CONNECTION = "connection"  # the connection cannot be read, or names no bridge
    TOKEN_REFUSED = "token_refused"  # the bridge answered 401  # noqa: S105 (a reason, not a secret)
    KEY_REFUSED = "key_refused"  # Mavi refused the API key
    REPEATED_ERRORS = "repeated_errors"  # unexpected errors, too many in a row
    MALFORMED_CALLBACK = "malformed_callback"  # the stored callback lacks what decides its outcome
    NOT_FOUND = "not_found"  # Mavi does not know the asset
    UPLOAD_FAILED = "upload_failed"  # upload_status FAILED


def describe_error(error: BaseException) -> str:
    """``Class: message`` of an error, cut to 300 characters (the provider's errors are already redacted).

    :param error: the error.
    """
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= 300 else text[:297] + "..."


def defer_timeout(deadline: float, now: float | None = None) -> timedelta:
    """The ``timeout`` for ``defer()``: the trigger's own deadline plus a grace, as a backstop only.

    :param deadline: the trigger's deadline, epoch seconds.
    :param now: the current time (``time.time()`` when omitted).
    """
    remaining = deadline - (time.time() if now is None else now)
    return timedelta(seconds=max(remaining, 0.0) + DEFER_TIMEOUT_GRACE_SECONDS)


@dataclass(frozen=True)
class WaitDetail:
    """What is known about how a wait ended, as data.

    :param deadline: the wait's deadline, epoch seconds.
    :param bridge_url: the bridge asked, without credentials (job events).
    :param last_error: ``Class: message`` of the last error met, when one mattered to the outcome.
    :param reason: a :class:`Reason` value for ``failed`` and ``error`` events.
    :param upload_status: the last ``upload_status`` seen (asset events).
    """

    deadline: float | None = None
    bridge_url: str | None = None
    last_error: str | None = None
    reason: str | None = None
    upload_status: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The detail as JSON primitives."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: object) -> WaitDetail:
        """Read a detail back; a missing one is empty.

        :param data: the ``detail`` of an event.
        :raises MaviTriggerEventError: when it is not an object of the known fields and types.
        """
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise MaviTriggerEventError(f"The trigger event's detail is not an object: {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        deadline = values.get("deadline")
        if deadline is not None and (isinstance(deadline, bool) or not isinstance(deadline, (int, float))):
            raise MaviTriggerEventError(f"The trigger event's deadline is not a number: {deadline!r}")
        for name in known - {"deadline"}:
            if values.get(name) is not None and not isinstance(values[name], str):
                raise MaviTriggerEventError(f"The trigger event's {name} is not a string: {values[name]!r}")
        return cls(**values)


def _check_status(event: Mapping[str, Any]) -> str:
    status = event.get("status")
    if not isinstance(status, str) or status not in EVENT_STATUSES:
        raise MaviTriggerEventError(f"The trigger event has an unknown status {status!r}")
    return str(status)


def _as_mapping(event: object) -> Mapping[str, Any]:
    if not isinstance(event, Mapping):
        raise MaviTriggerEventError(f"The trigger event is not an object: {type(event).__name__}")
    return event


@dataclass(frozen=True)
class JobEvent:
    """How the wait for one Mavi job's callback ended.

    :param status: ``success`` and ``failed`` (Mavi's callback says so; ``payload`` holds it), ``timeout``
        (nothing stored by the deadline) or ``error`` (the wait broke, see ``detail.reason``).
    :param job_id: the Mavi job id waited for.
    :param message: for people: Mavi's own message, or what went wrong.
    :param payload: the callback body as Mavi sent it, when one was found.
    :param received_at: when the bridge first received it (ISO 8601).
    :param deliveries: how many times Mavi delivered it.
    :param detail: deadline, bridge URL, last error, reason.
    """

    status: str
    job_id: str
    message: str = ""
    payload: dict[str, Any] | None = None
    received_at: str | None = None
    deliveries: int | None = None
    detail: WaitDetail = field(default_factory=WaitDetail)

    @classmethod
    def from_callback(
        cls,
        job_id: str,
        payload: Mapping[str, Any],
        *,
        received_at: str | None = None,
        deliveries: int | None = None,
        bridge_url: str | None = None,
    ) -> JobEvent:
        """The event of a stored callback: ``success`` or ``failed`` as Mavi says, ``error`` if it cannot say.

        :param job_id: the Mavi job id waited for.
        :param payload: the callback body.
        :param received_at: when the bridge received it.
        :param deliveries: how many times Mavi delivered it.
        :param bridge_url: the bridge it was read from, without credentials.
        """
        body = dict(payload)
        try:
            succeeded, message = callback_outcome(payload)
        except MaviCallbackError as error:
            detail = WaitDetail(bridge_url=bridge_url, reason=Reason.MALFORMED_CALLBACK)
            text = f"Mavi sent a malformed callback for job {job_id}: {error}"
            return cls(ERROR, job_id, text, body, received_at, deliveries, detail)
        status = SUCCESS if succeeded else FAILED
        return cls(status, job_id, message, body, received_at, deliveries, WaitDetail(bridge_url=bridge_url))

    @classmethod
    def timeout(
        cls, job_id: str, *, deadline: float, bridge_url: str, last_error: str | None = None
    ) -> JobEvent:
        """The event of a wait that reached its deadline with no callback stored.

        :param job_id: the Mavi job id waited for.
        :param deadline: the deadline, epoch seconds.
        :param bridge_url: the bridge asked, without credentials.
        :param last_error: why the last look at the bridge failed, if it did.
        """
        message = f"no callback for Mavi job {job_id} reached the bridge at {bridge_url} in time"
        if last_error:
            message += f" (the last look failed: {last_error})"
        detail = WaitDetail(deadline=deadline, bridge_url=bridge_url, last_error=last_error)
        return cls(TIMEOUT, job_id, message, detail=detail)

    @classmethod
    def error(
        cls,
        job_id: str,
        message: str,
        *,
        reason: str,
        bridge_url: str | None = None,
        deadline: float | None = None,
        last_error: str | None = None,
    ) -> JobEvent:
        """The event of a wait that broke (token refused, connection unusable, errors repeated).

        :param job_id: the Mavi job id waited for.
        :param message: what went wrong, for people.
        :param reason: a :class:`Reason` value.
        :param bridge_url: the bridge asked, without credentials.
        :param deadline: the wait's deadline.
        :param last_error: the last error met.
        """
        detail = WaitDetail(deadline=deadline, bridge_url=bridge_url, last_error=last_error, reason=reason)
        return cls(ERROR, job_id, message, detail=detail)

    def to_json(self) -> dict[str, Any]:
        """The event as JSON primitives (the ``TriggerEvent`` payload)."""
        return {
            "status": self.status,
            "job_id": self.job_id,
            "message": self.message,
            "payload": self.payload,
            "received_at": self.received_at,
            "deliveries": self.deliveries,
            "detail": self.detail.to_json(),
        }

    @classmethod
    def from_json(cls, event: object, job_id: str | None = None) -> JobEvent:
        """Read and check an event before acting on it (house style rule 5).

        :param event: what the trigger yielded (or the blocking wait produced).
        :param job_id: the job this task waited for, when known.
        :raises MaviTriggerEventError: unknown status, another job, a success without a payload, bad fields.
        """
        data = _as_mapping(event)
        status = _check_status(data)
        if job_id is not None and data.get("job_id") != job_id:
            raise MaviTriggerEventError(
                f"The trigger event is for job {data.get('job_id')!r}, this task waited for {job_id!r}"
            )
        subject = data.get("job_id") if job_id is None else job_id
        if not isinstance(subject, str) or not subject:
            raise MaviTriggerEventError(f"The trigger event names no job: {subject!r}")
        payload = data.get("payload")
        if status == SUCCESS and not isinstance(payload, Mapping):
            raise MaviTriggerEventError(
                f"The success event of Mavi job {subject} carries no callback payload"
            )
        deliveries = data.get("deliveries")
        if isinstance(deliveries, bool) or not isinstance(deliveries, int):
            deliveries = None
        return cls(
            status=status,
            job_id=subject,
            message=str(data.get("message") or ""),
            payload=dict(payload) if isinstance(payload, Mapping) else None,
            received_at=data.get("received_at") if isinstance(data.get("received_at"), str) else None,
            deliveries=deliveries,
            detail=WaitDetail.from_json(data.get("detail")),
        )


@dataclass(frozen=True)
class AssetEvent:
    """How the wait for an asset to be ready ended.

    :param status: ``success`` (ready: ``metadata`` is its entry), ``failed`` (``FAILED`` or unknown to
        Mavi), ``timeout`` (not ready by the deadline) or ``error`` (the key was refused, errors repeated).
    :param asset_id: the asset waited for.
    :param message: for people.
    :param metadata: the asset's metadata entry (``{asset_id, frames}`` for an ``im_`` group) once ready.
    :param detail: deadline, last ``upload_status``, last error, reason.
    """

    status: str
    asset_id: str
    message: str = ""
    metadata: dict[str, Any] | None = None
    detail: WaitDetail = field(default_factory=WaitDetail)

    @classmethod
    def from_status(cls, status: AssetStatus, *, deadline: float, now: float) -> AssetEvent | None:
        """The event a metadata read ends the wait with, or None to keep waiting.

        :param status: :func:`airflow_provider_mavi.readiness.asset_status` of the read.
        :param deadline: the wait's deadline, epoch seconds.
        :param now: the current time, epoch seconds.
        """
        detail = WaitDetail(deadline=deadline, upload_status=status.status)
        if status.ready:
            return cls(SUCCESS, status.asset_id, "SUCCESS", dict(status.entry), detail)
        if status.failed:
            message = f"Mavi reports upload_status FAILED for {status.asset_id}"
            return cls(FAILED, status.asset_id, message, detail=_with(detail, reason=Reason.UPLOAD_FAILED))
        if now >= deadline:
            message = f"asset {status.asset_id} was not ready by the deadline (last status {status.status})"
            return cls(TIMEOUT, status.asset_id, message, detail=detail)
        return None

    @classmethod
    def from_error(cls, asset_id: str, error: BaseException, *, deadline: float, now: float) -> AssetEvent:
        """The event of a metadata read that failed for good (after the retries the policy allows).

        :param asset_id: the asset waited for.
        :param error: the error of the last read.
        :param deadline: the wait's deadline, epoch seconds.
        :param now: the current time, epoch seconds.
        """
        last = describe_error(error)
        detail = WaitDetail(deadline=deadline, last_error=last)
        if isinstance(error, MaviAuthenticationError):
            message = f"Mavi refused the API key: {error}"
            return cls(ERROR, asset_id, message, detail=_with(detail, reason=Reason.KEY_REFUSED))
        if isinstance(error, MaviNotFoundError):
            message = f"asset {asset_id} does not exist: {error}"
            return cls(FAILED, asset_id, message, detail=_with(detail, reason=Reason.NOT_FOUND))
        if now >= deadline:
            message = f"asset {asset_id} was not ready by the deadline (the last read failed: {last})"
            return cls(TIMEOUT, asset_id, message, detail=detail)
        message = f"the metadata of {asset_id} could not be read, the last error: {last}"
        return cls(ERROR, asset_id, message, detail=_with(detail, reason=Reason.REPEATED_ERRORS))

    @classmethod
    def error(cls, asset_id: str, message: str, *, reason: str) -> AssetEvent:
        """The event of a wait that could not start (the connection cannot be read).

        :param asset_id: the asset waited for.
        :param message: what went wrong, for people.
        :param reason: a :class:`Reason` value.
        """
        return cls(ERROR, asset_id, message, detail=WaitDetail(reason=reason))

    def to_json(self) -> dict[str, Any]:
        """The event as JSON primitives (the ``TriggerEvent`` payload)."""
        return {
            "status": self.status,
            "asset_id": self.asset_id,
            "message": self.message,
            "metadata": self.metadata,
            "detail": self.detail.to_json(),
        }

    @classmethod
    def from_json(cls, event: object, asset_id: str | None = None) -> AssetEvent:
        """Read and check an event before acting on it.

        :param event: what the trigger yielded.
        :param asset_id: the asset this task waited for, when known.
        :raises MaviTriggerEventError: unknown status, another asset, bad fields.
        """
        data = _as_mapping(event)
        status = _check_status(data)
        if asset_id is not None and data.get("asset_id") != asset_id:
            raise MaviTriggerEventError(
                f"The trigger event is for {data.get('asset_id')!r}, not {asset_id!r}"
            )
        subject = data.get("asset_id")
        if not isinstance(subject, str) or not subject:
            raise MaviTriggerEventError(f"The trigger event names no asset: {subject!r}")
        metadata = data.get("metadata")
        return cls(
            status=status,
            asset_id=subject,
            message=str(data.get("message") or ""),
            metadata=dict(metadata) if isinstance(metadata, Mapping) else None,
            detail=WaitDetail.from_json(data.get("detail")),
        )


def _with(detail: WaitDetail, **changes: Any) -> WaitDetail:
    return WaitDetail(**{**detail.to_json(), **changes})


E = TypeVar("E", "JobEvent", "AssetEvent")


def raise_for_event(event: E) -> E:
    """Raise the task's exception for an event that is not a success; return a success as it is.

    The one place events become exceptions, for operators and sensors, deferred or blocking:

    - job ``failed`` → :class:`MaviJobFailedError` (Mavi's message); ``timeout`` →
      :class:`MaviJobTimeoutError` (bridge, job, the command to check, why the last look failed); ``error``
      → :class:`MaviWaitError`;
    - asset ``failed`` → :class:`MaviAssetFailedError`; ``timeout`` → :class:`MaviOperatorError`;
      ``error`` → :class:`MaviWaitError`.

    :param event: a checked event.
    """
    if event.status == SUCCESS:
        return event
    message = event.message or "no message"
    if isinstance(event, JobEvent):
        if event.status == FAILED:
            raise MaviJobFailedError(event.job_id, message)
        if event.status == TIMEOUT:
            raise MaviJobTimeoutError(
                event.job_id,
                event.detail.bridge_url or "(unknown bridge)",
                deadline=event.detail.deadline,
                last_error=event.detail.last_error,
            )
        raise MaviWaitError(
            f"Waiting for Mavi job {event.job_id} failed: {message}. The job may still deliver: a retry of "
            "this task re-attaches to it instead of submitting again."
        )
    if event.status == FAILED:
        raise MaviAssetFailedError(
            f"Mavi asset {event.asset_id} is not usable: {message}. Upload the file again.",
            asset_id=event.asset_id,
        )
    if event.status == TIMEOUT:
        raise MaviOperatorError(f"Mavi asset {event.asset_id} was not ready in time: {message}")
    raise MaviWaitError(f"Waiting for Mavi asset {event.asset_id} failed: {message}")
